/**
 * Zero-copy moves: {@linkcode transfer} marks a value so that, when it
 * crosses to another thread, the buffers and ports it lists are moved
 * instead of copied.
 *
 * @module
 */

import { dataCloneError } from "../errors.ts";

/**
 * What {@linkcode transfer} lists: a `Transferable`, or a typed array's
 * `.buffer` as TypeScript types it (`ArrayBufferLike`; a `SharedArrayBuffer`
 * there fails the send, since shared memory is shared, never moved).
 */
export type Movable = Transferable | ArrayBufferLike;

/** Values marked by {@linkcode transfer}, with what they move. */
const marks = new WeakMap<object, readonly Movable[]>();

/**
 * Marks `value` so that when it crosses to another thread — as a call
 * argument, as what a background function returns, as the value that
 * settles a shared `Future`, or as a `ControlClient` call's argument or
 * answer — the `transferables` it holds (`ArrayBuffer`, `MessagePort`, ...)
 * are moved, not copied: the sender's buffer is detached afterwards, and the
 * receiver gets the bytes without a copy. Returns `value` itself.
 *
 * Everything listed must be part of `value` (a typed array's `.buffer`, a
 * port in one of its properties...), be transferable and be listed once;
 * else sending it fails with a `DataCloneError` that names the culprit (a
 * plain-data `value`, which holds nothing that can move, fails here). The
 * first send of the value spends the mark, whether it succeeds or not: mark
 * it again to move it again. Once moved, a buffer is detached: sending it
 * again fails, naming it. A call cancelled before its worker took it loses
 * what it moved with it (as a message posted to a closed port would).
 * `Queue.put` always copies (a queue's items live in its shared memory).
 *
 * Unmarked values are copied, as structured clone copies them (large
 * buffers at memory speed either way).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackgroundLoop, transfer } from "@tandem/tandem";
 * // An inline module, so that the example runs as it is (a file works the same).
 * await using loop = BackgroundLoop.start(
 *   "data:application/typescript,export const size = (bytes: Uint8Array) => bytes.byteLength;",
 * );
 * const image = new Uint8Array(1 << 20);
 * assert.equal(transfer(image, [image.buffer]), image); // the value itself, marked
 * assert.equal(await loop.call("size", image), 1 << 20); // the send moves the megabyte
 * assert.equal(image.buffer.detached, true); // it is the worker's now
 * ```
 */
export function transfer<T>(value: T, transferables: readonly Movable[]): T {
  if (transferables.length === 0) return value;
  if (typeof value !== "object" || value === null || holdsOnlyData(value, 0)) {
    throw dataCloneError(
      "transfer(): the value holds nothing that can be moved (plain data, or not an object); " +
        "mark the object that holds the buffers or ports listed",
    );
  }
  marks.set(value, [...transferables]);
  return value;
}

/**
 * What `value` was marked to move, taking the mark (the send it was made
 * for spends it); undefined when it is not marked.
 */
export function takeMark(value: object): readonly Movable[] | undefined {
  const listed = marks.get(value);
  if (listed !== undefined) marks.delete(value);
  return listed;
}

/**
 * True for a value of primitives, arrays and plain objects only: nothing in
 * it can be moved (and the binary records carry it without looking for marks).
 */
function holdsOnlyData(value: unknown, depth: number): boolean {
  if (typeof value !== "object" || value === null) return typeof value !== "function";
  if (depth > 64) return false; // (too deep to tell cheaply: let the send check)
  if (Array.isArray(value)) return value.every((item) => holdsOnlyData(item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.values(value).every((item) => holdsOnlyData(item, depth + 1));
}
