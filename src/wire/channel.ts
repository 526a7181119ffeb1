/**
 * A channel joins two threads: the parent that started a worker and the
 * worker. Messages go as binary records (`record.ts`) through a
 * shared-memory ring (one per direction); a message that holds more than
 * plain data goes through a MessagePort instead, and a one-unit record in the
 * ring says where, so that order is kept and the receiver can take it
 * synchronously with `receiveMessageOnPort`, even while its thread blocks.
 * After writing, the sender rings the receiver's doorbell (see `hub.ts`).
 *
 * The messages are declared, with their fields named, in `messages.ts`; only
 * the frame writer (`#post` and `frame`) and reader (`readFrame` and
 * `unpack`) here know how they are packed: a fixed header (kind, id, and one
 * more number) and at most two values. The header is read and written as
 * plain units, and a function is named by a number once the channel has
 * carried its name (a `NAME` message), so that a tiny call costs little more
 * than its arguments.
 *
 * Liveness is in shared memory too: the worker marks itself dead before it
 * goes (see `worker_host.ts`), so a parent blocked in `wait()` learns of it
 * at once and fails every pending call with `WorkerCrashedError`.
 *
 * @module
 */

import { LoopClosedError, TimeoutError, WorkerCrashedError } from "../errors.ts";
import { dataCloneError, decode, encode } from "./codec.ts";
import {
  CANCELLED,
  FULFILLED,
  Future,
  type FutureLink,
  internals,
  REJECTED,
  type WaitPolicy,
} from "../future/future.ts";
import { type Route, routeGone, settleMessage } from "../future/shared.ts";
import type { Bell } from "../thread/threads.ts";
import type { Hub, Pumped } from "../thread/hub.ts";
import { openValues, readNext, RecordWriter } from "./record.ts";
import { IdTable } from "../thread/id_table.ts";
import { createRing, Ring, type RingBuffer } from "./ring.ts";
import { platform } from "../platform/platform.ts";
import {
  CALL,
  type CallMessage,
  CANCEL,
  type CancelMessage,
  CRASH,
  type CrashMessage,
  type Message,
  NAME,
  type NameMessage,
  REPLY,
  type ReplyMessage,
  SETTLE,
  type SettleMessage,
  type Timeout,
} from "./messages.ts";

export type { Timeout } from "./messages.ts";

/**
 * How a message (see `messages.ts`) is packed: `head` (its kind, and
 * `SPECIAL` when its value is encoded, see `codec.ts`), `id`, `x`, a `lead`
 * (CALL and SETTLE only) and a `value`. Only `#post`, `frame`, `readFrame`
 * and `unpack` know this:
 *
 * - CALL: id: the call; x: the function's name number; lead: its Timeout (0: none); value: args
 * - REPLY: id: the call; x: its state; value: the outcome
 * - CANCEL: id: the call; value: the reason
 * - SETTLE: x: the state; lead: the shared future's id; value: the outcome
 * - CRASH: x: LOAD_FAILED or 0; value: the worker's error
 * - NAME: id: the name's number; value: the function name
 */
const KIND = 0xf;
/** A CRASH's `x`: the worker could not load the module it serves. */
const LOAD_FAILED = 1;
const SPECIAL = 0x10;
/** The header's units: head, id (two units), x (two units). */
const HEADER = 5;
/** A message as it goes through the port: `[head, id, x, lead, value]`. */
type PortMessage = [number, number, number, unknown, unknown];

/** The record that says "the next message is on the port" (no head is so). */
const ON_PORT = new Uint16Array([0xfffe]);
let spareWriter: RecordWriter | undefined;
/**
 * How many function names a channel keeps numbers for; past that, numbers
 * are reused, oldest first (forwarded calls to control hosts name many).
 */
const NAME_NUMBERS = 1024;

/**
 * Each side's mark on the ring it writes (see `ring.ts`): its state, and
 * FULL while it waits for room. The parent's state is 0 (open) or CLOSED;
 * the worker's is STARTING, READY, DEAD, or CLOSED once it stopped after
 * its parent closed the channel (its calls cancelled, their signals fired).
 */
const STATE = 3;
const STARTING = 0, READY = 1, DEAD = 2, CLOSED = 3;
const FULL = 4;

/** Everything the worker needs to open its end; crosses in the first message. */
export interface ChannelEnds {
  down: RingBuffer;
  up: RingBuffer;
  parentBell: Bell;
  port: MessagePort;
}

/** How long a blocked parent waits for a worker to start before giving up. */
export const START_TIMEOUT_MS = 20_000;
const PORT_WAIT_MS = 1_000;

/** What serves calls on the worker side. */
export interface CallHandler {
  /** `timeout`: the call's, if it has one (0: none). */
  call(channel: Channel, id: number, fn: string, args: unknown[], timeout: Timeout | 0): void;
  cancel(id: number, reason: unknown): void;
}

/** One side of a channel. */
export class Channel implements Pumped, Route {
  readonly #hub: Hub;
  readonly #out: Ring;
  readonly #in: Ring;
  readonly #port: MessagePort;
  /** The peer's mark, as the last look at its ring found it. */
  #peerMark = 0;
  readonly #peerDoorbell: Int32Array;
  readonly #outbox: Uint16Array[] = [];
  readonly #pending = new IdTable<CallLink>();
  #nextId = 1;
  /** The numbers of the function names this side sent (oldest first). */
  readonly #nameNumbers = new Map<string, number>();
  /** The names the peer sent, by number. */
  readonly #names: string[] = [];
  /**
   * Calls sent whose end the peer has not reported yet: it reports every
   * call's end, answered or not (a call whose caller gave up still occupies
   * the worker until it ends), so pools route by this, not by `#pending`.
   */
  #busy = 0;
  /** `markStopped()` waits for the backlog to be written first. */
  #stopWhenFlushed = false;
  /** Set by `close()` until the peer stopped: it is then called, once. */
  #closing: (() => void) | undefined = undefined;
  #gone: Error | undefined = undefined;
  /** `onGone` was called (it is called once). */
  #toldGone = false;
  #crashCause: unknown = undefined;
  /** The worker said it could not load the module it serves. */
  #crashLoadFailed = false;
  readonly #startTimeoutMs: number;
  /** This is the side of the thread that started the worker. */
  readonly #parentSide: boolean;
  readonly #startDeadline: number;
  #started: boolean;
  /** The thread on the other side, by its id in the thread directory (0: not known). */
  peer = 0;
  /** Serves incoming calls (the worker side sets it). */
  handler: CallHandler | undefined = undefined;
  /**
   * Called once: on the parent's side when its worker is gone (it died, or
   * stopped after `close()`); on the worker's, when the parent closes.
   */
  onGone: (() => void) | undefined = undefined;

  /** The parent's side of a new channel, and the ends to send to the worker. */
  static open(
    hub: Hub,
    port: MessagePort,
    peerPort: MessagePort,
    workerBell: Bell,
    startTimeoutMs = START_TIMEOUT_MS,
  ): {
    channel: Channel;
    ends: ChannelEnds;
  } {
    const ends: ChannelEnds = {
      down: createRing(),
      up: createRing(),
      parentBell: hub.bell,
      port: peerPort,
    };
    return { channel: new Channel(hub, ends, port, workerBell, startTimeoutMs), ends };
  }

  /** The worker's side, from the ends the parent sent. */
  static accept(hub: Hub, ends: ChannelEnds): Channel {
    return new Channel(hub, ends, ends.port, ends.parentBell, undefined);
  }

  private constructor(
    hub: Hub,
    ends: ChannelEnds,
    port: MessagePort,
    peerBell: Bell,
    /** Given on the parent's side only. */
    startTimeoutMs: number | undefined,
  ) {
    const isParent = startTimeoutMs !== undefined;
    this.#hub = hub;
    this.#parentSide = isParent;
    this.#started = !isParent;
    this.#startTimeoutMs = startTimeoutMs ?? 0;
    this.#out = new Ring(isParent ? ends.down : ends.up);
    this.#in = new Ring(isParent ? ends.up : ends.down);
    this.#port = port;
    this.#peerDoorbell = new Int32Array(peerBell.buffer, peerBell.offset, 1);
    this.#startDeadline = performance.now() + this.#startTimeoutMs;
    hub.channels.add(this);
  }

  get blocker(): Hub {
    return this.#hub;
  }

  /**
   * What this side still waits for: calls the peer is busy with (see
   * `#busy`), a close not yet acknowledged, room for a backlog to send.
   */
  get waiting(): number {
    return this.#busy + (this.#closing === undefined ? 0 : 1) + (this.#outbox.length > 0 ? 1 : 0);
  }

  /**
   * When a blocking wait stops waiting for the worker to start (Infinity
   * once it has): it then asks `stalled()`, which gives up on it.
   */
  get startDeadline(): number {
    if (this.#started || (this.#started = this.#peerState() !== STARTING)) return Infinity;
    return this.#startDeadline;
  }

  /** The peer can still answer. */
  get alive(): boolean {
    return this.#gone === undefined && this.#peerReads(this.#peerState());
  }

  /**
   * The peer, whose state is `peer`, still reads what this side sends. A
   * parent that closes the channel still does, until its worker stopped.
   */
  #peerReads(peer: number): boolean {
    return peer < DEAD || (peer === CLOSED && !this.#parentSide);
  }

  /** The peer is gone because it crashed (not because it was closed). */
  get crashed(): boolean {
    return this.#gone instanceof WorkerCrashedError;
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
    const startDeadline = this.startDeadline;
    if (startDeadline === Infinity || performance.now() < startDeadline) return undefined;
    this.peerGone(
      new WorkerCrashedError(
        `the worker did not start within ${this.#startTimeoutMs / 1000} s. A module it must ` +
          "download while this thread blocks cannot load (the download needs this thread's " +
          "event loop): import the served module in this program (a type-only import does not " +
          "count), or await the first call instead of blocking on it",
      ),
    );
    return this.#gone;
  }

  // ---- the worker's side of liveness ----

  /** The worker says it is serving. */
  markReady(): void {
    if ((this.#out.mark & STATE) !== STARTING) return; // (it stopped or died meanwhile)
    this.#setState(READY);
    this.#ringPeer();
  }

  /**
   * The worker says it is dying, and why (best effort: the cause may not
   * encode); `loadFailed`: it could not load the module it serves.
   */
  markDead(cause: unknown, loadFailed = false): void {
    if ((this.#out.mark & STATE) >= DEAD) return;
    try {
      this.#post(CRASH, 0, loadFailed ? LOAD_FAILED : 0, undefined, cause, "");
    } catch { /* the mark below is what counts */ }
    this.#setState(DEAD);
    this.#ringPeer();
  }

  /**
   * The worker says it stopped after its parent closed the channel: from
   * now on it sends nothing, and its calls to the parent fail.
   */
  markStopped(): void {
    if ((this.#out.mark & STATE) >= DEAD) return;
    // The parent stops reading at the mark: what waits to enter the ring
    // goes first (the mark is set when `#flush` empties it).
    if (this.#outbox.length > 0) {
      this.#stopWhenFlushed = true;
      return;
    }
    this.#setState(CLOSED);
    this.#ringPeer();
    this.peerGone(new LoopClosedError("the loop this thread belongs to was closed"));
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
    const id = this.#nextId;
    this.#nextId = (id + 1) >>> 0 || 1; // ids cross as 32 bits
    const ticket = this.#hub.ticket();
    try {
      const timeout: Timeout | 0 = timeoutMs > 0 && timeoutMs < Infinity
        ? [timeoutMs, epochNow() + timeoutMs]
        : 0;
      this.#post(CALL, id, this.#nameNumber(fn), timeout, args, label);
    } catch (error) {
      return Future.reject(error);
    }
    const future = new Future<unknown>();
    const link = new CallLink(this, id, future, label, timeoutMs, ticket);
    internals.setLink(future, link);
    internals.markRunning(future);
    this.#pending.set(id, link);
    this.#busy++;
    if (signal) link.follow(signal);
    // One call at a time is usually blocked on, and its link arms the hub
    // when it is awaited instead; several are listened for at once, so that
    // replies nobody asked for yet do not pile up.
    if (this.#busy > 1) this.#hub.arm(ticket);
    return future;
  }

  /**
   * The outcome of call `id`, from the worker side. (An `Outcome` taken
   * apart, `ok` and the value or error: every call replies, so no object.)
   */
  reply(id: number, ok: boolean, value: unknown, label: string): void {
    if (!this.#replying()) return;
    try {
      this.#post(REPLY, id, ok ? FULFILLED : REJECTED, undefined, value, label);
    } catch (error) {
      this.#post(REPLY, id, REJECTED, undefined, error, label);
    }
  }

  /** Call `id`, which its caller gave up on, ended (it frees its worker in the caller's eyes). */
  replyEnded(id: number): void {
    if (!this.#replying()) return;
    this.#post(REPLY, id, CANCELLED, undefined, undefined, "");
  }

  /** Every call still pending (for close and cancellation). */
  pendingFutures(): Future<unknown>[] {
    return this.#pending.values().map((link) => link.future);
  }

  sendCancel(id: number, reason: unknown): void {
    if (!this.alive) return;
    // The peer reports when the call ended: listen for it (see `#busy`).
    const ticket = this.#hub.ticket();
    try {
      this.#post(CANCEL, id, 0, undefined, reason, "");
    } catch {
      this.#post(CANCEL, id, 0, undefined, undefined, "");
    }
    this.#hub.arm(ticket);
  }

  /**
   * Replies are still read: the peer reads, and this side has not marked
   * itself dead or stopped (after that its calls fail as crashed or closed).
   */
  #replying(): boolean {
    return (this.#out.mark & STATE) < DEAD && this.#peerReads(this.#peerMark & STATE);
  }

  sendSettle(id: string, state: number, value: unknown): void {
    this.#post(SETTLE, 0, state, id, value, "");
  }

  /** The number that names `fn` on this channel (its name is sent the first time). */
  #nameNumber(fn: string): number {
    let number = this.#nameNumbers.get(fn);
    if (number !== undefined) return number;
    number = this.#nameNumbers.size;
    if (number >= NAME_NUMBERS) {
      // Reuse the oldest number: the peer reads the NAME before later calls.
      const [oldest, reused] = this.#nameNumbers.entries().next().value!;
      this.#nameNumbers.delete(oldest);
      number = reused;
    }
    this.#nameNumbers.set(fn, number);
    this.#post(NAME, number, 0, undefined, fn, "");
    return number;
  }

  // ---- the wire ----

  /**
   * Sends a message, packed (see `KIND` above: the callers pass each kind's
   * fields in their slots; `label` names the call in errors). Plain data goes as a binary record through the ring; anything else is
   * encoded (see `codec.ts`) and, if still not plain, goes through the port,
   * announced by a record in the ring so that order is kept.
   */
  #post(kind: number, id: number, x: number, lead: unknown, value: unknown, label: string): void {
    // A getter run by the writer may send too: it then gets a writer of its own.
    const writer = spareWriter ?? new RecordWriter();
    spareWriter = undefined;
    let head = kind;
    try {
      let plain = frame(writer, head, id, x, lead, value);
      let moves: Transferable[] = [];
      if (!plain) {
        const encoded = encode(value, this, describe(kind, x, label));
        value = encoded.data;
        moves = encoded.transfer;
        if (encoded.special) head |= SPECIAL;
        plain = moves.length === 0 && frame(writer, head, id, x, lead, value);
      }
      if (!plain) this.#sendOnPort([head, id, x, lead, value], describe(kind, x, label), moves);
      else if (writer.length <= this.#out.maxRecord) this.#write(writer.units, writer.length);
      else {
        // Too long for the ring: the record itself moves through the port
        // (structured clone would rebuild the value at ~75 ns an element).
        const record = (writer.units.buffer as ArrayBuffer).transfer(writer.length * 2);
        writer.units = new Uint16Array(256);
        this.#sendOnPort(record, "", [record]);
      }
    } finally {
      spareWriter = writer;
    }
    this.#ringPeer();
  }

  #sendOnPort(message: PortMessage | ArrayBuffer, what: string, moves: Transferable[]): void {
    try {
      this.#port.postMessage(message, moves);
    } catch (error) {
      throw dataCloneError(
        `cannot send ${what}: ${error instanceof Error ? error.message : String(error)}`,
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
   * remains, the sender's FULL mark asks the reader for room: a reader that
   * sees it publishes what it consumed and rings back (see `drain`).
   */
  #flush(): void {
    const outbox = this.#outbox;
    let sent = 0;
    while (sent < outbox.length && this.#out.write(outbox[sent], outbox[sent].length)) sent++;
    if (sent > 0) outbox.splice(0, sent);
    const mark = this.#out.mark, full = outbox.length > 0 ? FULL : 0;
    if ((mark & FULL) !== full) this.#out.setMark((mark & STATE) | full);
    this.#ringPeer();
    if (full === 0 && this.#stopWhenFlushed) {
      this.#stopWhenFlushed = false;
      this.markStopped();
    }
  }

  #ringPeer(): void {
    Atomics.add(this.#peerDoorbell, 0, 1);
    Atomics.notify(this.#peerDoorbell, 0);
  }

  #peerState(): number {
    return (this.#peerMark = this.#in.refresh()) & STATE;
  }

  #setState(state: number): void {
    this.#out.setMark((this.#out.mark & FULL) | state);
  }

  drain(): void {
    // One load finds the records and the peer's state: a worker writes its
    // last words before it marks itself dead, so they are found with it.
    const ring = this.#in, data = ring.data;
    const mark = this.#peerMark = ring.refresh();
    readDepth++; // (the messages read are reused: see `readSets`)
    try {
      for (let at = ring.peek(); at >= 0; at = ring.peek()) {
        let message: Message;
        try {
          if (data[at] === ON_PORT[0]) {
            const sent = this.#fromPort();
            message = sent instanceof ArrayBuffer
              ? readFrame(new Uint16Array(sent), 0)
              : unpack(sent[0], sent[1], sent[2], sent[3], sent[4]);
          } else message = readFrame(data, at);
        } catch (error) {
          // A record this side cannot read (a corrupt one): nothing after it
          // can be trusted, so the channel ends, naming it, instead of
          // failing every later drain on the same record.
          ring.consume();
          this.peerGone(
            new WorkerCrashedError(`the other thread sent a message this one cannot read`),
            error,
          );
          return;
        }
        ring.consume();
        this.#dispatch(message);
        message.value = undefined; // (the reused message must not keep a value alive)
      }
    } finally {
      readDepth--;
    }
    if ((mark & FULL) !== 0) {
      ring.release();
      this.#ringPeer();
    } else {
      ring.releaseSome();
    }
    if (this.#outbox.length > 0) this.#flush();
    const peerState = mark & STATE;
    if (this.#peerReads(peerState)) {
      if (peerState === CLOSED) this.#tellGone(); // the parent closes: the worker stops
    } else {
      if (this.#gone === undefined) {
        this.peerGone(peerState === DEAD ? this.#crashed() : new LoopClosedError());
      }
      if (this.#closing !== undefined) this.#stopped();
    }
  }

  #fromPort(): PortMessage | ArrayBuffer {
    const until = performance.now() + PORT_WAIT_MS;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      const received = platform.receiveMessageOnPort(this.#port);
      if (received) return received.message as PortMessage | ArrayBuffer;
      if (performance.now() > until) {
        throw new Error("tandem: a message announced in the ring never arrived on the port");
      }
      Atomics.wait(nap, 0, 0, 0.05);
    }
  }

  /** Handles a message. */
  #dispatch(message: Message): void {
    // A value this side cannot rebuild (its stack is too deep for it, say)
    // fails what it belonged to, not the thread that receives it.
    let value: unknown;
    try {
      value = decode(message.value, message.special, this);
    } catch (error) {
      this.#undecodable(message, error);
      return;
    }
    switch (message.kind) {
      case CALL:
        this.handler?.call(
          this,
          message.id,
          this.#names[message.fn],
          value as unknown[],
          message.timeout,
        );
        return;
      case REPLY:
        this.#replied(message.id, message.state, value);
        return;
      case CANCEL:
        this.handler?.cancel(message.id, value);
        return;
      case SETTLE:
        settleMessage(message.future, message.state, value, this);
        return;
      case CRASH:
        this.#crashCause = value;
        this.#crashLoadFailed = message.loadFailed;
        return;
      case NAME:
        this.#names[message.number] = value as string;
        return;
    }
  }

  /** Call `id` ended in `state` with `value`. */
  #replied(id: number, state: number, value: unknown): void {
    if (this.#busy > 0) this.#busy--; // (none once the peer is gone: see peerGone)
    const call = this.#pending.get(id);
    if (call === undefined) return; // its caller gave up meanwhile
    if (state !== CANCELLED) internals.settle(call.future, state, value);
  }

  #undecodable(message: Message, error: unknown): void {
    const kind = message.kind;
    const failure = dataCloneError(
      `cannot receive ${
        describe(
          kind,
          kind === REPLY ? message.state : 0,
          kind === CALL ? `${this.#names[message.fn]}()` : "a call",
        )
      }: ${error instanceof Error ? error.message : String(error)}`,
    );
    switch (kind) {
      case CALL:
        this.reply(message.id, false, failure, "a call");
        return;
      case REPLY:
        this.#replied(message.id, REJECTED, failure);
        return;
      case CANCEL:
        this.handler?.cancel(message.id, failure);
        return;
      case SETTLE:
        settleMessage(message.future, REJECTED, failure, this);
        return;
      case CRASH:
        this.#crashCause = failure;
        this.#crashLoadFailed = message.loadFailed;
    }
  }

  #crashed(): WorkerCrashedError {
    const cause = this.#crashCause;
    const what = plainText(
      cause instanceof Error
        ? `${cause.name}: ${cause.message}`
        : cause === undefined
        ? ""
        : String(cause),
    );
    const happened = this.#crashLoadFailed
      ? "the worker could not load its module"
      : "the worker crashed";
    return new WorkerCrashedError(
      what ? `${happened}: ${what}` : happened,
      cause === undefined ? undefined : { cause },
    );
  }

  /**
   * The peer is gone (or going): every pending call fails with `error`, and
   * the shared futures that only it could still settle fail too.
   */
  peerGone(error: Error, cause?: unknown): void {
    if (this.#gone !== undefined) return;
    if (cause !== undefined && this.#crashCause === undefined) {
      this.#crashCause = cause;
      if (error instanceof WorkerCrashedError) error = this.#crashed();
    }
    this.#gone = error;
    this.#busy = 0;
    this.#outbox.length = 0; // nobody reads it any more
    this.#stopWhenFlushed = false;
    for (const { future } of this.#pending.values()) internals.settle(future, REJECTED, error);
    routeGone(this);
    if (this.#closing === undefined) this.#tellGone();
  }

  #tellGone(): void {
    if (this.#toldGone) return;
    this.#toldGone = true;
    this.onGone?.();
  }

  /**
   * Parent side: tells the worker to stop. The worker cancels what it still
   * runs (their signals fire), lets its async calls settle, and says it
   * stopped; `stopped` is called then (or if it died), once, and the
   * channel is forgotten. Until then it is drained as usual, so that what
   * the worker still sends (a shared future's outcome, say) arrives.
   */
  close(stopped: () => void): void {
    const ticket = this.#hub.ticket();
    this.#closing = stopped;
    this.#setState(CLOSED);
    this.#ringPeer();
    if (this.#gone !== undefined || this.#peerState() >= DEAD) this.#stopped();
    else this.#hub.arm(ticket);
  }

  /** The worker stopped after `close()`, or will not be waited for any longer. */
  #stopped(): void {
    const stopped = this.#closing;
    if (stopped === undefined) return;
    this.#closing = undefined;
    this.#hub.channels.delete(this);
    this.#port.close();
    this.peerGone(new LoopClosedError());
    this.#tellGone();
    stopped();
  }

  /**
   * Gives up on the peer (it is being terminated): what it sent so far is
   * handled, then the channel is forgotten as after a close.
   */
  forsake(): void {
    if (!this.#hub.channels.has(this)) return; // forgotten already
    this.drain();
    this.#closing ??= () => {};
    this.#stopped();
  }

  forget(id: number): void {
    this.#pending.delete(id);
  }
}

/**
 * Now, on the clock all threads read alike: a call's deadline crosses as
 * such a time. (Not `performance.timeOrigin + performance.now()`: each
 * thread fixes its origin when it starts, so after the wall clock stepped,
 * or the machine slept, a new worker's would differ.)
 */
export function epochNow(): number {
  return Date.now();
}

/** `text` without terminal colour codes (Deno's loader colours some of its messages). */
export function plainText(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** Writes a message's record; false when its value is not plain data. */
function frame(
  writer: RecordWriter,
  head: number,
  id: number,
  x: number,
  lead: unknown,
  value: unknown,
): boolean {
  const units = writer.begin(HEADER);
  units[0] = head;
  units[1] = id & 0xffff;
  units[2] = id >>> 16;
  units[3] = x & 0xffff;
  units[4] = x >>> 16;
  const kind = head & KIND;
  return (kind !== CALL && kind !== SETTLE || writer.append(lead)) && writer.append(value);
}

/**
 * The messages read, reused (a read makes no object): one set per nesting
 * of `drain`, so that a message stays as it was read while it is handled,
 * even if handling it (a served call that blocks, say) drains again. Each
 * set's messages share one shape, so that handling them stays monomorphic.
 */
const readSets: ReturnType<typeof messageSet>[] = [];
let readDepth = 0;

function messageSet() {
  const blank = (kind: number) => ({
    kind,
    id: 0,
    fn: 0,
    timeout: 0 as Timeout | 0,
    state: 0,
    future: "",
    loadFailed: false,
    number: 0,
    value: undefined as unknown,
    special: false,
  });
  return {
    call: blank(CALL) as CallMessage,
    reply: blank(REPLY) as ReplyMessage,
    cancel: blank(CANCEL) as CancelMessage,
    settle: blank(SETTLE) as SettleMessage,
    crash: blank(CRASH) as CrashMessage,
    name: blank(NAME) as NameMessage,
  };
}

/** Reads the record at `data[at]`. */
function readFrame(data: Uint16Array, at: number): Message {
  const head = data[at];
  const id = (data[at + 1] | (data[at + 2] << 16)) >>> 0;
  const x = (data[at + 3] | (data[at + 4] << 16)) >>> 0;
  openValues(data, at + HEADER);
  const kind = head & KIND;
  const lead = kind === CALL || kind === SETTLE ? readNext() : undefined;
  return unpack(head, id, x, lead, readNext());
}

/** The message packed as these parts (in one of `readSets`, valid until the next read at its depth). */
function unpack(head: number, id: number, x: number, lead: unknown, value: unknown): Message {
  const set = readSets[readDepth] ??= messageSet();
  let message: Message;
  switch (head & KIND) {
    case CALL: {
      const call = message = set.call;
      call.id = id;
      call.fn = x;
      call.timeout = lead as Timeout | 0;
      break;
    }
    case REPLY: {
      const reply = message = set.reply;
      reply.id = id;
      reply.state = x;
      break;
    }
    case CANCEL:
      (message = set.cancel).id = id;
      break;
    case SETTLE: {
      const settle = message = set.settle;
      settle.future = lead as string;
      settle.state = x;
      break;
    }
    case CRASH:
      (message = set.crash).loadFailed = x === LOAD_FAILED;
      break;
    case NAME:
      (message = set.name).number = id;
      break;
    default:
      throw new Error(`tandem: corrupt message (head ${head})`);
  }
  message.value = value;
  message.special = (head & SPECIAL) !== 0;
  return message;
}

/** What a message's value is, for errors (made only when one is needed). */
function describe(kind: number, state: number, label: string): string {
  switch (kind) {
    case CALL:
      return `${label} arguments`;
    case REPLY:
      return state === FULFILLED ? `the result of ${label}` : `the error of ${label}`;
    case CANCEL:
      return "the cancellation reason";
    case SETTLE:
      return "the outcome of a shared future";
    case CRASH:
      return "the worker's error";
    default:
      return "a function name";
  }
}

/** Ties a call's future to its channel: timeout, cancellation, liveness. */
class CallLink implements FutureLink, WaitPolicy {
  readonly #deadline: number;
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
      this.#deadline = performance.now() + timeoutMs;
      this.#timer = setTimeout(() => this.#timeOut(), timeoutMs);
    } else {
      this.#deadline = Infinity;
    }
  }

  /** The call's deadline, or the worker's start deadline if that comes first. */
  get deadline(): number {
    return Math.min(this.#deadline, this.channel.startDeadline);
  }

  get blocker(): Hub {
    return this.channel.blocker;
  }

  /** Its own waiting policy (no second object per call). */
  get waiting(): WaitPolicy {
    return this;
  }

  /** Cancels the call when `signal` aborts. */
  follow(signal: AbortSignal): void {
    this.#signal = signal;
    this.#onAbort = () => this.future.cancel(signal.reason);
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Called by `wait()` at `deadline`; at the start deadline, `stalled()` tells instead. */
  expire(): void {
    if (performance.now() >= this.#deadline) this.#timeOut();
  }

  #timeOut(): void {
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
