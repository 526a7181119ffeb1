/**
 * A channel joins two threads: the parent that started a worker and the
 * worker. Messages go as binary records (`record.ts`) through a
 * shared-memory ring (one per direction); a message that holds more than
 * plain data goes through a MessagePort instead, and a one-unit record in the
 * ring says where, so that order is kept and the receiver can take it
 * synchronously with `receiveMessageOnPort`, even while its thread blocks.
 * After writing, the sender rings the receiver's doorbell (see `hub.ts`).
 *
 * Liveness is in shared memory too: the worker marks itself dead before it
 * goes (see `worker_host.ts`), so a parent blocked in `wait()` learns of it
 * at once and fails every pending call with `WorkerCrashedError`.
 *
 * @module
 */

import { receiveMessageOnPort } from "node:worker_threads";
import { LoopClosedError, TimeoutError, WorkerCrashedError } from "../errors.ts";
import { decode, encode } from "../future/codec.ts";
import { FULFILLED, Future, type FutureLink, internals, REJECTED } from "../future/future.ts";
import { type Route, settleMessage } from "../future/shared.ts";
import type { Bell } from "./threads.ts";
import type { Hub, Pumped } from "./hub.ts";
import { openArray, readNext, RecordWriter } from "./record.ts";
import { createRing, Ring, type RingBuffer } from "./ring.ts";

/** Message kinds; every message is `[kind, id, special, ...fields]`. */
const CALL = 0; // [CALL, id, special, fn, args, timeoutMs]
const RESULT = 1; // [RESULT, id, special, state, value?]
const CANCEL = 2; // [CANCEL, id, special, reason]
const SETTLE = 3; // [SETTLE, futureId, special, state, value?]
const CRASH = 4; // [CRASH, 0, special, cause]
type Message = [number, number | string, 0 | 1, ...unknown[]];

/** The record that says "the next message is on the port" (no value starts so). */
const ON_PORT = new Uint16Array([0xfffe]);
let spareWriter: RecordWriter | undefined;

/** Words of the shared state. */
const PARENT = 0; // OPEN or CLOSED
const CHILD = 1; // STARTING, READY, DEAD or CLOSED
const DOWN_FULL = 2; // the parent waits for room in the down ring
const UP_FULL = 3; // the worker waits for room in the up ring
const STARTING = 0, READY = 1, DEAD = 2;
const CLOSED = 3; // (the parent's state is 0 while open)

/** Everything the worker needs to open its end; crosses in the first message. */
export interface ChannelEnds {
  down: RingBuffer;
  up: RingBuffer;
  state: SharedArrayBuffer;
  parentBell: Bell;
  port: MessagePort;
}

/** How long a blocked parent waits for a worker to start before giving up. */
export const START_TIMEOUT_MS = 20_000;
const PORT_WAIT_MS = 1_000;

/** What serves calls on the worker side. */
export interface CallHandler {
  call(channel: Channel, id: number, fn: string, args: unknown[], timeoutMs: number): void;
  cancel(id: number, reason: unknown): void;
}

/** One side of a channel. */
export class Channel implements Pumped, Route {
  readonly #hub: Hub;
  readonly #out: Ring;
  readonly #in: Ring;
  readonly #port: MessagePort;
  readonly #state: Int32Array;
  readonly #peerDoorbell: Int32Array;
  readonly #isParent: boolean;
  readonly #outbox: Uint16Array[] = [];
  readonly #pending = new Map<number, CallLink>();
  #nextId = 1;
  #gone: Error | undefined = undefined;
  #crashCause: unknown = undefined;
  readonly #startDeadline: number;
  /** Serves incoming calls (the worker side sets it). */
  handler: CallHandler | undefined = undefined;
  /** Called once when the peer is found gone. */
  onGone: ((error: Error) => void) | undefined = undefined;
  draining = false;

  /** The parent's side of a new channel, and the ends to send to the worker. */
  static open(
    hub: Hub,
    port: MessagePort,
    peerPort: MessagePort,
    workerBell: Bell,
  ): {
    channel: Channel;
    ends: ChannelEnds;
  } {
    const ends: ChannelEnds = {
      down: createRing(),
      up: createRing(),
      state: new SharedArrayBuffer(16),
      parentBell: hub.bell,
      port: peerPort,
    };
    return { channel: new Channel(hub, ends, port, workerBell, true), ends };
  }

  /** The worker's side, from the ends the parent sent. */
  static accept(hub: Hub, ends: ChannelEnds): Channel {
    return new Channel(hub, ends, ends.port, ends.parentBell, false);
  }

  private constructor(
    hub: Hub,
    ends: ChannelEnds,
    port: MessagePort,
    peerBell: Bell,
    isParent: boolean,
  ) {
    this.#hub = hub;
    this.#isParent = isParent;
    this.#out = new Ring(isParent ? ends.down : ends.up);
    this.#in = new Ring(isParent ? ends.up : ends.down);
    this.#port = port;
    this.#state = new Int32Array(ends.state);
    this.#peerDoorbell = new Int32Array(peerBell.buffer, peerBell.offset, 1);
    this.#startDeadline = performance.now() + START_TIMEOUT_MS;
    hub.channels.add(this);
  }

  get blocker(): Hub {
    return this.#hub;
  }

  /** Calls sent and not yet answered. */
  get waiting(): number {
    return this.#pending.size;
  }

  /** The peer can still answer. */
  get alive(): boolean {
    return this.#gone === undefined && this.#peerState() < DEAD;
  }

  /** The worker has opened its end. */
  get ready(): boolean {
    return Atomics.load(this.#state, CHILD) !== STARTING;
  }

  goneError(): Error {
    return this.#gone ??
      (this.#peerState() === DEAD
        ? this.#crashed()
        : new LoopClosedError("the loop this thread belongs to was closed"));
  }

  /** Why a blocking wait on a call of this channel cannot end, if it cannot. */
  stalled(): Error | undefined {
    if (!this.alive) return this.goneError();
    if (this.#isParent && !this.ready && performance.now() > this.#startDeadline) {
      this.peerGone(
        new WorkerCrashedError(
          `the worker did not start within ${
            START_TIMEOUT_MS / 1000
          } s (could its module not be loaded?)`,
        ),
      );
      return this.#gone;
    }
    return undefined;
  }

  // ---- the worker's side of liveness ----

  /** The worker says it is serving. */
  markReady(): void {
    Atomics.store(this.#state, CHILD, READY);
    this.#ringPeer();
  }

  /** The worker says it is dying, and why (best effort: the cause may not encode). */
  markDead(cause: unknown): void {
    if (Atomics.load(this.#state, CHILD) >= DEAD) return;
    try {
      this.#post([CRASH, 0, 0, undefined], cause, "the worker's error");
    } catch { /* the state word below is what counts */ }
    Atomics.store(this.#state, CHILD, DEAD);
    this.#ringPeer();
  }

  // ---- calls ----

  /** Sends a call; the future settles with its outcome. */
  call(
    fn: string,
    args: unknown[],
    label: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Future<unknown> {
    if (!this.alive) return Future.reject(this.goneError());
    if (signal?.aborted) {
      const future = new Future<unknown>();
      future.cancel(signal.reason);
      return future;
    }
    const id = this.#nextId++;
    const ticket = this.#hub.ticket();
    try {
      this.#post([CALL, id, 0, fn, undefined, timeoutMs], args, `${label} arguments`, 4);
    } catch (error) {
      return Future.reject(error);
    }
    const future = new Future<unknown>();
    const link = new CallLink(this, id, future, label, timeoutMs, ticket);
    internals.setLink(future, link);
    internals.markRunning(future);
    this.#pending.set(id, link);
    if (signal) link.follow(signal);
    // One call at a time is usually blocked on, and its link arms the hub
    // when it is awaited instead; several are listened for at once, so that
    // replies nobody asked for yet do not pile up.
    if (this.#pending.size > 1) this.#hub.arm(ticket);
    return future;
  }

  /** The outcome of call `id`, from the worker side. */
  reply(id: number, ok: boolean, value: unknown, label: string): void {
    if (this.#peerState() >= CLOSED) return;
    try {
      this.#post(
        [RESULT, id, 0, ok ? FULFILLED : REJECTED, value],
        value,
        `the result of ${label}`,
      );
    } catch (error) {
      this.#post([RESULT, id, 0, REJECTED, error], error, `the error of ${label}`);
    }
  }

  /** Every call still pending (for close and cancellation). */
  pendingFutures(): Future<unknown>[] {
    return [...this.#pending.values()].map((link) => link.future);
  }

  sendCancel(id: number, reason: unknown): void {
    if (!this.alive) return;
    try {
      this.#post([CANCEL, id, 0, reason], reason, "the cancellation reason");
    } catch {
      this.#post([CANCEL, id, 0, undefined], undefined, "");
    }
  }

  sendSettle(id: string, state: number, value: unknown): void {
    this.#post([SETTLE, id, 0, state, value], value, "the outcome of a shared future");
  }

  // ---- the wire ----

  /**
   * Sends a message whose field `valueAt` (the last by default; dropped when
   * `undefined`, so a void result stays short) carries `value`. Plain data
   * goes as a binary record through the ring; anything else is encoded (see
   * `codec.ts`) and, if still not plain, goes through the port, announced by
   * a record in the ring so that order is kept.
   */
  #post(message: Message, value: unknown, what: string, valueAt = message.length - 1): void {
    if (value === undefined && valueAt === message.length - 1) message.length = valueAt;
    else message[valueAt] = value;
    // A getter run by the writer may send too: it then gets a writer of its own.
    const writer = spareWriter ?? new RecordWriter();
    spareWriter = undefined;
    try {
      let plain = writer.write(message);
      if (!plain) {
        const encoded = encode(value, this, what);
        message[valueAt] = encoded.data;
        message[2] = encoded.special ? 1 : 0;
        plain = writer.write(message);
      }
      if (plain && writer.length <= this.#out.maxRecord) this.#write(writer.units, writer.length);
      else this.#sendOnPort(message, what);
    } finally {
      spareWriter = writer;
    }
    this.#ringPeer();
  }

  #sendOnPort(message: Message, what: string): void {
    try {
      this.#port.postMessage(message);
    } catch (error) {
      throw new DOMException(
        `cannot send ${what}: ${error instanceof Error ? error.message : String(error)}`,
        "DataCloneError",
      );
    }
    this.#write(ON_PORT, 1);
  }

  #write(units: Uint16Array, length: number): void {
    if (this.#outbox.length === 0 && this.#out.write(units, length)) return;
    this.#outbox.push(units.slice(0, length));
    this.#flush();
  }

  /**
   * Moves the backlog into the ring, as far as it has room. While a backlog
   * remains, the sender's FULL word asks the reader for room: a reader that
   * sees it publishes what it consumed and rings back (see `drain`).
   */
  #flush(): void {
    const outbox = this.#outbox;
    let sent = 0;
    while (sent < outbox.length && this.#out.write(outbox[sent], outbox[sent].length)) sent++;
    if (sent > 0) outbox.splice(0, sent);
    Atomics.store(this.#state, this.#isParent ? DOWN_FULL : UP_FULL, outbox.length > 0 ? 1 : 0);
    this.#ringPeer();
  }

  #ringPeer(): void {
    Atomics.add(this.#peerDoorbell, 0, 1);
    Atomics.notify(this.#peerDoorbell, 0);
  }

  #peerState(): number {
    return Atomics.load(this.#state, this.#isParent ? CHILD : PARENT);
  }

  drain(): void {
    // The state is read first: a worker writes its last words before it
    // marks itself dead, so they are in the ring by then.
    const peerState = this.#peerState();
    const ring = this.#in, data = ring.data;
    for (let at = ring.peek(); at >= 0; at = ring.peek()) {
      if (data[at] === ON_PORT[0]) {
        const message = this.#fromPort();
        ring.consume();
        this.#dispatch(message[0], message[1], message[2], message[3], message[4], message[5]);
        continue;
      }
      // Read field by field: the message array would be garbage at once.
      const fields = openArray(data, at);
      const kind = readNext() as number, id = readNext() as number | string;
      const special = readNext() as 0 | 1;
      const a = fields > 3 ? readNext() : undefined;
      const b = fields > 4 ? readNext() : undefined;
      const c = fields > 5 ? readNext() : undefined;
      ring.consume();
      this.#dispatch(kind, id, special, a, b, c);
    }
    const peerFull = this.#isParent ? UP_FULL : DOWN_FULL;
    if (Atomics.load(this.#state, peerFull) === 1) {
      ring.release();
      this.#ringPeer();
    } else {
      ring.releaseSome();
    }
    if (this.#outbox.length > 0) this.#flush();
    if (peerState >= DEAD && this.#gone === undefined) {
      this.peerGone(peerState === DEAD ? this.#crashed() : new LoopClosedError());
    }
  }

  #fromPort(): Message {
    const until = performance.now() + PORT_WAIT_MS;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      const received = receiveMessageOnPort(this.#port as never);
      if (received) return received.message as Message;
      if (performance.now() > until) {
        throw new Error("tandem: a message announced in the ring never arrived on the port");
      }
      Atomics.wait(nap, 0, 0, 0.05);
    }
  }

  /** Handles message `[kind, id, special, a, b, c]` (see the kinds above). */
  #dispatch(
    kind: number,
    id: number | string,
    specialFlag: 0 | 1,
    a: unknown,
    b: unknown,
    c: unknown,
  ): void {
    const special = specialFlag === 1;
    switch (kind) {
      case CALL:
        this.handler?.call(
          this,
          id as number,
          a as string,
          decode(b, special, this) as unknown[],
          c as number,
        );
        return;
      case RESULT: {
        const call = this.#pending.get(id as number);
        if (call === undefined) return; // cancelled or timed out meanwhile
        internals.settle(call.future, a as number, decode(b, special, this));
        return;
      }
      case CANCEL:
        this.handler?.cancel(id as number, decode(a, special, this));
        return;
      case SETTLE:
        settleMessage(id as string, a as number, decode(b, special, this), this);
        return;
      case CRASH:
        this.#crashCause = decode(a, special, this);
        return;
    }
  }

  #crashed(): WorkerCrashedError {
    const cause = this.#crashCause;
    const what = cause instanceof Error
      ? `${cause.name}: ${cause.message}`
      : cause === undefined
      ? ""
      : String(cause);
    return new WorkerCrashedError(
      what ? `the worker crashed: ${what}` : "the worker crashed",
      cause === undefined ? undefined : { cause },
    );
  }

  /** The peer is gone: every pending call fails with `error`. */
  peerGone(error: Error, cause?: unknown): void {
    if (this.#gone !== undefined) return;
    if (cause !== undefined && this.#crashCause === undefined) {
      this.#crashCause = cause;
      if (error instanceof WorkerCrashedError) error = this.#crashed();
    }
    this.#gone = error;
    for (const { future } of [...this.#pending.values()]) internals.settle(future, REJECTED, error);
    this.#pending.clear();
    this.onGone?.(error);
  }

  /** Parent side: tells the worker to stop and forgets the channel. */
  close(): void {
    Atomics.store(this.#state, PARENT, CLOSED);
    this.#ringPeer();
    this.peerGone(new LoopClosedError());
    this.#hub.channels.delete(this);
    this.#port.close();
  }

  /** Worker side: the parent closed the channel. */
  get parentClosed(): boolean {
    return Atomics.load(this.#state, PARENT) === CLOSED;
  }

  /** Worker side: the loop closed; let the parent know. */
  markClosed(): void {
    Atomics.store(this.#state, CHILD, CLOSED);
  }

  forget(id: number): void {
    this.#pending.delete(id);
  }
}

/** Ties a call's future to its channel: timeout, cancellation, liveness. */
class CallLink implements FutureLink {
  readonly deadline: number;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #signal: AbortSignal | undefined = undefined;
  #onAbort: (() => void) | undefined = undefined;

  constructor(
    readonly channel: Channel,
    readonly id: number,
    readonly future: Future<unknown>,
    readonly label: string,
    readonly timeoutMs: number,
    /** The hub's ticket before the call was sent (its reply rings after). */
    readonly ticket: number,
  ) {
    if (timeoutMs > 0 && timeoutMs < Infinity) {
      this.deadline = performance.now() + timeoutMs;
      this.#timer = setTimeout(() => this.expire(), timeoutMs);
    } else {
      this.deadline = Infinity;
    }
  }

  get blocker(): Hub {
    return this.channel.blocker;
  }

  /** Cancels the call when `signal` aborts. */
  follow(signal: AbortSignal): void {
    this.#signal = signal;
    this.#onAbort = () => this.future.cancel(signal.reason);
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  expire(): void {
    const error = new TimeoutError(`${this.label} timed out after ${this.timeoutMs} ms`);
    if (internals.settle(this.future, REJECTED, error)) this.channel.sendCancel(this.id, error);
  }

  settled(): void {
    this.channel.forget(this.id);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#signal) this.#signal.removeEventListener("abort", this.#onAbort!);
  }

  cancelled(error: Error): void {
    this.channel.sendCancel(this.id, error);
  }

  watched(): void {
    this.channel.blocker.arm(this.ticket);
  }

  stalled(): Error | undefined {
    return this.channel.stalled();
  }
}
