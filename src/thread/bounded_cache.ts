/**
 * A memo for what is worked out from a string on every call (a function's
 * name, a URL): the first {@linkcode BoundedCache.limit} keys are kept, later
 * ones are worked out each time, so that a caller naming endless distinct
 * functions cannot grow it without bound.
 *
 * @module
 */

/** Remembers `make(key)` for up to `limit` keys. */
export class BoundedCache<V> {
  readonly #values = new Map<string, V>();

  constructor(readonly limit = 1024) {}

  /** The value for `key`, made (and kept while there is room) on first use. */
  get(key: string, make: (key: string) => V): V {
    let value = this.#values.get(key);
    if (value === undefined) {
      value = make(key);
      if (this.#values.size < this.limit) this.#values.set(key, value);
    }
    return value;
  }
}
