/**
 * What Event, Queue and Semaphore share: a buffer of shared memory that is
 * the object (every copy, on every thread, is a view of it), a short lock,
 * the threads that hold a copy, the set of threads that wait on it, and
 * this thread's waiters.
 *
 * How a wait works, on any thread and in any of the three ways: the waiter
 * is a local `Future` linked to this thread's hub. The thread marks itself
 * interested in the buffer, then checks the condition (so a change made in
 * between is not missed). Whoever changes the object rings the doorbell of
 * every interested thread; the hub's pump then calls `poll()` on the
 * primitives with local waiters, which settles the futures that can go on.
 * `wait()` blocks on the doorbell, `await` arms `waitAsync` on it, and a
 * blocking `run()` sleeps on it: one mechanism for the three.
 *
 * Who holds a copy is recorded (by thread id: the thread that made it, each
 * thread that revived it, and a thread it is being sent to, before it is
 * sent), so that a wait does not outlive the threads that could end it: when
 * a thread ends, every live thread is rung, and a wait on an Event or a Queue
 * whose every other holder has ended fails with `WorkerCrashedError` (one of
 * them crashed) or `LoopClosedError`.
 *
 * @module
 */

import { DeadlockError, LoopClosedError, WorkerCrashedError } from "../errors.ts";
import { shareables } from "../wire/codec.ts";
import {
  Future,
  type FutureLink,
  internals,
  localStall,
  REJECTED,
  type WaitPolicy,
} from "../future/future.ts";
import type { Route } from "../future/shared.ts";
import { hub, type Pumped } from "../thread/hub.ts";
import { slotOf, SLOTS, threadId, threads } from "../thread/threads.ts";

const LOCK = 0;
const SHARED = 1;
const ID = 2; // two words
/** How many threads are marked interested (so that a change with none rings nobody). */
const INTERESTED = 4;
/** Set once more threads held a copy at once than `HOLDERS` records: who does is unknown. */
const OVERFLOW = 5;
/**
 * Holder records, pairs (thread id, count): the count is the primitive's
 * (a Semaphore's permits held). A record of an ended thread is swept (its
 * count given to `ended`) when its place is needed.
 */
const HOLDERS = 6;
const HOLDER_PAIRS = 64;
/** The first word a subclass may use. */
export const FIRST_WORD = HOLDERS + 2 * HOLDER_PAIRS;
const INTEREST_WORDS = SLOTS / 32;

const copies = new Map<string, WeakRef<object>>();
let adopting: SharedArrayBuffer | undefined;

/** The shared-memory side of a primitive, kept by the primitive object. */
export class SharedCore implements Pumped {
  readonly words: Int32Array;
  /** This thread made the buffer (the primitive initialises it). */
  readonly fresh: boolean;
  readonly #interest: number;
  readonly #waiters: Future<unknown>[] = [];
  #registered = false;
  /** The directory's end count when the waiters last looked at the holders. */
  #ends = -1;
  /** The directory's end count when another holder was last seen alive. */
  #othersAliveAt = -1;

  /**
   * `words`: how many the primitive needs (its own start at `FIRST_WORD`);
   * `poll` settles the local waiters that can go on; `othersSettle`: what
   * its waiters wait for comes from other threads (an Event's set, a
   * Queue's items), so they fail when every other holder has ended (a
   * Semaphore's may wait for this thread's own permits: not so);
   * `ended(words, count)`: an ended holder's count is swept (under the lock).
   */
  constructor(
    readonly owner: object,
    readonly kind: string,
    words: number,
    readonly poll: () => void,
    readonly othersSettle: boolean,
    readonly ended?: (words: Int32Array, count: number) => void,
  ) {
    this.fresh = adopting === undefined;
    const buffer = adopting ?? new SharedArrayBuffer((words + INTEREST_WORDS) * 4);
    adopting = undefined;
    this.words = new Int32Array(buffer);
    this.#interest = words;
    if (this.words[ID] === 0 && this.words[ID + 1] === 0) {
      this.words[ID] = (Math.random() * 0x7fffffff) | 1;
      this.words[ID + 1] = (Math.random() * 0x7fffffff) | 0;
    }
    copies.set(`${this.words[ID]}:${this.words[ID + 1]}`, new WeakRef(owner));
    this.holder(threadId());
    shareables.set(owner, (route: Route) => {
      Atomics.store(this.words, SHARED, 1); // another thread may now change it
      if (route.peer !== 0) this.holder(route.peer); // before it can revive it
      return { kind, buffer: this.words.buffer as SharedArrayBuffer };
    });
  }

  /**
   * Where thread `id`'s holder record is (its count at the next word), made
   * if it has none; -1 if there is no room (then who holds it is no longer
   * known, and waits never fail for want of holders).
   */
  holder(id: number): number {
    const words = this.words;
    this.lock();
    try {
      for (let at = HOLDERS; at < FIRST_WORD; at += 2) if (words[at] === id) return at;
      // A new holder: the records of ended ones make room first.
      this.sweep();
      let free = -1;
      for (let at = HOLDERS; at < FIRST_WORD && free < 0; at += 2) if (words[at] === 0) free = at;
      if (free < 0) {
        words[OVERFLOW] = 1;
        return -1;
      }
      words[free] = id;
      words[free + 1] = 0;
      return free;
    } finally {
      this.unlock();
    }
  }

  /** Sweeps the records of ended holders (their counts go to `ended`). Under the lock. */
  sweep(): void {
    const words = this.words, directory = threads();
    for (let at = HOLDERS; at < FIRST_WORD; at += 2) {
      if (words[at] === 0 || directory.alive(words[at])) continue;
      const count = words[at + 1];
      words[at] = words[at + 1] = 0;
      if (count !== 0) this.ended?.(words, count);
    }
  }

  /**
   * Why nothing but this thread can change the object any more, if so: it
   * never left this thread, or every other thread holding it has ended.
   */
  alone(describe: string): Error | undefined {
    if (!this.shared) {
      return localStall(
        new DeadlockError(
          `${describe} can never end: this ${this.kind} never left this thread, so only this ` +
            "thread could change it, and it is blocked. Pass it to a background call first, or await.",
        ),
      );
    }
    // Another holder seen alive stays so until some thread ends: no scan.
    const directory = threads(), ends = directory.ends;
    if (ends === this.#othersAliveAt) return undefined;
    const words = this.words;
    if (Atomics.load(words, OVERFLOW) === 1) return undefined;
    const self = threadId();
    let crashed = false;
    for (let at = HOLDERS; at < FIRST_WORD; at += 2) {
      const holder = Atomics.load(words, at);
      if (holder === 0 || holder === self) continue;
      const state = directory.state(holder);
      if (state === "alive") {
        this.#othersAliveAt = ends;
        return undefined;
      }
      crashed ||= state === "crashed";
    }
    const why = `every other thread that held this ${this.kind} has ended`;
    return localStall(
      crashed
        ? new WorkerCrashedError(`${describe} can never end: ${why}, one of them by crashing`)
        : new LoopClosedError(`${describe} can never end: ${why} (their loops were closed)`),
    );
  }

  /**
   * The object over `buffer` on this thread (one per buffer and thread):
   * `make()` constructs one, whose core adopts `buffer`.
   */
  static revive<P extends object>(buffer: SharedArrayBuffer, make: () => P): P {
    const words = new Int32Array(buffer, 0, FIRST_WORD);
    const known = copies.get(`${words[ID]}:${words[ID + 1]}`)?.deref();
    if (known !== undefined) return known as P;
    adopting = buffer;
    try {
      return make();
    } finally {
      adopting = undefined;
    }
  }

  /** Some other thread holds a copy (and so could change it). */
  get shared(): boolean {
    return Atomics.load(this.words, SHARED) === 1;
  }

  lock(): void {
    const words = this.words;
    for (let spins = 0; Atomics.compareExchange(words, LOCK, 0, 1) !== 0; spins++) {
      if (spins > 100) Atomics.wait(words, LOCK, 1, 1);
    }
  }

  unlock(): void {
    Atomics.store(this.words, LOCK, 0);
    Atomics.notify(this.words, LOCK, 1);
  }

  /** Wakes every thread that waits on this object (after a change). */
  ringWaiters(): void {
    const words = this.words;
    if (Atomics.load(words, INTERESTED) === 0) return;
    const directory = threads();
    for (let w = 0; w < INTEREST_WORDS; w++) {
      let bits = Atomics.load(words, this.#interest + w);
      while (bits !== 0) {
        const bit = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        directory.ring(w * 32 + bit); // (a slot's doorbell: ring takes an id or a slot)
      }
    }
  }

  // ---- this thread's waiters ----

  /** Local waiters, oldest first (subclasses settle them in `poll`). */
  get waiters(): readonly Future<unknown>[] {
    return this.#waiters;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** A new local waiter; `poll()` runs once at once, after the thread is marked interested. */
  addWaiter<T>(describe: string): Future<T> {
    const thread = hub();
    const ticket = thread.ticket(); // before the check: a ring after it is not missed
    const future = new Future<T>();
    // (The link is its own waiting policy: one object, as before the split.)
    const link: FutureLink & WaitPolicy = {
      get waiting() {
        return link;
      },
      blocker: thread,
      // A blocking wait that gives up withdraws the request: no item or permit
      // may go to a future nobody waits on any more.
      gaveUp: () => future.cancel(),
      // A blocking wait ends when only this thread could change the object.
      stalled: () => this.alone(describe),
    };
    internals.setLink(future as Future<unknown>, link);
    this.#waiters.push(future as Future<unknown>);
    future.onDone(() => this.#forget(future as Future<unknown>));
    if (!this.#registered) {
      this.#registered = true;
      const slot = slotOf(threadId());
      Atomics.or(this.words, this.#interest + (slot >> 5), 1 << (slot & 31));
      Atomics.add(this.words, INTERESTED, 1);
      thread.channels.add(this);
    }
    this.poll();
    if (future.state === "pending") this.#failIfAlone(describe, future as Future<unknown>);
    // For `await`: the event loop hears the doorbell while anything waits.
    if (future.state === "pending") thread.arm(ticket);
    return future;
  }

  /** Fails `waiters` if nothing but this thread can end their waits (see the module doc). */
  #failIfAlone(describe: string, ...waiters: Future<unknown>[]): void {
    if (!this.othersSettle || !this.shared) return;
    const error = this.alone(describe);
    if (error === undefined) return;
    for (const waiter of waiters) internals.settle(waiter, REJECTED, error);
  }

  #forget(future: Future<unknown>): void {
    const at = this.#waiters.indexOf(future);
    if (at >= 0) this.#waiters.splice(at, 1);
    if (this.#waiters.length === 0 && this.#registered) {
      this.#registered = false;
      const slot = slotOf(threadId());
      Atomics.and(this.words, this.#interest + (slot >> 5), ~(1 << (slot & 31)));
      Atomics.sub(this.words, INTERESTED, 1);
      hub().channels.delete(this);
    }
  }

  drain(): void {
    this.poll();
    // A thread ended since the last look: its waits may have lost their last hope.
    const ends = threads().ends;
    if (ends !== this.#ends && this.#waiters.length > 0) {
      this.#ends = ends;
      this.#failIfAlone(`waiting on a ${this.kind}`, ...this.#waiters);
    }
  }
}
