/**
 * The yield protocol: what a task's iterator may `yield` to the run loop
 * that drives it, and what the run loop does with each (trio's traps). User
 * code never yields these itself: it `yield*`s futures and operations, and
 * these are what comes out at the bottom of such a chain. Anything else
 * yielded is a mistake (a `yield` meant as `yield*`): the task is resumed by
 * throwing a `TypeError` saying so.
 *
 * 1. A pending `Future` (made by {@linkcode waitFor}, from `yield* future`;
 *    a settled future yields nothing): the task waits for it and is resumed
 *    with its outcome, its value sent or its failure thrown. A cancellation
 *    pending for the task is delivered instead, and cancels the future
 *    (unless it is a task, which belongs to its scope).
 * 2. {@linkcode YIELD_POINT} (from `sleep(0)`): the task goes to the back of
 *    the ready queue, and is resumed with `undefined` (or a pending
 *    cancellation, thrown at once).
 * 3. A {@linkcode StacklessFrame} (from `stackless(operation)`): the run loop
 *    suspends the yielding iterator, runs the frame's operation as the task's
 *    innermost frame, and resumes the suspended one with the operation's
 *    outcome when it ends.
 *
 * It lives below the scheduler (the run loop imports it; a future makes the
 * first kind), so that a future needs nothing from the scheduler.
 *
 * @module
 */

import type { Operation } from "./waitable.ts";

/** `yield*` of a pending future: the run loop gets the future, and sends back its outcome. */
// (Typed as a thenable, not as `Future`: future.ts imports this file.)
export function* waitFor<T>(future: PromiseLike<T>): Generator<unknown, T, unknown> {
  return (yield future) as T;
}

/** What `sleep(0)` yields: go to the back of the ready queue. */
export const YIELD_POINT: unique symbol = Symbol("tandem.yieldPoint");

/**
 * What `stackless(operation)` yields: the run loop runs `operation` as a frame
 * of its own, and sends its outcome back into the delegating `yield*`.
 */
export class StacklessFrame<T> implements Iterator<unknown, T, unknown> {
  #started = false;
  constructor(readonly operation: Operation<T>) {}
  [Symbol.iterator](): this {
    return this;
  }
  next(value?: unknown): IteratorResult<unknown, T> {
    if (this.#started) return { done: true, value: value as T };
    this.#started = true;
    return { done: false, value: this };
  }
  throw(error?: unknown): never {
    throw error;
  }
}
