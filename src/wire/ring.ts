/**
 * A single-producer, single-consumer ring of records in shared memory. A
 * record is a run of 16-bit units (see `record.ts` for what they hold); the
 * reader decodes it in place. Head and tail are free-running counters
 * (modulo 2^28), so their difference is the fill level even after they wrap.
 *
 * The head word also carries a small mark of the writer's (three bits, see
 * {@linkcode Ring.setMark}): the channel keeps its side's state there, so
 * that one atomic load tells the reader what arrived and how the writer is.
 * `Atomics.load` costs about 7 ns and `Atomics.store` 12 ns here (not
 * inlined by V8), more than the rest of a small record's handling, so each
 * side loads and stores as few shared words as it can:
 * - the writer keeps the tail it last saw, and loads it again only when
 *   that one says the ring lacks room;
 * - the reader loads the head once per {@linkcode Ring.refresh}, and takes
 *   the records up to it with plain reads (the load is their acquire);
 * - the reader publishes its tail only after consuming a quarter of the
 *   ring, or when the writer asks for room ({@linkcode Ring.release}).
 *
 * @module
 */

const HEAD = 0; // units written, and the writer's mark (producer)
const TAIL = 1; // units consumed (consumer)
const HEADER_BYTES = 16;
const COUNTER = 0x0fffffff; // the counters' bits of HEAD and TAIL
const MARK_SHIFT = 28;
const SKIP = 0xffff; // a record length of SKIP,SKIP means "go back to the start"
const COPY_LOOP = 64; // shorter records are copied by a loop, longer ones by set()

/** The shared memory of one ring; send it to the other side with postMessage. */
export type RingBuffer = SharedArrayBuffer;

/** Allocates a ring holding up to `units` 16-bit units (a power of two, at most 2^26). */
export function createRing(units = 1 << 17): RingBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + units * 2);
}

/** One side's view of a ring (the writer's or the reader's). */
export class Ring {
  readonly #header: Int32Array;
  /** The ring's units: a record returned by `peek` starts at the index it gave. */
  readonly data: Uint16Array;
  readonly #mask: number;
  readonly #quarter: number;
  /** Records longer than this never go through the ring. */
  readonly maxRecord: number;
  // The writer's side:
  #head: number;
  #mark: number; // already shifted into place
  #seenTail: number; // the tail as the writer last loaded it
  // The reader's side:
  #tail: number;
  #released: number; // the tail last published
  #seenHead: number; // the head as of the last refresh()
  #next = 0; // the tail after the record `peek` found

  constructor(buffer: RingBuffer) {
    this.#header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.data = new Uint16Array(buffer, HEADER_BYTES);
    this.#mask = this.data.length - 1;
    this.maxRecord = this.data.length >> 3;
    this.#quarter = this.data.length >> 2;
    const head = Atomics.load(this.#header, HEAD);
    this.#head = this.#seenHead = head & COUNTER;
    this.#mark = head & ~COUNTER;
    this.#tail = this.#released = this.#seenTail = Atomics.load(this.#header, TAIL);
  }

  // ---- the writer ----

  /** Appends `units[0 .. length)`; false when too long or the ring lacks room. */
  write(units: Uint16Array, length: number): boolean {
    if (length > this.maxRecord) return false;
    const data = this.data, capacity = data.length;
    const head = this.#head;
    const size = (length + 3) & ~1; // two length units, the record, padded to even
    let at = head & this.#mask;
    const toEnd = capacity - at;
    const skip = toEnd < size ? toEnd : 0;
    if (((head - this.#seenTail) & COUNTER) + skip + size > capacity) {
      this.#seenTail = Atomics.load(this.#header, TAIL);
      if (((head - this.#seenTail) & COUNTER) + skip + size > capacity) return false;
    }
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
    this.#head = (head + skip + size) & COUNTER;
    Atomics.store(this.#header, HEAD, this.#head | this.#mark);
    return true;
  }

  /** Publishes the writer's mark, three bits the reader's `refresh` returns. */
  setMark(mark: number): void {
    this.#mark = mark << MARK_SHIFT;
    Atomics.store(this.#header, HEAD, this.#head | this.#mark);
  }

  /** The mark last published by this side (the writer's). */
  get mark(): number {
    return this.#mark >>> MARK_SHIFT;
  }

  // ---- the reader ----

  /**
   * Loads the head: `peek` then finds the records written up to now. Returns
   * the writer's mark (published with or before them).
   */
  refresh(): number {
    const head = Atomics.load(this.#header, HEAD);
    this.#seenHead = head & COUNTER;
    return head >>> MARK_SHIFT;
  }

  /**
   * Where the oldest record found by the last `refresh` starts in `data`, or
   * -1 when there is none. It stays there until {@linkcode Ring.consume}.
   */
  peek(): number {
    const data = this.data;
    let tail = this.#tail;
    if (tail === this.#seenHead) return -1;
    let at = tail & this.#mask;
    if (data[at] === SKIP && data[at + 1] === SKIP) {
      tail = (tail + data.length - at) & COUNTER;
      at = 0;
    }
    const length = data[at] | (data[at + 1] << 16);
    this.#next = (tail + ((length + 3) & ~1)) & COUNTER;
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
    if (((this.#tail - this.#released) & COUNTER) > this.#quarter) this.release();
  }
}
