/**
 * A single-producer, single-consumer ring of string records in shared memory.
 *
 * Strings are stored as UTF-16 code units: writing them is a plain loop and
 * reading them is `String.fromCharCode`, several times cheaper than
 * `TextEncoder`/`TextDecoder` on shared memory (FACTS.md). Head and tail are
 * free-running 32-bit counters, so their difference is the fill level even
 * after they wrap.
 *
 * @module
 */

const HEAD = 0; // units written (producer)
const TAIL = 1; // units consumed (consumer)
const HEADER_BYTES = 16;
const SKIP = 0xffff; // a record length of SKIP,SKIP means "go back to the start"
const CHUNK = 8192; // fromCharCode.apply argument batch

/** The shared memory of one ring; send it to the other side with postMessage. */
export type RingBuffer = SharedArrayBuffer;

/** Allocates a ring holding up to `units` UTF-16 code units (a power of two). */
export function createRing(units = 1 << 17): RingBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + units * 2);
}

/** One side's view of a ring. */
export class Ring {
  readonly #header: Int32Array;
  readonly #data: Uint16Array;
  readonly #mask: number;
  /** Records longer than this never go through the ring. */
  readonly maxRecord: number;

  constructor(buffer: RingBuffer) {
    this.#header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#data = new Uint16Array(buffer, HEADER_BYTES);
    this.#mask = this.#data.length - 1;
    this.maxRecord = this.#data.length >> 3;
  }

  /** Appends `text`; false when it is too long or the ring lacks room. */
  write(text: string): boolean {
    const length = text.length;
    if (length > this.maxRecord) return false;
    const header = this.#header, data = this.#data, capacity = data.length;
    const head = Atomics.load(header, HEAD);
    const used = (head - Atomics.load(header, TAIL)) >>> 0;
    const size = (length + 3) & ~1; // two length units, text, padded to even
    let at = head & this.#mask;
    const toEnd = capacity - at;
    const skip = toEnd < size ? toEnd : 0;
    if (used + skip + size > capacity) return false;
    if (skip) {
      data[at] = SKIP;
      data[at + 1] = SKIP;
      at = 0;
    }
    data[at] = length & 0xffff;
    data[at + 1] = length >>> 16;
    at += 2;
    for (let i = 0; i < length; i++) data[at + i] = text.charCodeAt(i);
    Atomics.store(header, HEAD, (head + skip + size) | 0);
    return true;
  }

  /** Takes the oldest record, or undefined when the ring is empty. */
  read(): string | undefined {
    const header = this.#header, data = this.#data;
    let tail = Atomics.load(header, TAIL);
    if (tail === Atomics.load(header, HEAD)) return undefined;
    let at = tail & this.#mask;
    if (data[at] === SKIP && data[at + 1] === SKIP) {
      tail = (tail + data.length - at) | 0;
      at = 0;
    }
    const length = data[at] | (data[at + 1] << 16);
    at += 2;
    let text: string;
    if (length <= CHUNK) {
      text = String.fromCharCode.apply(null, data.subarray(at, at + length) as unknown as number[]);
    } else {
      const parts: string[] = [];
      for (let i = 0; i < length; i += CHUNK) {
        const end = Math.min(length, i + CHUNK);
        parts.push(
          String.fromCharCode.apply(null, data.subarray(at + i, at + end) as unknown as number[]),
        );
      }
      text = parts.join("");
    }
    Atomics.store(header, TAIL, (tail + ((length + 3) & ~1)) | 0);
    return text;
  }
}
