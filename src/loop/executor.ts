/**
 * The executor interface (Python's `concurrent.futures.Executor`, as
 * aiofutures offers it over an event loop).
 *
 * @module
 */

import type { Future } from "../future/future.ts";

/**
 * A function in another thread, named by a URL whose fragment is the export:
 * `new URL("./tasks.ts#add", import.meta.url)`. A loop started with a module
 * also accepts the bare export name (`"add"`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackgroundLoop, type FunctionRef } from "@tandem/tandem";
 * // An inline module, so that the example runs as it is (a file works the same).
 * const tasks = "data:application/typescript,export const add = (a: number, b: number) => a + b;";
 * await using loop = BackgroundLoop.start(tasks);
 * const byName: FunctionRef = "add"; // an export of the loop's module
 * const byUrl: FunctionRef = `${tasks}#add`; // like new URL("./tasks.ts#add", import.meta.url)
 * assert.equal(await loop.submit(byName, 1, 2), 3);
 * assert.equal(await loop.submit(byUrl, 1, 2), 3);
 * ```
 */
export type FunctionRef = URL | string;

/**
 * Runs functions elsewhere and hands back futures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackgroundLoop, type Executor } from "@tandem/tandem";
 * // An inline module, so that the example runs as it is (a file works the same).
 * const executor: Executor = BackgroundLoop.start(
 *   "data:application/typescript,export const square = (n: number) => n * n;",
 * );
 * assert.deepEqual(await executor.map<number>("square", [1, 2, 3], { limit: 2 }), [1, 4, 9]);
 * await executor.shutdown();
 * ```
 */
export interface Executor {
  /** Calls `fn(...args)`; the future settles with its outcome. */
  submit<R>(fn: FunctionRef, ...args: unknown[]): Future<R>;
  /**
   * Calls `fn(item)` for each item, at most `limit` at a time; the results
   * come in input order. The first failure cancels the calls still running
   * and fails the whole.
   */
  map<R>(fn: FunctionRef, items: Iterable<unknown>, options?: { limit?: number }): Future<R[]>;
  /**
   * `map`, one result at a time, for `for await`: the results come in input
   * order, or as each call settles with `ordered: false`, while later calls
   * still run. Items are pulled only when a slot is free: at most `limit`
   * (default, as for `map`: all at once) are held, running or done but not
   * yet taken, so a slow consumer holds back further work. The first
   * failure cancels the calls still running and ends the iteration with it
   * (after the results that were ready before it); leaving early (`break`,
   * `return()`) cancels them and pulls nothing more.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { BackgroundLoop, type Executor } from "@tandem/tandem";
   * // An inline module, so that the example runs as it is (a file works the same).
   * const executor: Executor = BackgroundLoop.start(
   *   "data:application/javascript,export const square = (n) => n * n;",
   * );
   * const squares: number[] = [];
   * for await (const square of executor.imap<number>("square", [1, 2, 3], { limit: 2 })) {
   *   squares.push(square);
   * }
   * assert.deepEqual(squares, [1, 4, 9]);
   * await executor.shutdown();
   * ```
   */
  imap<R>(
    fn: FunctionRef,
    items: Iterable<unknown>,
    options?: { limit?: number; ordered?: boolean },
  ): AsyncIterableIterator<R>;
  /**
   * Stops taking work. Without `cancelPending`, what was submitted finishes
   * first; with it, it fails with `CancelledError`. Idempotent.
   */
  shutdown(options?: { cancelPending?: boolean }): Future<void>;
}
