/**
 * What wakes a blocking run: the thread's doorbell, seen through the
 * {@linkcode Waker} interface, so that the scheduler needs nothing from the
 * layers that make threads and channels. Those layers install the waker of
 * the thread (its hub) when they make it; a thread where none was installed
 * has no channel, so nothing can ring it: a run there waits only for its
 * timers, and the default waker just sleeps.
 *
 * @module
 */

/** How a blocking run waits for other threads. @internal */
export interface Waker {
  /** A number that moves whenever another thread may have sent something. */
  ticket(): number;
  /** Handles what other threads sent (it may settle futures of this thread). */
  pump(): void;
  /**
   * Sleeps until the ticket moves past `ticket` or `ms` pass; true if it
   * moved. May spin first: for waits on other threads.
   */
  block(ticket: number, ms: number): boolean;
  /** Like `block`, without spinning: for waits that are mostly timers. */
  rest(ticket: number, ms: number): boolean;
}

/**
 * The waker of a thread with no channel: the ticket never moves, there is
 * nothing to pump, and a wait only sleeps its time out. The word it sleeps
 * on is made at the first wait (importing tandem allocates nothing), and
 * nobody else sees it.
 */
class SleepingWaker implements Waker {
  #word: Int32Array | undefined = undefined;

  ticket(): number {
    return 0;
  }

  pump(): void {}

  block(ticket: number, ms: number): boolean {
    const word = this.#word ??= new Int32Array(new SharedArrayBuffer(4));
    return Atomics.wait(word, 0, ticket, ms === Infinity ? undefined : ms) !== "timed-out";
  }

  rest(ticket: number, ms: number): boolean {
    return this.block(ticket, ms);
  }
}

let current: Waker = new SleepingWaker();

/** The waker of this thread: its hub once one was made, else one that only sleeps. @internal */
export function currentWaker(): Waker {
  return current;
}

/** Makes `waker` this thread's (the thread's hub, when it is made). @internal */
export function installWaker(waker: Waker): void {
  current = waker;
}
