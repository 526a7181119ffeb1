/**
 * A single-producer, single-consumer ring of records in shared memory. A
 * record is a run of 16-bit units (see `record.ts` for what they hold); the
 * reader decodes it in place. Head and tail are free-running 32-bit
 * counters, so their difference is the fill level even after they wrap.
 *
 * @module
 */

const HEAD = 0; // units written (producer)
const TAIL = 1; // units consumed (consumer)
const HEADER_BYTES = 16;
const SKIP = 0xffff; // a record length of SKIP,SKIP means "go back to the start"
const COPY_LOOP = 64; // shorter records are copied by a loop, longer ones by set()

/** The shared memory of one ring; send it to the other side with postMessage. */
export type RingBuffer = SharedArrayBuffer;

/** Allocates a ring holding up to `units` 16-bit units (a power of two). */
export function createRing(units = 1 << 17): RingBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + units * 2);
}

/**
 * One side's view of a ring. Each side keeps its own counter in a field and
 * publishes it with an atomic store: the writer per record, the reader only
 * when a quarter of the ring was consumed or the writer asks for room
 * ({@linkcode Ring.release}). A seq_cst store costs about 100 cycles here,
 * the costliest step of a tiny round trip after the futex calls.
 */
export class Ring {
  readonly #header: Int32Array;
  /** The ring's units: a record returned by `peek` starts at the index it gave. */
  readonly data: Uint16Array;
  readonly #mask: number;
  #head: number; // the writer's counter
  #tail: number; // the reader's counter (published by release())
  #released: number; // the tail the writer knows
  readonly #quarter: number;
  #next = 0; // the tail after the record `peek` found
  /** Records longer than this never go through the ring. */
  readonly maxRecord: number;

  constructor(buffer: RingBuffer) {
    this.#header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.data = new Uint16Array(buffer, HEADER_BYTES);
    this.#mask = this.data.length - 1;
    this.maxRecord = this.data.length >> 3;
    this.#head = Atomics.load(this.#header, HEAD);
    this.#tail = this.#released = Atomics.load(this.#header, TAIL);
    this.#quarter = this.data.length >> 2;
  }

  /** Appends `units[0 .. length)`; false when too long or the ring lacks room. */
  write(units: Uint16Array, length: number): boolean {
    if (length > this.maxRecord) return false;
    const data = this.data, capacity = data.length;
    const head = this.#head;
    const used = (head - Atomics.load(this.#header, TAIL)) >>> 0;
    const size = (length + 3) & ~1; // two length units, the record, padded to even
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
    if (length <= COPY_LOOP) { for (let i = 0; i < length; i++) data[at + i] = units[i]; }
    else data.set(units.subarray(0, length), at);
    this.#head = (head + skip + size) | 0;
    Atomics.store(this.#header, HEAD, this.#head);
    return true;
  }

  /**
   * Where the oldest record starts in `data`, or -1 when the ring is empty.
   * It stays there until {@linkcode Ring.consume}.
   */
  peek(): number {
    const data = this.data;
    let tail = this.#tail;
    if (tail === Atomics.load(this.#header, HEAD)) return -1;
    let at = tail & this.#mask;
    if (data[at] === SKIP && data[at + 1] === SKIP) {
      tail = (tail + data.length - at) | 0;
      at = 0;
    }
    const length = data[at] | (data[at + 1] << 16);
    this.#next = (tail + ((length + 3) & ~1)) | 0;
    return at + 2;
  }

  /** Moves past the record `peek` returned (the writer may reuse it after `release`). */
  consume(): void {
    this.#tail = this.#next;
  }

  /** Gives the room of the consumed records back to the writer. */
  release(): void {
    this.#released = this.#tail;
    Atomics.store(this.#header, TAIL, this.#tail);
  }

  /** Releases if a quarter of the ring was consumed since the last release. */
  releaseSome(): void {
    if (((this.#tail - this.#released) >>> 0) > this.#quarter) this.release();
  }
}
