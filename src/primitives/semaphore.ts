/**
 * `Semaphore`: permits shared by threads.
 *
 * @module
 */

import { registerShareable } from "../wire/codec.ts";
import { FULFILLED, Future, internals } from "../future/future.ts";
import { threadId } from "../thread/threads.ts";
import { FIRST_WORD, SharedCore } from "./shared_primitive.ts";
import { releaseOnce } from "../release_once.ts";
import { isWholeAtLeast } from "../validate.ts";

const AVAILABLE = FIRST_WORD;
const WORDS = AVAILABLE + 1;

/**
 * Permits in shared memory: at most `permits` holders at a time, across
 * every thread that has a copy (pass it to background calls).
 * `acquire()` returns a future of a `Disposable` permit (`using permit =
 * await sem.acquire()`, or `.wait()`, or `yield*`). The permits of a thread
 * that ends (a crashed or closed worker) come back by themselves (for up to
 * 64 holding threads at once). Blocking on one that never left this thread
 * throws `DeadlockError`; on one whose every other holder ended,
 * `WorkerCrashedError` or `LoopClosedError` (only this thread could give a
 * permit back).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Semaphore } from "@tandem/tandem";
 * const sem = new Semaphore(1);
 * {
 *   using _permit = sem.acquire().wait();
 *   assert.equal(sem.available, 0);
 * }
 * assert.equal(sem.available, 1); // `using` released the permit
 * ```
 */
export class Semaphore {
  readonly #core: SharedCore;
  readonly #words: Int32Array;
  readonly #waiters: Future<Disposable>[] = [];

  /** `permits`: a whole number >= 0. */
  constructor(permits = 1) {
    if (!isWholeAtLeast(permits, 0)) {
      throw new RangeError(`Semaphore: permits must be a whole number >= 0, got ${permits}`);
    }
    // Each holder's count is the permits it holds: an ended holder's come back.
    this.#core = new SharedCore(
      this,
      "Semaphore",
      WORDS,
      () => this.#poll(),
      false,
      (words, count) => {
        words[AVAILABLE] += count;
      },
    );
    this.#words = this.#core.words;
    if (this.#core.fresh) this.#words[AVAILABLE] = permits;
  }

  static {
    registerShareable("Semaphore", (buffer) => SharedCore.revive(buffer, () => new Semaphore(0)));
  }

  /** Permits free now. */
  get available(): number {
    return Atomics.load(this.#words, AVAILABLE);
  }

  /** Waits for a permit (FIFO among this thread's waiters); dispose of it to give it back. */
  acquire(): Future<Disposable> {
    if (this.#waiters.length === 0) {
      const permit = this.#tryAcquire();
      if (permit !== undefined) return Future.resolve(permit);
    }
    const future = this.#core.addWaiter<Disposable>("Semaphore.acquire()");
    this.#waiters.push(future);
    future.onDone(() => {
      const at = this.#waiters.indexOf(future);
      if (at >= 0) this.#waiters.splice(at, 1);
    });
    this.#poll();
    return future;
  }

  #tryAcquire(): Disposable | undefined {
    const core = this.#core;
    const words = this.#words;
    core.lock();
    core.sweep(); // the permits of ended holders come back
    if (words[AVAILABLE] === 0) {
      core.unlock();
      return undefined;
    }
    words[AVAILABLE]--;
    core.unlock();
    // Counted against this thread, so that they come back should it end.
    const id = threadId();
    const at = core.holder(id);
    if (at >= 0) Atomics.add(words, at + 1, 1);
    return releaseOnce(() => {
      core.lock();
      // A permit counted against a holder is given back only while that
      // record stands (an ended holder's were given back by the sweep).
      const counted = at >= 0;
      if (!counted || (words[at] === id && words[at + 1] > 0)) {
        if (counted) words[at + 1]--;
        words[AVAILABLE]++;
      }
      core.unlock();
      this.#poll();
      core.ringWaiters();
    });
  }

  #poll(): void {
    while (this.#waiters.length > 0) {
      const permit = this.#tryAcquire();
      if (permit === undefined) return;
      internals.settle(this.#waiters[0] as Future<unknown>, FULFILLED, permit);
    }
  }
}
