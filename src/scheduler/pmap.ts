/**
 * `pmap()` and `pstarmap()`.
 *
 * @module
 */

import { FULFILLED, Future, internals } from "../future/future.ts";
import type { Operation } from "../future/waitable.ts";
import { scope } from "./scope.ts";
import { isWholeAtLeast } from "../validate.ts";

/** Options of {@linkcode pmap}. */
export interface PmapOptions {
  /** At most this many calls in flight (default: no limit). */
  limit?: number;
}

/**
 * Calls `fn(item)` for each item, concurrently, and returns the results in
 * input order. The iterable is consumed lazily: an item is taken only when a
 * slot is free, so never more than `limit` calls are in flight. The first
 * error cancels the calls still running and is thrown (see `scope()`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pmap, run, sleep } from "@tandem/tandem";
 * const squares = run(() =>
 *   pmap(function* (n: number) {
 *     yield* sleep(10 - n);
 *     return n * n;
 *   }, [1, 2, 3], { limit: 2 })
 * );
 * assert.deepEqual(squares, [1, 4, 9]); // in input order, whichever finished first
 * ```
 */
export function* pmap<I, R>(
  fn: (item: I) => Operation<R>,
  items: Iterable<I>,
  options: PmapOptions = {},
): Generator<unknown, R[], unknown> {
  if (typeof fn !== "function") {
    throw new TypeError(`pmap(): fn must be a function, got ${typeof fn}`);
  }
  const limit = options.limit ?? Infinity;
  if (!isWholeAtLeast(limit, 1, true)) {
    throw new RangeError(`pmap(): limit must be a whole number >= 1 or Infinity, got ${limit}`);
  }
  const iterator = items[Symbol.iterator]();
  const results: R[] = [];
  let running = 0;
  let slotFreed: Future<void> | undefined;
  yield* scope(function* (s) {
    let done = false;
    try {
      for (let index = 0;; index++) {
        while (running >= limit) yield* (slotFreed = new Future<void>());
        const next = iterator.next();
        if (next.done) {
          done = true;
          break;
        }
        running++;
        s.spawn(function* () {
          try {
            results[index] = yield* fn(next.value);
          } finally {
            running--;
            if (slotFreed !== undefined) internals.settle(slotFreed, FULFILLED, undefined);
          }
        });
      }
    } finally {
      if (!done) iterator.return?.();
    }
  });
  return results;
}

/**
 * Like {@linkcode pmap}, with each item spread as the arguments of `fn`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Future, pstarmap, run } from "@tandem/tandem";
 * const sums = run(() =>
 *   pstarmap(function* (a: number, b: number) {
 *     return (yield* Future.resolve(a)) + b;
 *   }, [[1, 2], [3, 4]] as [number, number][])
 * );
 * assert.deepEqual(sums, [3, 7]);
 * ```
 */
export function pstarmap<A extends unknown[], R>(
  fn: (...args: A) => Operation<R>,
  items: Iterable<A>,
  options: PmapOptions = {},
): Operation<R[]> {
  if (typeof fn !== "function") {
    throw new TypeError(`pstarmap(): fn must be a function, got ${typeof fn}`);
  }
  return pmap((args: A) => fn(...args), items, options);
}
