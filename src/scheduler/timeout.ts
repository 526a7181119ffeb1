/**
 * `timeout()` and `deadline()`.
 *
 * @module
 */

import type { Operation } from "../future/waitable.ts";
import { scope } from "./scope.ts";

/**
 * Runs `body` with a time limit: after `ms` milliseconds of the run's clock,
 * `TimeoutError` is thrown at its current `yield*` (what it waited on is
 * cancelled, a background call included) and out of `timeout()`, even if
 * the body caught it and returned (duet's `fail_after`: the work the limit
 * cut short is never silently missing). A body whose wait had just ended
 * keeps what it got, and gets the `TimeoutError` at its next wait (if it
 * returns first, nothing was cut short, and `timeout()` returns its value).
 * Nested limits take the
 * earliest; every task spawned inside gets it too. An error thrown in a
 * `finally` block replaces the one in flight, as always in JavaScript.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { run, sleep, timeout, TimeoutError } from "@tandem/tandem";
 * assert.throws(() => run(() => timeout(5, () => sleep(1000))), TimeoutError);
 * ```
 */
export function timeout<T>(ms: number, body: () => Operation<T>): Operation<T> {
  return scope(() => body(), { timeoutMs: ms });
}

/**
 * Like {@linkcode timeout}, with the limit given as a time of the run's clock
 * (`performance.now()` by default).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deadline, run, sleep } from "@tandem/tandem";
 * run(function* () {
 *   const done = yield* deadline(performance.now() + 1000, function* () {
 *     yield* sleep(1);
 *     return "in time";
 *   });
 *   assert.equal(done, "in time");
 * });
 * ```
 */
export function deadline<T>(at: number, body: () => Operation<T>): Operation<T> {
  return scope(() => body(), { deadline: at });
}
