/**
 * What Event, Queue and Semaphore share: a buffer of shared memory that is
 * the object (every copy, on every thread, is a view of it), a short lock,
 * the set of threads that wait on it, and this thread's waiters.
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
 * @module
 */

import { DeadlockError } from "../errors.ts";
import { shareables } from "../future/codec.ts";
import { Future, internals } from "../future/future.ts";
import { hub, type Pumped } from "../loop/hub.ts";
import { SLOTS, threadIndex, threads } from "../loop/threads.ts";

const LOCK = 0;
const SHARED = 1;
const ID = 2; // two words
/** How many threads are marked interested (so that a change with none rings nobody). */
const INTERESTED = 4;
/** The first word a subclass may use. */
export const FIRST_WORD = 5;
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

  /**
   * `words`: how many the primitive needs (its own start at `FIRST_WORD`);
   * `buffer`: a copy's; `poll` settles the local waiters that can go on.
   */
  constructor(
    readonly owner: object,
    readonly kind: string,
    words: number,
    readonly poll: () => void,
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
    shareables.set(owner, () => {
      Atomics.store(this.words, SHARED, 1); // another thread may now change it
      return { kind, buffer: this.words.buffer as SharedArrayBuffer };
    });
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
        directory.ring(w * 32 + bit);
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
    internals.setLink(future as Future<unknown>, {
      blocker: thread,
      // A blocking wait that gives up withdraws the request: no item or permit
      // may go to a future nobody waits on any more.
      gaveUp: () => future.cancel(),
      stalled: () =>
        this.shared ? undefined : new DeadlockError(
          `${describe} can never end: this ${this.kind} never left this thread, so only this ` +
            "thread could change it, and it is blocked. Pass it to a background call first, or await.",
        ),
    });
    this.#waiters.push(future as Future<unknown>);
    future.onDone(() => this.#forget(future as Future<unknown>));
    if (!this.#registered) {
      this.#registered = true;
      const slot = threadIndex();
      if (slot >= 0) Atomics.or(this.words, this.#interest + (slot >> 5), 1 << (slot & 31));
      Atomics.add(this.words, INTERESTED, 1);
      thread.channels.add(this);
    }
    this.poll();
    // For `await`: the event loop hears the doorbell while anything waits.
    if (future.state === "pending") thread.arm(ticket);
    return future;
  }

  #forget(future: Future<unknown>): void {
    const at = this.#waiters.indexOf(future);
    if (at >= 0) this.#waiters.splice(at, 1);
    if (this.#waiters.length === 0 && this.#registered) {
      this.#registered = false;
      const slot = threadIndex();
      if (slot >= 0) Atomics.and(this.words, this.#interest + (slot >> 5), ~(1 << (slot & 31)));
      Atomics.sub(this.words, INTERESTED, 1);
      hub().channels.delete(this);
    }
  }

  drain(): void {
    this.poll();
  }
}
