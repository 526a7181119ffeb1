/**
 * A run's timers: a binary min-heap ordered by due time, then by creation,
 * with removal in O(log n), so that a timeout that is never reached leaves
 * nothing behind when its body ends.
 *
 * @module
 */

/** One pending timer. */
export class Timer {
  /** Position in the heap; -1 once fired or removed. */
  index = -1;
  constructor(
    readonly due: number,
    readonly seq: number,
    readonly fire: () => void,
  ) {}
}

/** The heap. */
export class Timers {
  readonly #heap: Timer[] = [];
  #seq = 0;

  /** How many timers are pending. */
  get size(): number {
    return this.#heap.length;
  }

  /** The earliest timer, if any. */
  next(): Timer | undefined {
    return this.#heap[0];
  }

  /** Adds a timer that calls `fire` once the clock reaches `due`. */
  add(due: number, fire: () => void): Timer {
    const timer = new Timer(due, this.#seq++, fire);
    timer.index = this.#heap.length;
    this.#heap.push(timer);
    this.#up(timer.index);
    return timer;
  }

  /** Removes a timer that has not fired; does nothing otherwise. */
  remove(timer: Timer): void {
    const at = timer.index;
    if (at < 0) return;
    timer.index = -1;
    const heap = this.#heap;
    const last = heap.pop()!;
    if (at === heap.length) return;
    heap[at] = last;
    last.index = at;
    this.#down(at);
    this.#up(last.index);
  }

  /** Fires every timer due at `now`, earliest first; true if any fired. */
  fireDue(now: number): boolean {
    const heap = this.#heap;
    let fired = false;
    while (heap.length > 0 && heap[0].due <= now) {
      const timer = heap[0];
      this.remove(timer);
      fired = true;
      timer.fire();
    }
    return fired;
  }

  #before(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  #up(at: number): void {
    const heap = this.#heap;
    const timer = heap[at];
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = heap[parentAt];
      if (!this.#before(timer, parent)) break;
      heap[at] = parent;
      parent.index = at;
      at = parentAt;
    }
    heap[at] = timer;
    timer.index = at;
  }

  #down(at: number): void {
    const heap = this.#heap;
    const length = heap.length;
    const timer = heap[at];
    for (;;) {
      let childAt = 2 * at + 1;
      if (childAt >= length) break;
      if (childAt + 1 < length && this.#before(heap[childAt + 1], heap[childAt])) childAt++;
      const child = heap[childAt];
      if (!this.#before(child, timer)) break;
      heap[at] = child;
      child.index = at;
      at = childAt;
    }
    heap[at] = timer;
    timer.index = at;
  }
}
