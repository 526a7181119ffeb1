/**
 * A table of values keyed by call ids: integers that mostly come in order
 * and leave soon. A `Map` that a value enters and leaves per call costs
 * about 34 ns a call here (V8 shrinks or rehashes its table at the runtime's
 * expense as entries come and go); a slot array indexed by the id's low bits
 * costs 4. An id whose slot is taken (a call that outlives many later ones)
 * goes to an overflow `Map`, so the array grows with the number of calls in
 * flight, never with their ids.
 *
 * @module
 */

const FIRST_SIZE = 16;

/** Values keyed by unique non-negative integer ids (see the module doc). */
export class IdTable<T> {
  #ids: number[] = new Array(FIRST_SIZE).fill(-1);
  #values: (T | undefined)[] = new Array(FIRST_SIZE).fill(undefined);
  #overflow: Map<number, T> | undefined = undefined;
  #size = 0;

  /** How many ids the table holds. */
  get size(): number {
    return this.#size;
  }

  get(id: number): T | undefined {
    const at = id & (this.#ids.length - 1);
    if (this.#ids[at] === id) return this.#values[at];
    return this.#overflow?.get(id);
  }

  /** Adds `id`, which must not be in the table. */
  set(id: number, value: T): void {
    if (this.#size >= this.#ids.length >> 1) this.#grow();
    this.#size++;
    this.#place(id, value);
  }

  /** Removes `id`; false if it was not there. */
  delete(id: number): boolean {
    const at = id & (this.#ids.length - 1);
    if (this.#ids[at] === id) {
      this.#ids[at] = -1;
      this.#values[at] = undefined;
    } else if (!this.#overflow?.delete(id)) {
      return false;
    }
    this.#size--;
    return true;
  }

  /** Every value, in no particular order. */
  values(): T[] {
    const values: T[] = [];
    for (let at = 0; at < this.#ids.length; at++) {
      if (this.#ids[at] !== -1) values.push(this.#values[at]!);
    }
    if (this.#overflow) values.push(...this.#overflow.values());
    return values;
  }

  #place(id: number, value: T): void {
    const at = id & (this.#ids.length - 1);
    if (this.#ids[at] === -1) {
      this.#ids[at] = id;
      this.#values[at] = value;
    } else {
      (this.#overflow ??= new Map()).set(id, value);
    }
  }

  #grow(): void {
    const ids = this.#ids, values = this.#values, overflow = this.#overflow;
    const size = ids.length * 2;
    this.#ids = new Array(size).fill(-1);
    this.#values = new Array(size).fill(undefined);
    this.#overflow = undefined;
    for (let at = 0; at < ids.length; at++) {
      if (ids[at] !== -1) this.#place(ids[at], values[at]!);
    }
    if (overflow) { for (const [id, value] of overflow) this.#place(id, value); }
  }
}
