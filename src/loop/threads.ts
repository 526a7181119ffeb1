/**
 * The thread directory: one shared buffer, made by the first thread that
 * needs it and handed to every worker tandem starts, that holds a doorbell
 * per thread and which threads died. A shared primitive (Event, Queue,
 * Semaphore) records which threads wait on it, and rings their doorbells:
 * that wakes a blocked `wait()`, a blocking `run()` and an `await` alike,
 * since each of them waits on its thread's doorbell.
 *
 * Slots are not reused: a process may start {@linkcode SLOTS} threads in
 * its life; later ones get a private doorbell and wait on shared primitives
 * by polling every millisecond.
 *
 * @module
 */

/** Threads a process may start over its life that shared primitives can ring. */
export const SLOTS = 1024;
const NEXT = 0;
const DEAD = 1; // a bit per slot: SLOTS / 32 words
const BELLS = DEAD + SLOTS / 32;

/** Where a thread's doorbell word is. */
export interface Bell {
  buffer: SharedArrayBuffer;
  /** Byte offset of the word. */
  offset: number;
}

/** The directory's shared memory. */
export class Directory {
  readonly words: Int32Array;
  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  /** A new slot, or -1 when all were used. */
  allocate(): number {
    const index = Atomics.add(this.words, NEXT, 1);
    return index < SLOTS ? index : -1;
  }

  bell(index: number): Bell {
    return { buffer: this.buffer, offset: (BELLS + index) * 4 };
  }

  ring(index: number): void {
    Atomics.add(this.words, BELLS + index, 1);
    Atomics.notify(this.words, BELLS + index);
  }

  /** Every thread that may wait on something (used when one dies). */
  ringAll(): void {
    const count = Math.min(Atomics.load(this.words, NEXT), SLOTS);
    for (let index = 0; index < count; index++) this.ring(index);
  }

  markDead(index: number): void {
    if (index < 0) return;
    Atomics.or(this.words, DEAD + (index >> 5), 1 << (index & 31));
    this.ringAll();
  }

  isDead(index: number): boolean {
    return (Atomics.load(this.words, DEAD + (index >> 5)) & (1 << (index & 31))) !== 0;
  }
}

let directory: Directory | undefined;
let index: number | undefined;

/** The directory this thread belongs to (made on first use). */
export function threads(): Directory {
  return directory ??= new Directory(
    new SharedArrayBuffer((BELLS + SLOTS) * Int32Array.BYTES_PER_ELEMENT),
  );
}

/** This thread's slot, or -1 if it has none. */
export function threadIndex(): number {
  return index ??= threads().allocate();
}

/** The doorbell of the thread in `slot`: the slot's word, or a private one for slot -1. */
export function slotBell(slot: number): Bell {
  return slot >= 0 ? threads().bell(slot) : { buffer: new SharedArrayBuffer(4), offset: 0 };
}

/** This thread's doorbell. */
export function ownBell(): Bell {
  return slotBell(threadIndex());
}

/** A worker joins its parent's directory, in the slot its parent gave it. */
export function joinDirectory(buffer: SharedArrayBuffer, slot: number): void {
  directory = new Directory(buffer);
  index = slot;
}
