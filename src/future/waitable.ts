/**
 * The two protocols every waitable thing in tandem speaks.
 *
 * @module
 */

/**
 * Work that a scheduler task waits for with `yield*`: `const x = yield* op`
 * gives `x` the type `T`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Future, type Operation, run } from "@tandem/tandem";
 * function* double(x: number): Operation<number> {
 *   const y = yield* Future.resolve(x);
 *   return y * 2;
 * }
 * assert.equal(run(() => double(21)), 42);
 * ```
 */
export interface Operation<T> {
  /** Starts the operation; what it yields is for the scheduler that drives it. */
  [Symbol.iterator](): Iterator<unknown, T, unknown>;
}

/**
 * Anything one can wait for, in the three ways: `await` (the event loop keeps
 * running), `wait(timeoutMs)` (this thread blocks) and `yield*` (inside a
 * scheduler task).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Future, type Waitable } from "@tandem/tandem";
 * const ready: Waitable<string> = Future.resolve("ready");
 * assert.equal(ready.wait(), "ready");
 * assert.equal(await ready, "ready");
 * ```
 */
export interface Waitable<T> extends PromiseLike<T>, Operation<T> {
  /**
   * Blocks this thread until settled and returns the value or throws the
   * failure. Throws `TimeoutError` after `timeoutMs` (what it waits for stays
   * pending) and `DeadlockError` at once when nothing could ever settle it.
   */
  wait(timeoutMs?: number): T;
}
