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
import { type Fiber, type ReadyListener, Scheduler, type Task } from "./run_loop.ts";
import { type Clock, realClock, VirtualClock } from "./virtual_clock.ts";
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
 * import assert from "node:assert/strict";
 * import { runAsync, sleep, until } from "@tandem/tandem";
 * const task = runAsync(function* () {
 *   yield* sleep(1);
 *   return yield* until(Promise.resolve("from a promise"));
 * });
 * assert.equal(await task, "from a promise");
 * ```
 */
export function runAsync<T>(body: () => Operation<T>, options: RunOptions = {}): Task<T> {
  checkBody("runAsync", body);
  return runHosted(
    body,
    (options.clock as Clock | undefined) ?? realClock,
    EVENT_LOOP,
    "runAsync",
    nothingMore,
  );
}

/** `runAsync`'s host: this thread's event loop. */
const EVENT_LOOP: Host = { soon: queueMicrotask, later: platform.later };
function nothingMore(): void {}

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
 * import assert from "node:assert/strict";
 * import { Future, startGuestRun } from "@tandem/tandem";
 * const soon: (() => void)[] = [];
 * const { future: input, resolve } = Future.withResolvers<string>();
 * let result: unknown;
 * startGuestRun(function* () {
 *   return `guest got ${yield* input}`;
 * }, {
 *   runSyncSoon: (fn) => soon.push(fn),
 *   done: (outcome) => result = outcome,
 * });
 * resolve("hi"); // the host wakes the guest
 * while (soon.length > 0) soon.shift()!(); // a host loop
 * assert.deepEqual(result, { ok: true, value: "guest got hi" });
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

/** A hosted run gives the host loop a turn after this long (ms) of steps. */
const SLICE_MS = 5;

/** How a hosted run gets its turns. */
interface Host {
  /** Runs the driver soon (a guest's `runSyncSoon`, or a microtask). */
  soon(drive: () => void): void;
  /** Runs the driver after the host loop had a turn (after a slice). */
  later(drive: () => void): void;
}

/** Drives `body` on a host loop; `done` is called once, after the main task ended. */
function runHosted<T>(
  body: () => Operation<T>,
  clock: Clock,
  host: Host,
  name: string,
  done: (main: Fiber<T>) => void,
): Fiber<T> {
  const driver = new HostedDriver(clock, host);
  const main = driver.scheduler.start(body, name);
  main.onDone(() => {
    driver.end();
    done(main);
  });
  return main;
}

/**
 * The hosted driver: it only gets the run its turns. A turn repeats the run
 * loop's `tick` for a slice; between turns the host loop runs, and a host
 * timer (or, for an autojumping virtual clock, a jump after the host's
 * turn) stands for the next timer of the run.
 */
class HostedDriver implements ReadyListener {
  readonly scheduler: Scheduler;
  /** A turn is under way: tasks made ready meanwhile are stepped by it. */
  #turning = false;
  /** A turn was asked of the host and has not begun. */
  #scheduled = false;
  /** The main task ended: nothing is driven or armed any more. */
  #ended = false;
  /** A virtual clock's jump was asked of the host and has not happened. */
  #jumpPending = false;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** When `#timer` fires, on the run's clock (Infinity: none is armed). */
  #timerDue = Infinity;

  constructor(clock: Clock, readonly host: Host) {
    this.scheduler = new Scheduler(clock, this);
  }

  /** A task became ready: a turn is asked for, unless one is under way or asked for. */
  taskReady(): void {
    if (this.#turning || this.#scheduled || this.#ended) return;
    this.#scheduled = true;
    this.host.soon(this.#turn);
  }

  readonly #turn = (): void => {
    this.#scheduled = false;
    if (this.#turning || this.#ended) return;
    this.#turning = true;
    const scheduler = this.scheduler;
    const sliceEnd = performance.now() + SLICE_MS;
    try {
      for (;;) {
        scheduler.tick();
        if (this.#ended) break;
        if (!scheduler.ready && !(scheduler.allWaiting() && scheduler.ready)) break;
        if (performance.now() > sliceEnd) {
          this.#scheduled = true;
          this.host.later(this.#turn);
          break;
        }
      }
    } finally {
      this.#turning = false;
    }
    if (this.#ended || this.#scheduled) return;
    if (scheduler.flushesWaiting) {
      // A flush gave more flushes (a client batching through another): they
      // run after the host's turn, so that one that always gives more cannot
      // hold the thread.
      this.#scheduled = true;
      this.host.later(this.#turn);
      return;
    }
    this.#idle();
  };

  /** No task is ready: make sure the next timer wakes the run. */
  #idle(): void {
    const scheduler = this.scheduler;
    const due = scheduler.nextTimerDue();
    if (due === Infinity) return;
    const clock = scheduler.clock;
    if (clock instanceof VirtualClock) {
      if (clock.autojump && !this.#jumpPending) {
        // After the host's turn, so that what was about to settle settles first.
        this.#jumpPending = true;
        this.host.later(() => {
          this.#jumpPending = false;
          if (!this.#ended) scheduler.autojump();
        });
      }
      return;
    }
    if (this.#timer !== undefined && this.#timerDue <= due) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerDue = Infinity;
      if (this.#ended) return;
      if (!scheduler.fireTimers() && !this.#scheduled && !this.#turning) this.#idle();
    }, Math.max(0, due - clock.now()));
  }

  /** The run ended: nothing of it stays armed. */
  end(): void {
    this.#ended = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.scheduler.release();
  }
}
