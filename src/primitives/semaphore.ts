/**
 * `Semaphore`: permits shared by threads.
 *
 * @module
 */

import { registerShareable } from "../future/codec.ts";
import { FULFILLED, Future, internals } from "../future/future.ts";
import { threadIndex, threads } from "../loop/threads.ts";
import { FIRST_WORD, SharedCore } from "./shared_primitive.ts";
import { releaseOnce } from "../release_once.ts";

const AVAILABLE = FIRST_WORD;
/** Holders: pairs (slot + 1, permits held), so that a dead thread's permits come back. */
const HOLDERS = FIRST_WORD + 1;
const HOLDER_PAIRS = 64;
const WORDS = HOLDERS + 2 * HOLDER_PAIRS;

/**
 * Permits in shared memory: at most `permits` holders at a time, across
 * every thread that has a copy (pass it to background calls).
 * `acquire()` returns a future of a `Disposable` permit (`using permit =
 * await sem.acquire()`, or `.wait()`, or `yield*`). The permits of a thread
 * that dies (a crashed or closed worker) come back by themselves (for up to
 * 64 holding threads at once).
 *
 * @example
 * ```ts
 * import { Semaphore } from "@tandem/tandem";
 * const sem = new Semaphore(1);
 * {
 *   using _permit = sem.acquire().wait();
 *   console.log(sem.available); // 0
 * }
 * console.log(sem.available); // 1
 * ```
 */
export class Semaphore {
  readonly #core: SharedCore;
  readonly #words: Int32Array;
  readonly #waiters: Future<Disposable>[] = [];

  /** `permits`: a whole number >= 0. */
  constructor(permits = 1) {
    if (!(permits >= 0) || !Number.isInteger(permits)) {
      throw new RangeError(`Semaphore: permits must be a whole number >= 0, got ${permits}`);
    }
    this.#core = new SharedCore(this, "Semaphore", WORDS, () => this.#poll());
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
    this.#reclaim();
    if (words[AVAILABLE] === 0) {
      core.unlock();
      return undefined;
    }
    words[AVAILABLE]--;
    const pair = this.#pair(true);
    if (pair >= 0) words[pair + 1]++;
    core.unlock();
    return releaseOnce(() => {
      core.lock();
      words[AVAILABLE]++;
      const pair = this.#pair(false);
      if (pair >= 0 && --words[pair + 1] === 0) words[pair] = 0;
      core.unlock();
      this.#poll();
      core.ringWaiters();
    });
  }

  /** This thread's holder pair (made if `make`), or -1. Under the lock. */
  #pair(make: boolean): number {
    const slot = threadIndex();
    if (slot < 0) return -1;
    const words = this.#words;
    let free = -1;
    for (let i = 0; i < HOLDER_PAIRS; i++) {
      const at = HOLDERS + 2 * i;
      if (words[at] === slot + 1) return at;
      if (free < 0 && words[at] === 0) free = at;
    }
    if (make && free >= 0) {
      words[free] = slot + 1;
      words[free + 1] = 0;
      return free;
    }
    return -1;
  }

  /** Gives back the permits of dead threads. Under the lock. */
  #reclaim(): void {
    const words = this.#words;
    const directory = threads();
    for (let i = 0; i < HOLDER_PAIRS; i++) {
      const at = HOLDERS + 2 * i;
      if (words[at] !== 0 && directory.isDead(words[at] - 1)) {
        words[AVAILABLE] += words[at + 1];
        words[at] = words[at + 1] = 0;
      }
    }
  }

  #poll(): void {
    while (this.#waiters.length > 0) {
      const permit = this.#tryAcquire();
      if (permit === undefined) return;
      internals.settle(this.#waiters[0] as Future<unknown>, FULFILLED, permit);
    }
  }
}
