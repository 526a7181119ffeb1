/**
 * `sleep()`.
 *
 * @module
 */

import { YIELD_POINT } from "../future/yield_protocol.ts";
import { currentFiber } from "./run_loop.ts";

/**
 * Waits `ms` milliseconds of the run's clock. `sleep(0)` is a plain yield
 * point: the task goes to the back of the ready queue, no timer is made.
 * Cancelling the task removes its timer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { run, sleep } from "@tandem/tandem";
 * const started = performance.now();
 * run(function* () {
 *   yield* sleep(10);
 * });
 * assert.ok(performance.now() - started >= 10); // run() returned 10 ms later
 * ```
 */
export function* sleep(ms: number): Generator<unknown, void, unknown> {
  if (!(ms >= 0)) throw new RangeError(`sleep(): ms must be a number >= 0, got ${ms}`);
  const fiber = currentFiber("sleep()");
  if (ms === 0) yield YIELD_POINT;
  else yield* fiber.scheduler.after(ms);
}
