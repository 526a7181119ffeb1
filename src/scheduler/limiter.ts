/**
 * `Limiter`: at most `capacity` holders at a time, FIFO.
 *
 * @module
 */

import { FULFILLED, Future, internals } from "../future/future.ts";
import { releaseOnce } from "../release_once.ts";
import { isWholeAtLeast } from "../validate.ts";

/**
 * Lets at most `capacity` tasks hold a slot at a time; the others wait in
 * FIFO order. `acquire()` gives a `Disposable` slot (`using slot = yield*
 * limiter.acquire()`). A waiter cancelled while queued never takes a slot; a
 * waiter cancelled after a slot was handed to it passes the slot on.
 * `capacity` may change while slots are held: holders keep theirs, and new
 * slots are handed out only below the new capacity.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Limiter, pmap, run, sleep } from "@tandem/tandem";
 * const limiter = new Limiter(2);
 * let most = 0;
 * const done = run(() =>
 *   pmap(function* (n: number) {
 *     using _slot = yield* limiter.acquire();
 *     most = Math.max(most, limiter.held);
 *     yield* sleep(1);
 *     return n;
 *   }, [1, 2, 3, 4])
 * );
 * assert.deepEqual(done, [1, 2, 3, 4]);
 * assert.equal(most, 2); // never more than 2 at a time
 * assert.equal(limiter.held, 0); // every slot given back
 * ```
 */
export class Limiter {
  #capacity = 0;
  #held = 0;
  readonly #waiters: Future<Disposable>[] = [];

  /** `capacity`: a whole number >= 0, or Infinity. */
  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** How many slots may be held at once. */
  get capacity(): number {
    return this.#capacity;
  }

  set capacity(capacity: number) {
    if (!isWholeAtLeast(capacity, 0, true)) {
      throw new RangeError(
        `Limiter: capacity must be a whole number >= 0 or Infinity, got ${capacity}`,
      );
    }
    this.#capacity = capacity;
    this.#handOut();
  }

  /** How many slots are held now. */
  get held(): number {
    return this.#held;
  }

  /** How many tasks wait for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Waits for a slot (FIFO); dispose of it to give it back.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Limiter, run } from "@tandem/tandem";
   * const limiter = new Limiter(1);
   * run(function* () {
   *   using _slot = yield* limiter.acquire();
   *   assert.equal(limiter.held, 1);
   * });
   * assert.equal(limiter.held, 0); // `using` gave the slot back
   * ```
   */
  *acquire(): Generator<unknown, Disposable, unknown> {
    if (this.#held < this.#capacity && this.#waiters.length === 0) return this.#take();
    const waiter = new Future<Disposable>();
    this.#waiters.push(waiter);
    waiter.onDone(() => {
      if (waiter.state !== "fulfilled") this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
    });
    // Only this task sees the waiter: cancelled after the slot was handed to
    // it, before it resumed, it passes the slot on (duet #87).
    internals.handsOver(waiter as Future<unknown>, (slot: Disposable) => slot[Symbol.dispose]());
    return yield* waiter;
  }

  #take(): Disposable {
    this.#held++;
    return releaseOnce(() => {
      this.#held--;
      this.#handOut();
    });
  }

  #handOut(): void {
    while (this.#held < this.#capacity && this.#waiters.length > 0) {
      const waiter = this.#waiters.shift()!;
      internals.settle(waiter, FULFILLED, this.#take());
    }
  }
}
