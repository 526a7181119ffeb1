/**
 * Hosted runs: `runAsync()` on this thread's event loop, `startGuestRun()`
 * on any host loop.
 *
 * @module
 */

import { CancelledError } from "../errors.ts";
import { type Outcome, outcomeOf } from "../future/outcome.ts";
import type { Operation } from "../future/waitable.ts";
import { checkBody, type RunOptions } from "./run.ts";
import { runHosted, type Task } from "./run_loop.ts";
import { type Clock, realClock } from "./virtual_clock.ts";
import { platform } from "../platform/platform.ts";

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
      later: platform.later,
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
  done?(outcome: Outcome<T>): void;
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
  const done = host.done;
  const guest = new Guest(host, body.name || "guest");
  const main = runHosted(
    body,
    (host.clock as Clock | undefined) ?? realClock,
    { soon: (drive) => guest.turn(drive), later: (drive) => guest.turn(drive) },
    "guest",
    (main) => {
      const result = outcomeOf(main as Task<T>)!;
      // (The host as `this`, through the guest: this callback must not hold it.)
      if (!guest.abandoned) return void done?.call(guest.host, result);
      // Its host is gone, or going: a `done` that needs it as `this` cannot
      // run, and what it throws must not end the program.
      try {
        done?.call(guest.host, result);
      } catch (error) {
        console.warn(`tandem: done() of the abandoned guest run "${guest.name}" failed:`, error);
      }
    },
  );
  guest.main = main;
  return main;
}

/**
 * A guest run's side of its host, and how an abandoned guest is noticed
 * (aioguest's rule): the host drops a `runSyncSoon` callback without
 * calling it, so the guest would never get a turn again. Each callback
 * handed out is watched by a `FinalizationRegistry`; while one is out, the
 * guest holds its host only weakly (the callback holds it), so a host that
 * lets go of the callback lets go of everything, and the guest learns it
 * when the callback is collected. Then it warns, naming the run, cancels its
 * main task, and finishes it on this thread's event loop (its `finally`
 * blocks run), delivering the outcome to `done`. What the run's own code
 * holds stays alive with it: a body or `done` that closes over the host's
 * queue (V8 shares one closure context between the functions of a scope)
 * keeps the dropped callback alive, and the abandonment goes unnoticed.
 */
class Guest {
  /** The host, held strongly only while no callback of ours is out (see above). */
  #held: GuestHost<never> | undefined;
  readonly #weak: WeakRef<GuestHost<never>>;
  #out = 0;
  /** The driver last handed out: the abandoned run goes on with it. */
  #drive: (() => void) | undefined = undefined;
  abandoned = false;
  main: Task<unknown> | undefined = undefined;

  constructor(host: GuestHost<never>, readonly name: string) {
    this.#held = host;
    this.#weak = new WeakRef(host);
  }

  get host(): GuestHost<never> | undefined {
    return this.#held ?? this.#weak.deref();
  }

  /** The run asks for a turn. */
  turn(drive: () => void): void {
    this.#drive = drive;
    const host = this.host;
    if (this.abandoned || host === undefined) {
      queueMicrotask(drive);
      return;
    }
    this.#held = undefined; // the callback holds the host meanwhile
    this.#out++;
    const callback = (): void => {
      abandonment.unregister(callback);
      if (--this.#out === 0) this.#held = host;
      if (!this.abandoned) drive();
    };
    abandonment.register(callback, this, callback);
    host.runSyncSoon(callback);
  }

  /** A callback of ours was collected uncalled. */
  dropped(): void {
    // (A callback dropped after the run ended, by a host that is shutting down, harms nothing.)
    if (
      this.abandoned || this.main === undefined ||
      this.main.state !== "running" && this.main.state !== "pending"
    ) return;
    this.abandoned = true;
    console.warn(
      `tandem: the guest run "${this.name}" was abandoned: its host dropped a runSyncSoon ` +
        "callback without calling it. Its main task is cancelled and finished on this " +
        "thread's event loop.",
    );
    this.main?.cancel(
      new CancelledError(`the guest run "${this.name}" was abandoned by its host`),
    );
    if (this.#drive !== undefined) queueMicrotask(this.#drive);
  }
}

const abandonment = new FinalizationRegistry<Guest>((guest) => guest.dropped());
