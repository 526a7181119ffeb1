/**
 * `Event`: a flag that threads wait for.
 *
 * @module
 */

import { TimeoutError } from "../errors.ts";
import { registerShareable } from "../wire/codec.ts";
import { FULFILLED, Future, internals } from "../future/future.ts";
import type { Waitable } from "../future/waitable.ts";
import { AdaptiveSpin } from "../thread/adaptive_spin.ts";
import { existingHub } from "../thread/hub.ts";
import { threads } from "../thread/threads.ts";
import { FIRST_WORD, SharedCore } from "./shared_primitive.ts";

const FLAG = FIRST_WORD;
const spin = new AdaptiveSpin();
/** How often a blocked `wait()` looks whether a thread ended (a slice's timeout costs nothing). */
const LIVENESS_SLICE_MS = 250;

/**
 * A flag in shared memory: `set()` wakes every waiter, on every thread;
 * waiting after it is set returns at once, until `clear()`. Share it by
 * passing it to a background call (every copy is the same flag). Wait in any
 * of the three ways: `await event`, `event.wait(timeoutMs)` (blocks this
 * thread) or `yield* event` in a task. Blocking on an event that never left
 * this thread throws `DeadlockError`: nothing else could set it; waiting on
 * one whose every other holder ended (its worker crashed, or its loop was
 * closed) fails with `WorkerCrashedError` or `LoopClosedError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Event } from "@tandem/tandem";
 * const ready = new Event();
 * setTimeout(() => ready.set(), 1);
 * await ready;
 * assert.equal(ready.isSet, true);
 * ```
 */
export class Event implements Waitable<void> {
  readonly #core: SharedCore;
  readonly #words: Int32Array;

  /** A new event, not set. */
  constructor() {
    this.#core = new SharedCore(this, "Event", FLAG + 1, () => this.#poll(), true);
    this.#words = this.#core.words;
  }

  static {
    registerShareable("Event", (buffer) => SharedCore.revive(buffer, () => new Event()));
  }

  /** True while set. */
  get isSet(): boolean {
    return Atomics.load(this.#words, FLAG) === 1;
  }

  /** Sets the flag and wakes every waiter, on every thread. */
  set(): void {
    if (Atomics.exchange(this.#words, FLAG, 1) === 0) {
      Atomics.notify(this.#words, FLAG);
      this.#poll();
      this.#core.ringWaiters();
    }
  }

  /** Clears the flag: later waits wait again. */
  clear(): void {
    Atomics.store(this.#words, FLAG, 0);
  }

  /**
   * Blocks this thread until the event is set; `TimeoutError` after
   * `timeoutMs`; `DeadlockError` at once if only this thread could set it;
   * `WorkerCrashedError` or `LoopClosedError` when every other thread that
   * held it has ended.
   */
  wait(timeoutMs?: number): void {
    const words = this.#words;
    if (Atomics.load(words, FLAG) === 1) return;
    const describe = "Event.wait()";
    const alone = this.#core.alone(describe);
    if (alone !== undefined) throw alone;
    // Straight on the flag's word, not the doorbell: the set() that wakes it
    // is one notify away (the doorbell's way costs this round trip 1.6×). A
    // thread's end does not notify the flag, so the wait wakes now and then
    // to look (and to pump: this thread may be the one to learn that its
    // worker died): an Event nobody is left to set fails within a slice.
    const directory = threads();
    let ends = directory.ends;
    const until = timeoutMs === undefined ? Infinity : performance.now() + Math.max(0, timeoutMs);
    for (;;) {
      const left = until === Infinity ? Infinity : until - performance.now();
      if (left <= 0) throw new TimeoutError(`Event.wait() timed out after ${timeoutMs} ms`);
      if (spin.wait(words, FLAG, 0, Math.min(left, LIVENESS_SLICE_MS))) {
        if (Atomics.load(words, FLAG) === 1) return;
      } else {
        existingHub()?.pump();
        if (directory.ends === ends) continue;
        ends = directory.ends;
        const alone = this.#core.alone(describe);
        if (alone !== undefined) throw alone;
      }
    }
  }

  /** `await event`. */
  then<R1 = void, R2 = never>(
    onFulfilled?: ((value: void) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#waiter().then(onFulfilled, onRejected);
  }

  /** `yield* event` in a task. */
  [Symbol.iterator](): Iterator<unknown, void, unknown> {
    return this.#waiter()[Symbol.iterator]();
  }

  #waiter(): Future<void> {
    return this.isSet ? Future.resolve(undefined) : this.#core.addWaiter<void>("Event.wait()");
  }

  #poll(): void {
    const waiters = this.#core.waiters;
    if (waiters.length === 0 || !this.isSet) return;
    for (const waiter of [...waiters]) internals.settle(waiter, FULFILLED, undefined);
  }
}
