/**
 * Hosted runs: `runAsync()` on this thread's event loop, `startGuestRun()`
 * on any host loop.
 *
 * @module
 */

import { FULFILLED, internals } from "../future/future.ts";
import type { Operation } from "../future/waitable.ts";
import { checkBody, type RunOptions } from "./run.ts";
import { runHosted, type Task } from "./run_loop.ts";
import { type Clock, realClock } from "./virtual_clock.ts";

/**
 * Drives `body`, and everything it spawns, on this thread's event loop, and
 * returns its main {@linkcode Task} at once. The tasks may also wait on
 * native Promises with `until(promise)`. Timers use one host timer at a time;
 * a run that keeps tasks ready gives the event loop a turn every few
 * milliseconds. Nothing stays armed after the task ends.
 *
 * @example
 * ```ts
 * import { runAsync, sleep, until } from "@tandem/tandem";
 * const task = runAsync(function* () {
 *   yield* sleep(1);
 *   return yield* until(Promise.resolve("from a promise"));
 * });
 * console.log(await task); // from a promise
 * ```
 */
export function runAsync<T>(body: () => Operation<T>, options: RunOptions = {}): Task<T> {
  checkBody("runAsync", body);
  return runHosted(
    body,
    (options.clock as Clock | undefined) ?? realClock,
    {
      soon: queueMicrotask,
      later: setImmediate,
    },
    "runAsync",
    () => {},
  );
}

/** What `startGuestRun` needs from the host loop. */
export interface GuestHost<T> {
  /** Calls `fn` soon, on this thread, from the host loop (not from inside this call). */
  runSyncSoon(fn: () => void): void;
  /** Called once, after the run ended, with its outcome. */
  done?(outcome: { ok: true; value: T } | { ok: false; error: unknown }): void;
  /** The run's clock (default: real time). */
  clock?: RunOptions["clock"];
}

/**
 * Drives `body` as a guest of any host loop that can run a callback soon (a
 * game loop, a UI loop, another scheduler): aioguest's and trio's guest mode.
 * Every step of the guest happens inside a `runSyncSoon` callback: settling
 * a future the guest waits on (from the host, or from another thread, which
 * arrives through this thread's event loop) and a due timer each ask for
 * one. `done` receives the outcome exactly once; the returned task settles
 * the same way.
 *
 * @example
 * ```ts
 * import { Future, startGuestRun } from "@tandem/tandem";
 * const soon: (() => void)[] = [];
 * const { future: input, resolve } = Future.withResolvers<string>();
 * startGuestRun(function* () {
 *   return `guest got ${yield* input}`;
 * }, {
 *   runSyncSoon: (fn) => soon.push(fn),
 *   done: (outcome) => console.log(outcome), // { ok: true, value: "guest got hi" }
 * });
 * resolve("hi"); // the host wakes the guest
 * while (soon.length > 0) soon.shift()!(); // a host loop
 * ```
 */
export function startGuestRun<T>(body: () => Operation<T>, host: GuestHost<T>): Task<T> {
  checkBody("startGuestRun", body);
  if (typeof host?.runSyncSoon !== "function") {
    throw new TypeError("startGuestRun(): the host must offer runSyncSoon(fn)");
  }
  const runSyncSoon = host.runSyncSoon.bind(host);
  return runHosted(
    body,
    (host.clock as Clock | undefined) ?? realClock,
    { soon: runSyncSoon, later: runSyncSoon },
    "guest",
    (main) => {
      const outcome = internals.outcome(main)!;
      host.done?.(
        outcome.state === FULFILLED
          ? { ok: true, value: outcome.value as T }
          : { ok: false, error: outcome.value },
      );
    },
  );
}
