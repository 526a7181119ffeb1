/**
 * `Event`: a flag that threads wait for.
 *
 * @module
 */

import { DeadlockError, TimeoutError } from "../errors.ts";
import { registerShareable } from "../future/codec.ts";
import { FULFILLED, Future, internals } from "../future/future.ts";
import type { Waitable } from "../future/waitable.ts";
import { FIRST_WORD, SharedCore } from "./shared_primitive.ts";
import { AdaptiveSpin } from "../loop/adaptive_spin.ts";

const FLAG = FIRST_WORD;
const spin = new AdaptiveSpin();

/**
 * A flag in shared memory: `set()` wakes every waiter, on every thread;
 * waiting after it is set returns at once, until `clear()`. Share it by
 * passing it to a background call (every copy is the same flag). Wait in any
 * of the three ways: `await event`, `event.wait(timeoutMs)` (blocks this
 * thread) or `yield* event` in a task. Blocking on an event that never left
 * this thread throws `DeadlockError`: nothing else could set it.
 *
 * @example
 * ```ts
 * import { Event } from "@tandem/tandem";
 * const ready = new Event();
 * setTimeout(() => ready.set(), 1);
 * await ready;
 * console.log(ready.isSet); // true
 * ```
 */
export class Event implements Waitable<void> {
  readonly #core: SharedCore;
  readonly #words: Int32Array;

  /** A new event, not set. */
  constructor() {
    this.#core = new SharedCore(this, "Event", FLAG + 1, () => this.#poll());
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
   * `timeoutMs`; `DeadlockError` at once if only this thread could set it.
   */
  wait(timeoutMs?: number): void {
    const words = this.#words;
    if (Atomics.load(words, FLAG) === 1) return;
    if (!this.#core.shared) {
      throw new DeadlockError(
        "Event.wait() can never end: this Event never left this thread, so only this thread " +
          "could set it, and it is blocked. Pass it to a background call first, or await it.",
      );
    }
    // Straight on the flag's word: the set() that wakes it is one notify away.
    const start = timeoutMs === undefined ? 0 : performance.now();
    let left = timeoutMs === undefined ? Infinity : Math.max(0, timeoutMs);
    while (Atomics.load(words, FLAG) === 0) {
      const woke = left > 0 && spin.wait(words, FLAG, 0, left);
      if (!woke) throw new TimeoutError(`Event.wait() timed out after ${timeoutMs} ms`);
      if (left !== Infinity) left = timeoutMs! - (performance.now() - start);
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
    return this.isSet
      ? Future.resolve(undefined)
      : this.#core.addWaiter<void>("waiting on an Event");
  }

  #poll(): void {
    const waiters = this.#core.waiters;
    if (waiters.length === 0 || !this.isSet) return;
    for (const waiter of [...waiters]) internals.settle(waiter, FULFILLED, undefined);
  }
}
