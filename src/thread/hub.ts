/**
 * The hub: one per thread. It owns the thread's doorbell, a shared word that
 * every peer increments (and notifies) after it wrote a message for this
 * thread, and the channels to those peers.
 *
 * - Blocking (`Future.wait`): read a ticket, pump every channel (unless the
 *   ticket has not moved since the request was sent or the last pump: then
 *   nothing arrived), then sleep on the doorbell until the ticket changes
 *   (`Atomics.wait`), after a short adaptive spin: spinning answers in well
 *   under a microsecond when the peer runs on another core, is dropped as
 *   soon as it stops paying, and is never tried with one CPU, so it never
 *   costs much.
 * - Awaiting: once something awaits an answer (or several calls are out), an
 *   `Atomics.waitAsync` on the doorbell is armed, and stays armed while
 *   anything is pending; when it fires, every channel is pumped at once, so
 *   a burst of replies costs one wake-up.
 *
 * @module
 */

import type { Blocker, WaitPolicy } from "../future/future.ts";
import { pendingShared } from "../future/shared.ts";
import { AdaptiveSpin, sleepOn } from "./adaptive_spin.ts";
import { installWaker, type Waker } from "../scheduler/waker.ts";
import { type Bell, ownBell } from "./threads.ts";

/** What a hub pumps. */
export interface Pumped {
  /**
   * Handles every message waiting for this thread. It may be re-entered: a
   * callback it runs may block and pump again (a served function waiting on
   * a future that its caller settles needs the very channel it came from),
   * so it takes each message off before handling it.
   */
  drain(): void;
  /** Replies this thread still waits for on this channel. */
  readonly waiting: number;
}

/** One thread's doorbell and channels. */
export class Hub implements Blocker, Waker {
  /** Where peers ring this thread. */
  readonly bell: Bell;
  readonly #doorbell: Int32Array;
  readonly channels: Set<Pumped> = new Set();
  #armed = false;
  readonly #spin = new AdaptiveSpin();
  /** True while a blocking wait pumps: incoming calls must wait their turn. */
  nested = false;

  constructor(bell: Bell) {
    this.bell = bell;
    this.#doorbell = new Int32Array(bell.buffer, bell.offset, 1);
  }

  ticket(): number {
    return Atomics.load(this.#doorbell, 0);
  }

  /** Handles what arrived; called by blocking waits (calls are queued meanwhile). */
  pump(): void {
    const nested = this.nested;
    this.nested = true;
    try {
      this.drainAll();
    } finally {
      this.nested = nested;
    }
  }

  /** Drains every channel (a drain may nest: see `Pumped.drain`). */
  drainAll(): void {
    for (const channel of this.channels) channel.drain();
  }

  /**
   * Sleeps until the doorbell moves past `ticket` or `ms` pass; true if it
   * moved. Spins first where that pays (see `adaptive_spin.ts`).
   */
  block(ticket: number, ms: number): boolean {
    return this.#spin.wait(this.#doorbell, 0, ticket, ms);
  }

  /** Like `block`, without the spin: for waits that are mostly timers. */
  rest(ticket: number, ms: number): boolean {
    return sleepOn(this.#doorbell, 0, ticket, ms);
  }

  /** Wakes this thread's blocked or armed waits (used by peers and by itself). */
  ring(): void {
    Atomics.add(this.#doorbell, 0, 1);
    Atomics.notify(this.#doorbell, 0);
  }

  /**
   * Keeps an async wake-up armed while anything is pending. `ticket` must be
   * read before the request whose answer is awaited was sent: an answer that
   * rang in between would otherwise be missed.
   */
  arm(ticket: number): void {
    if (!this.#armed) this.armAt(ticket);
  }

  /** Arms the async wake-up for changes after `ticket`. */
  armAt(ticket: number): void {
    this.#armed = true;
    const result = Atomics.waitAsync(this.#doorbell, 0, ticket);
    if (result.async) result.value.then(this.#wake);
    else queueMicrotask(this.#wake);
  }

  readonly #wake = (): void => {
    this.#armed = false;
    const ticket = this.ticket();
    this.drainAll();
    this.idle(ticket);
  };

  /** After an async wake-up was handled; `ticket` was read before the pump. */
  protected idle(ticket: number): void {
    if (this.waiting() > 0) this.armAt(ticket);
  }

  /** Replies and outcomes this thread waits for. */
  waiting(): number {
    let count = pendingShared();
    for (const channel of this.channels) count += channel.waiting;
    return count;
  }
}

let current: Hub | undefined;

/** This thread's hub (made on first use: importing tandem allocates nothing). */
export function hub(): Hub {
  if (current === undefined) installWaker(current = new Hub(ownBell()));
  return current;
}

/** This thread's hub if anything made one: nothing crossed threads otherwise. */
export function existingHub(): Hub | undefined {
  return current;
}

/** Installs the hub of a worker thread before anything else asks for one. */
export function installHub(h: Hub): void {
  current = h;
  installWaker(h); // the thread's blocking runs wake by its doorbell
}

function neverStalled(): undefined {
  return undefined;
}

/**
 * The waiting policy of a future that this thread's own business settles (a
 * `ControlHost`'s next request, a fanout, a loop's close): block on this
 * thread's hub; never stalled, since what settles it arrives through the hub
 * or this thread's own timers. (Not cached: a worker's hub is installed late.)
 */
export function onHub(): WaitPolicy {
  return { blocker: hub(), stalled: neverStalled };
}
