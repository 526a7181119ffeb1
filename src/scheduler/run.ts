/**
 * Blocking runs: `run()` and `sync()`.
 *
 * @module
 */

import { outcomeOf } from "../future/outcome.ts";
import type { Operation } from "../future/waitable.ts";
import { Scheduler } from "./run_loop.ts";
import { type Clock, realClock, type VirtualClock } from "./virtual_clock.ts";

/** Options of a run. */
export interface RunOptions {
  /** The clock of `sleep`, `timeout`, `deadline` and scope deadlines (default: real time). */
  clock?: VirtualClock;
}

/**
 * Drives `body`, and everything it spawns, to the end on this thread, and
 * returns its value or throws its error (the same object). It is
 * re-entrant: a task may call `run()` (or a {@linkcode sync} function); that
 * inner run ends before the task goes on, and the outer run's other tasks
 * do not step meanwhile (duet's semantics). Runs nest up to 1 000 deep; the
 * next level throws a `RangeError` saying so.
 *
 * When every task waits, the thread blocks (`Atomics.wait`, no spinning
 * beyond a few µs) until another thread settles something a task waits on,
 * or the next timer is due. When nothing could ever wake it, `DeadlockError`
 * is thrown at the waiting tasks' `yield*`, naming what they wait on. A
 * Promise cannot settle while the thread blocks: wait on Promises in
 * {@linkcode runAsync}, or on a background loop's futures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { run, sleep } from "@tandem/tandem";
 * const value = run(function* () {
 *   yield* sleep(5);
 *   return 42;
 * });
 * assert.equal(value, 42); // from plain sync code
 * ```
 */
export function run<T>(body: () => Operation<T>, options: RunOptions = {}): T {
  checkBody("run", body);
  const clock = (options.clock as Clock | undefined) ?? realClock;
  const main = new Scheduler(clock).runBlocking(body, "run");
  const outcome = outcomeOf(main)!;
  if (outcome.ok) return outcome.value;
  throw outcome.error;
}

/**
 * Turns an operation function into a blocking function that runs it with
 * {@linkcode run} (duet's `sync`): callable from plain code, and from inside
 * a task. `this` passes through, so a sync method can be overridden in a
 * subclass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Future, sync } from "@tandem/tandem";
 * const double = sync(function* (x: number) {
 *   return 2 * (yield* Future.resolve(x));
 * });
 * assert.equal(double(21), 42);
 * ```
 */
export function sync<A extends unknown[], T, This = unknown>(
  fn: (this: This, ...args: A) => Operation<T>,
): (this: This, ...args: A) => T {
  checkBody("sync", fn);
  // A plain function, so that `this` passes through: a sync method can be
  // overridden in a subclass, and call its super's.
  return function (this: This, ...args: A): T {
    return run(() => fn.apply(this, args));
  };
}

/** @internal */
export function checkBody(what: string, body: unknown): void {
  if (typeof body !== "function") {
    throw new TypeError(
      `${what}(): expected a function that returns an operation (a generator function), got ${
        body === null ? "null" : typeof body
      }`,
    );
  }
}
