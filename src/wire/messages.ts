/**
 * What crosses a channel (see `channel.ts`), message by message, with its
 * fields named. Only the channel's frame writer and reader know how a
 * message is packed (a header of kind, id and one more number, at most one
 * lead value, and the value it carries); everything else speaks of these.
 *
 * Not messages: closing and liveness are each side's state, a mark in
 * shared memory beside the ring it writes (see `channel.ts`), so that a
 * blocked thread learns of them without reading; and a forwarded call (a
 * worker's call to a loop or control host an ancestor owns) is a
 * {@linkcode CallMessage} whose function name marks it (see
 * `loop/upstream.ts`).
 *
 * @module
 */

/** A call: run function `fn` with the arguments `value`. */
export const CALL = 0;
/** A call's end, sent back by the side that ran it. */
export const REPLY = 1;
/** The caller gave up on a call. */
export const CANCEL = 2;
/** A shared future settled on the sending side (see `future/shared.ts`). */
export const SETTLE = 3;
/** The worker's last words: why it dies. */
export const CRASH = 4;
/** From now on, number `number` names function `value` on this channel. */
export const NAME = 5;

/**
 * A call's timeout as it crosses: its length in ms, and when it passes (an
 * `epochNow()` time, see `channel.ts`), so that a call that waited in the
 * worker past it never starts.
 */
export type Timeout = [ms: number, deadline: number];

/** What every message carries. */
interface Carries {
  /** The value, as it crossed: decode it with `codec.ts`'s `decode` if `special`. */
  value: unknown;
  /** The value was encoded by `codec.ts`'s `encode` (it was not plain data). */
  special: boolean;
}

/** {@linkcode CALL}: the value is the arguments. */
export interface CallMessage extends Carries {
  kind: typeof CALL;
  /** The call's id, unique among the sender's calls in flight. */
  id: number;
  /** The function, by the number a {@linkcode NameMessage} gave its name. */
  fn: number;
  /** The call's timeout (0: none). */
  timeout: Timeout | 0;
}

/** {@linkcode REPLY}: the value is the result or the error. */
export interface ReplyMessage extends Carries {
  kind: typeof REPLY;
  /** The call's id. */
  id: number;
  /**
   * `FULFILLED` or `REJECTED` (see `future.ts`), or `CANCELLED`: the call
   * ended after its caller gave up (no value; it frees its worker in the
   * caller's eyes).
   */
  state: number;
}

/** {@linkcode CANCEL}: the value is the reason. */
export interface CancelMessage extends Carries {
  kind: typeof CANCEL;
  /** The call's id. */
  id: number;
}

/** {@linkcode SETTLE}: the value is the outcome's value. */
export interface SettleMessage extends Carries {
  kind: typeof SETTLE;
  /** The shared future's id. */
  future: string;
  /** `FULFILLED`, `REJECTED` or `CANCELLED` (see `future.ts`). */
  state: number;
}

/** {@linkcode CRASH}: the value is the worker's error. */
export interface CrashMessage extends Carries {
  kind: typeof CRASH;
  /** The worker could not load the module it serves. */
  loadFailed: boolean;
}

/** {@linkcode NAME}: the value is the function name. */
export interface NameMessage extends Carries {
  kind: typeof NAME;
  /** The number that stands for the name from now on. */
  number: number;
}

/** Any message. */
export type Message =
  | CallMessage
  | ReplyMessage
  | CancelMessage
  | SettleMessage
  | CrashMessage
  | NameMessage;
