/**
 * `until()`: wait on a Promise (or any waitable) in a task.
 *
 * @module
 */

import { DeadlockError } from "../errors.ts";
import { Future } from "../future/future.ts";
import type { Waitable } from "../future/waitable.ts";
import { currentFiber } from "./run_loop.ts";

/**
 * Waits on a native Promise (or any thenable), or on a `Waitable`. Promises
 * settle only while the thread's event loop runs, so in a blocking `run()`
 * waiting on one throws `DeadlockError` at once (with advice); use
 * `runAsync()`, `startGuestRun()`, or a background loop's futures there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runAsync, until } from "@tandem/tandem";
 * const text = await runAsync(function* () {
 *   return yield* until(Promise.resolve("ok"));
 * });
 * assert.equal(text, "ok");
 * ```
 */
export function* until<T>(value: PromiseLike<T> | Waitable<T>): Generator<unknown, T, unknown> {
  if (value instanceof Future) return yield* value;
  if (isWaitable<T>(value)) return yield* value;
  if (typeof (value as PromiseLike<T> | null)?.then !== "function") {
    throw new TypeError(`until(): expected a Promise or a Waitable, got ${typeof value}`);
  }
  if (currentFiber("until()").scheduler.blocking) {
    throw new DeadlockError(
      "until(promise) in a blocking run(): a Promise settles only while this thread's event " +
        "loop runs, and run() blocks it. Use runAsync() or startGuestRun(), or do the work on a " +
        "background loop and wait on its Future.",
    );
  }
  return yield* Future.from(value);
}

function isWaitable<T>(value: unknown): value is Waitable<T> {
  return typeof value === "object" && value !== null &&
    typeof (value as Waitable<T>).wait === "function" &&
    typeof (value as Waitable<T>)[Symbol.iterator] === "function";
}
