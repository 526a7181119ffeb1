/**
 * `timeLeft()`: the budget left before the nearest deadline (trio's
 * `current_effective_deadline`, threaded_async's `remaining`).
 *
 * @module
 */

import { taskTimeLeft } from "../scheduler/run_loop.ts";
import { currentCall } from "./current_signal.ts";

/**
 * The milliseconds left before the nearest deadline that bounds the code
 * running now, so that it can pass its budget on
 * (`fetch(url, { signal: AbortSignal.timeout(timeLeft()) })`):
 *
 * - inside a scheduler task, the nearest deadline of the scopes it is in
 *   (`timeout()`, `deadline()`, a scope's `timeoutMs` or `deadline`), on its
 *   run's clock: virtual milliseconds under a `VirtualClock`;
 * - inside a background call, what is left of that call's timeout;
 * - both (a task run inside a background call): the smaller;
 * - `Infinity` when nothing bounds it; 0 once a deadline passed.
 *
 * A run nested in a task (`run()` inside it) has its own deadlines: those of
 * the task around it do not count there (they cannot fire while it runs).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { run, sleep, timeLeft, timeout, VirtualClock } from "@tandem/tandem";
 * const clock = new VirtualClock({ autojump: true });
 * run(() =>
 *   timeout(100, function* () {
 *     yield* sleep(30);
 *     assert.equal(timeLeft(), 70);
 *   }), { clock });
 * assert.equal(timeLeft(), Infinity); // nothing bounds this code
 * ```
 */
export function timeLeft(): number {
  const task = taskTimeLeft() ?? Infinity;
  const call = currentCall();
  const ofCall = call === undefined ? Infinity : Math.max(0, call.deadline - performance.now());
  return Math.min(task, ofCall);
}
