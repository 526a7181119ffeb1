/**
 * `Queue<T>`: FIFO across threads, in shared memory.
 *
 * @module
 */

import { QueueClosedError } from "../errors.ts";
import { registerShareable } from "../wire/codec.ts";
import { isPlain } from "../wire/plain.ts";
import { Future } from "../future/future.ts";
import { adopt } from "../future/outcome.ts";
import { FIRST_WORD, SharedCore } from "./shared_primitive.ts";
import { platform } from "../platform/platform.ts";
import { isWholeAtLeast } from "../validate.ts";

const CLOSED = FIRST_WORD;
const COUNT = FIRST_WORD + 1;
const HEAD = FIRST_WORD + 2; // in units
const USED = FIRST_WORD + 3; // units
const CAPACITY = FIRST_WORD + 4; // items; -1: no limit
const UNITS = FIRST_WORD + 5; // size of the data area, in UTF-16 units
const WORDS = FIRST_WORD + 6;

/**
 * How an item is stored. A queue keeps its items at rest in a byte budget
 * the user sizes (`bytes`), so it stores them compactly, unlike the wire's
 * records (`wire/record.ts`), which are made for speed in transit: JSON-plain
 * data (`wire/plain.ts`) as UTF-8 JSON text, anything else as V8's
 * serialization (which keeps structured-clone semantics). A record takes 2
 * bytes per character and 6 for a small number, against 1 and 1 to 3 as
 * JSON text, so storing records would change how many items a queue of a
 * given size holds, and the sizes its RangeError reports.
 */
const JSON_ITEM = 0;
const V8_ITEM = 1;
const HEADER_UNITS = 3; // the item's length in bytes (2 units) + kind
/** Default size of a queue's data area: 4 MiB. */
const DEFAULT_BYTES = 4 << 20;

/** Options of a {@linkcode Queue}. */
export interface QueueOptions {
  /** At most this many items; `put` waits for room (default: no limit). */
  capacity?: number;
  /**
   * Size of the shared memory that holds the items (default 4 MiB): `put`
   * also waits while it is full, and an item larger than it is refused.
   */
  bytes?: number;
}

/** An item as the queue holds it: its bytes (UTF-8 JSON text, or V8's serialization). */
interface Encoded {
  kind: number;
  bytes: Uint8Array;
  /** In units: the bytes, padded to even. */
  length: number;
}

/**
 * A FIFO queue in shared memory: every copy (pass it to background calls)
 * is the same queue, and items keep structured-clone semantics. `put` and
 * `get` return futures (`await`, `wait(timeoutMs)`, `yield*`); `put` waits
 * for room in a bounded queue. After `close()`, consumers drain what is left
 * and then `get()` fails with `QueueClosedError`; `put()` fails at once. It
 * is async-iterable until closed and drained. Nothing is lost or duplicated
 * with many producers and consumers on many threads. A `get` or `put` that
 * waits on a queue whose every other holder has ended (its worker crashed,
 * or its loop was closed) fails with `WorkerCrashedError` or
 * `LoopClosedError`, rather than wait for ever.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Queue } from "@tandem/tandem";
 * const queue = new Queue<number>({ capacity: 10 });
 * queue.put(1);
 * queue.put(2);
 * queue.close();
 * const items: number[] = [];
 * for await (const item of queue) items.push(item);
 * assert.deepEqual(items, [1, 2]);
 * ```
 */
export class Queue<T> implements AsyncIterable<T> {
  readonly #core: SharedCore;
  readonly #words: Int32Array;
  readonly #data: Uint16Array;
  readonly #units: number;
  readonly #putters: { future: Future<void>; item: Encoded }[] = [];
  readonly #getters: Future<T>[] = [];

  /** A new, empty queue. */
  constructor(options: QueueOptions = {}) {
    const capacity = options.capacity ?? Infinity;
    if (!isWholeAtLeast(capacity, 1, true)) {
      throw new RangeError(`Queue: capacity must be a whole number >= 1, got ${capacity}`);
    }
    const bytes = options.bytes ?? DEFAULT_BYTES;
    if (!isWholeAtLeast(bytes, 64)) {
      throw new RangeError(`Queue: bytes must be a whole number >= 64, got ${bytes}`);
    }
    const units = bytes >> 1;
    this.#core = new SharedCore(
      this,
      "Queue",
      WORDS + Math.ceil(units / 2),
      () => this.#poll(),
      true,
    );
    const words = this.#words = this.#core.words;
    if (this.#core.fresh) {
      words[UNITS] = units;
      words[CAPACITY] = capacity === Infinity ? -1 : capacity;
    }
    this.#units = words[UNITS];
    this.#data = new Uint16Array(words.buffer, WORDS * 4, this.#units);
  }

  static {
    registerShareable("Queue", (buffer) => SharedCore.revive(buffer, () => new Queue()));
  }

  /** Items in the queue now. */
  get size(): number {
    return Atomics.load(this.#words, COUNT);
  }

  /** True once `close()` was called (items may be left to get). */
  get closed(): boolean {
    return Atomics.load(this.#words, CLOSED) === 1;
  }

  /**
   * Adds `value` at the end; the future settles once it is in the queue.
   * Fails with `QueueClosedError` when the queue is closed, and with a
   * `DataCloneError` or `RangeError` for a value that cannot be stored.
   */
  put(value: T): Future<void> {
    let item: Encoded;
    try {
      item = encodeItem(value);
    } catch (error) {
      return Future.reject(error);
    }
    if (HEADER_UNITS + item.length > this.#units) {
      return Future.reject(
        new RangeError(
          `Queue.put: the item needs ${
            2 * (HEADER_UNITS + item.length)
          } bytes, more than the queue's ${2 * this.#units}; give the queue more bytes`,
        ),
      );
    }
    if (this.#putters.length === 0) {
      const done = this.#tryPut(item);
      if (done !== undefined) {
        this.#poll(); // a getter of this thread may go on now
        return done;
      }
    }
    const future = this.#core.addWaiter<void>("Queue.put()");
    this.#putters.push({ future, item });
    future.onDone(() => removeWhere(this.#putters, (p) => p.future === future));
    this.#poll();
    return future;
  }

  /** Takes the first item; waits while the queue is empty and open. */
  get(): Future<T> {
    if (this.#getters.length === 0) {
      const done = this.#tryGet();
      if (done !== undefined) {
        this.#poll(); // a putter of this thread may go on now
        return done;
      }
    }
    const future = this.#core.addWaiter<T>("Queue.get()");
    this.#getters.push(future);
    future.onDone(() => removeWhere(this.#getters, (g) => g === future));
    this.#poll();
    return future;
  }

  /** Closes the queue: consumers may drain what is left; producers fail. */
  close(): void {
    this.#core.lock();
    const was = this.#words[CLOSED];
    this.#words[CLOSED] = 1;
    this.#core.unlock();
    if (was === 0) {
      this.#poll();
      this.#core.ringWaiters();
    }
  }

  /** Gets items until the queue is closed and drained. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      try {
        yield await this.get();
      } catch (error) {
        if (error instanceof QueueClosedError) return;
        throw error;
      }
    }
  }

  /** A settled future if the put could be done now (or can never be). */
  #tryPut(item: Encoded): Future<void> | undefined {
    const core = this.#core;
    const words = this.#words;
    core.lock();
    if (words[CLOSED] === 1) {
      core.unlock();
      return Future.reject(new QueueClosedError("Queue.put: the queue is closed"));
    }
    const need = HEADER_UNITS + item.length;
    const capacity = words[CAPACITY];
    if ((capacity >= 0 && words[COUNT] >= capacity) || words[USED] + need > this.#units) {
      core.unlock();
      return undefined;
    }
    this.#write(item, need);
    core.unlock();
    core.ringWaiters();
    return Future.resolve(undefined);
  }

  #tryGet(): Future<T> | undefined {
    const core = this.#core;
    const words = this.#words;
    core.lock();
    if (words[COUNT] === 0) {
      const closed = words[CLOSED] === 1;
      core.unlock();
      return closed
        ? Future.reject(new QueueClosedError("Queue.get: the queue is closed and empty"))
        : undefined;
    }
    const value = this.#read();
    core.unlock();
    core.ringWaiters();
    return Future.resolve(value);
  }

  #write(item: Encoded, need: number): void {
    const words = this.#words;
    const data = this.#data;
    const units = this.#units;
    let at = (words[HEAD] + words[USED]) % units;
    const byteLength = item.bytes.length;
    for (const unit of [byteLength >>> 16, byteLength & 0xffff, item.kind]) {
      data[at] = unit;
      at = at + 1 === units ? 0 : at + 1;
    }
    // The bytes at memory speed, in at most two runs (the area wraps).
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const first = Math.min(byteLength, (units - at) * 2);
    bytes.set(item.bytes.subarray(0, first), at * 2);
    if (first < byteLength) bytes.set(item.bytes.subarray(first), 0);
    words[USED] += need;
    words[COUNT]++;
  }

  #read(): T {
    const words = this.#words;
    const data = this.#data;
    const units = this.#units;
    let at = words[HEAD];
    const take = () => {
      const unit = data[at];
      at = at + 1 === units ? 0 : at + 1;
      return unit;
    };
    const byteLength = ((take() << 16) | take()) >>> 0;
    const kind = take();
    const start = at;
    const length = (byteLength + 1) >> 1;
    // Copied out at memory speed (in at most two runs) before the lock is let go.
    const area = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const bytes = new Uint8Array(byteLength);
    const first = Math.min(byteLength, (units - start) * 2);
    bytes.set(area.subarray(start * 2, start * 2 + first));
    if (first < byteLength) bytes.set(area.subarray(0, byteLength - first), first);
    const value = kind === JSON_ITEM
      ? JSON.parse(textDecoder.decode(bytes))
      : platform.deserialize(bytes);
    words[HEAD] = (start + length) % units;
    words[USED] -= HEADER_UNITS + length;
    words[COUNT]--;
    return value as T;
  }

  #poll(): void {
    while (this.#putters.length > 0) {
      const { future, item } = this.#putters[0];
      const done = this.#tryPut(item);
      if (done === undefined) break;
      adopt(future as Future<unknown>, done as Future<unknown>);
    }
    while (this.#getters.length > 0) {
      const future = this.#getters[0];
      const done = this.#tryGet();
      if (done === undefined) break;
      adopt(future as Future<unknown>, done as Future<unknown>);
    }
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function encodeItem(value: unknown): Encoded {
  // (JSON.stringify escapes lone surrogates, so its text survives UTF-8.)
  const kind = isPlain(value) ? JSON_ITEM : V8_ITEM;
  const bytes = kind === JSON_ITEM
    ? textEncoder.encode(JSON.stringify(value))
    : platform.serialize(value);
  return { kind, bytes, length: (bytes.length + 1) >> 1 };
}

function removeWhere<X>(list: X[], match: (x: X) => boolean): void {
  const at = list.findIndex(match);
  if (at >= 0) list.splice(at, 1);
}
