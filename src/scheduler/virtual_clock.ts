/**
 * Time for tests: it moves only when told to.
 *
 * @module
 */

import { clockMoved } from "./clock_listeners.ts";

/** What a scheduler needs from a clock. @internal */
export interface Clock {
  now(): number;
}

/** The real clock: `performance.now()`. @internal */
export const realClock: Clock = performance;

/**
 * A clock whose time moves only by {@linkcode VirtualClock.advance}, or, with
 * `autojump`, jumps straight to the next timer whenever no task can go on
 * (like trio's `autojump_threshold=0`: waits on other threads or on Promises
 * do not hold the clock back). Give it to `run`, `runAsync` or
 * `startGuestRun` to test an hour of timeouts in milliseconds; `sleep`,
 * `timeout`, `deadline` and scope deadlines of that run follow it. It does
 * not change `Future.wait(timeoutMs)`, which blocks in real time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { run, sleep, VirtualClock } from "@tandem/tandem";
 * const clock = new VirtualClock({ autojump: true });
 * const started = performance.now();
 * run(function* () {
 *   yield* sleep(3_600_000); // an hour, at once
 * }, { clock });
 * assert.equal(clock.now(), 3_600_000);
 * assert.ok(performance.now() - started < 1_000);
 * ```
 */
export class VirtualClock {
  #now: number;
  /** Jump to the next timer whenever no task can go on. */
  readonly autojump: boolean;

  /**
   * `start`: the time it shows first (default 0); `autojump`: see the class.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VirtualClock } from "@tandem/tandem";
   * assert.equal(new VirtualClock({ start: 1000 }).now(), 1000);
   * ```
   */
  constructor(options: { start?: number; autojump?: boolean } = {}) {
    const start = options.start ?? 0;
    if (!Number.isFinite(start)) {
      throw new RangeError(`VirtualClock: start must be a finite number, got ${start}`);
    }
    this.#now = start;
    this.autojump = options.autojump ?? false;
  }

  /** The current virtual time, in milliseconds. */
  now(): number {
    return this.#now;
  }

  /**
   * Moves time forward by `ms` and fires the timers that became due, in the
   * runs that use this clock (their tasks go on at their next step).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VirtualClock } from "@tandem/tandem";
   * const clock = new VirtualClock();
   * clock.advance(250);
   * assert.equal(clock.now(), 250);
   * ```
   */
  advance(ms: number): void {
    if (!(ms >= 0) || ms === Infinity) {
      throw new RangeError(`VirtualClock.advance: ms must be a finite number >= 0, got ${ms}`);
    }
    this.#now += ms;
    clockMoved(this);
  }
}
