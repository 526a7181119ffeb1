/**
 * The thread directory: one shared buffer, made by the first thread that
 * needs it and handed to every worker tandem starts, with a slot per live
 * thread: its doorbell, and the id of the thread living there. A shared
 * primitive (Event, Queue, Semaphore) records which threads wait on it, and
 * rings their doorbells: that wakes a blocked `wait()`, a blocking `run()`
 * and an `await` alike, since each of them waits on its thread's doorbell.
 *
 * Slots are reused: a thread's slot is freed when it ends, so a process may
 * start any number of threads over its life, {@linkcode SLOTS} at a time
 * (`BackgroundLoop.start()` fails clearly past that). A thread id names one
 * thread: its slot, and a generation that changes at every reuse (it wraps
 * after two million thread starts), so a record of an ended thread does not
 * speak for the next ones in its slot.
 *
 * @module
 */

/** Threads that may live at once. */
export const SLOTS = 1024;
const SLOT_BITS = 10;
const SLOT_MASK = SLOTS - 1;
/** Generations wrap after this many thread starts (ids stay positive int32s). */
const GENERATIONS = 1 << (31 - SLOT_BITS);

/** Counts thread ends: a change tells waiters to look again at who is alive. */
const ENDS = 0;
/** The last generation handed out. */
const GENERATION = 1;
/** Per slot: the id of the thread living there, 0 when the slot is free, CLOSING while it is being freed. */
const IDS = 2;
const CLOSING = -1;
/**
 * Per slot: how its last thread ended: its id if it stopped (its loop was
 * closed), minus its id if it crashed.
 */
const ENDED = IDS + SLOTS;
/**
 * Per slot: the id of the thread that started its thread (0: none). A
 * thread's end ends the workers it started (Deno terminates them with it),
 * and so releases them too.
 */
const PARENTS = ENDED + SLOTS;
/** Per slot: the doorbell. */
const BELLS = PARENTS + SLOTS;
const WORDS = BELLS + SLOTS;

/** Where a thread's doorbell word is. */
export interface Bell {
  buffer: SharedArrayBuffer;
  /** Byte offset of the word. */
  offset: number;
}

/** How a thread is, as far as the directory knows. */
export type ThreadState = "alive" | "closed" | "crashed" | "ended";

/** The directory's shared memory. */
export class Directory {
  readonly words: Int32Array;
  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  /** A new, empty directory. */
  static create(): Directory {
    return new Directory(new SharedArrayBuffer(WORDS * Int32Array.BYTES_PER_ELEMENT));
  }

  /**
   * A new thread's id, in a free slot, for a thread that `parent` starts (0:
   * none); a clear error when every slot is taken.
   */
  allocate(parent: number): number {
    const words = this.words;
    for (let slot = 0; slot < SLOTS; slot++) {
      if (Atomics.load(words, IDS + slot) !== 0) continue;
      const generation = ((Atomics.add(words, GENERATION, 1) >>> 0) % (GENERATIONS - 1)) + 1;
      const id = generation * SLOTS + slot;
      if (Atomics.compareExchange(words, IDS + slot, 0, id) === 0) {
        Atomics.store(words, PARENTS + slot, parent);
        if (parent !== 0 && !this.alive(parent)) {
          // Its parent ended meanwhile (and freed its workers without it).
          this.release(id, false);
          throw new RangeError("tandem: this thread has ended; it cannot start workers");
        }
        return id;
      }
    }
    throw new RangeError(
      `tandem: ${SLOTS} threads are alive, the most it can give a doorbell at once: close ` +
        "loops you no longer need before starting more",
    );
  }

  bell(id: number): Bell {
    return { buffer: this.buffer, offset: (BELLS + (id & SLOT_MASK)) * 4 };
  }

  ring(id: number): void {
    const at = BELLS + (id & SLOT_MASK);
    Atomics.add(this.words, at, 1);
    Atomics.notify(this.words, at);
  }

  /** Thread `id` lives. */
  alive(id: number): boolean {
    return Atomics.load(this.words, IDS + (id & SLOT_MASK)) === id;
  }

  /** How thread `id` is: alive, or how it ended ("ended" once its slot's record moved on). */
  state(id: number): ThreadState {
    // (While its slot is being freed, its end is not written yet: still alive.)
    const live = Atomics.load(this.words, IDS + (id & SLOT_MASK));
    if (live === id || live === CLOSING) return "alive";
    const ended = Atomics.load(this.words, ENDED + (id & SLOT_MASK));
    return ended === id ? "closed" : ended === -id ? "crashed" : "ended";
  }

  /** How many threads live now. */
  get live(): number {
    let count = 0;
    for (let slot = 0; slot < SLOTS; slot++) {
      if (Atomics.load(this.words, IDS + slot) !== 0) count++;
    }
    return count;
  }

  /** How many threads ended so far (it changes at every end). */
  get ends(): number {
    return Atomics.load(this.words, ENDS);
  }

  /**
   * Thread `id` ended, and the workers it started (and theirs) with it:
   * their slots are freed, and every live thread is rung, so that waits on
   * something only they could have done look again.
   */
  release(id: number, crashed: boolean): void {
    if (!this.#free(id, crashed)) return;
    Atomics.add(this.words, ENDS, 1);
    for (let other = 0; other < SLOTS; other++) {
      const live = Atomics.load(this.words, IDS + other);
      if (live !== 0) this.ring(live);
    }
  }

  #free(id: number, crashed: boolean): boolean {
    const words = this.words, slot = id & SLOT_MASK;
    // Claim the slot first (one thread frees it), then write its records,
    // then free it: a thread that takes it next finds them settled.
    if (id <= 0 || Atomics.compareExchange(words, IDS + slot, id, CLOSING) !== id) return false;
    Atomics.store(words, ENDED + slot, crashed ? -id : id);
    Atomics.store(words, PARENTS + slot, 0);
    Atomics.store(words, IDS + slot, 0);
    for (let child = 0; child < SLOTS; child++) {
      if (Atomics.load(words, PARENTS + child) === id) {
        this.#free(Atomics.load(words, IDS + child), crashed);
      }
    }
    return true;
  }
}

let directory: Directory | undefined;
let ownId: number | undefined;

/** The directory this thread belongs to (made on first use). */
export function threads(): Directory {
  return directory ??= Directory.create();
}

/** This thread's id (the first thread takes one on first use; workers are given theirs). */
export function threadId(): number {
  return ownId ??= threads().allocate(0);
}

/** The slot of thread `id` (0 .. SLOTS - 1), for per-slot bit sets. */
export function slotOf(id: number): number {
  return id & SLOT_MASK;
}

/** This thread's doorbell. */
export function ownBell(): Bell {
  return threads().bell(threadId());
}

/** A worker joins its parent's directory, as the thread `id` its parent gave it. */
export function joinDirectory(buffer: SharedArrayBuffer, id: number): void {
  directory = new Directory(buffer);
  ownId = id;
}
