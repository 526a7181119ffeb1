/**
 * `Outcome<T>`: how a settled future ended, as a value (effection's
 * `Result`). One shape for every outcome that is passed around: a guest
 * run's `done`, a settled future read by the scheduler or a loop, a reply
 * built from a future.
 *
 * Where an outcome only moves from one future to another (or onto the wire)
 * no `Outcome` object is made: {@linkcode adopt} copies the settled state as
 * it is (a cancelled future stays cancelled, which `Outcome` cannot say), and
 * the hot paths read `internals.state`/`internals.value` without allocating.
 *
 * @module
 */

import { FULFILLED, type Future, internals } from "./future.ts";

/** A settled outcome: a value, or the failure (a cancel's is its `CancelledError`). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The outcome of `future`; undefined while it is pending (or running). */
export function outcomeOf<T>(future: Future<T>): Outcome<T> | undefined {
  const state = internals.state(future as Future<unknown>);
  if (state < FULFILLED) return undefined;
  const value = internals.value(future as Future<unknown>);
  return state === FULFILLED ? { ok: true, value: value as T } : { ok: false, error: value };
}

/**
 * Copy-then-settle: settles `target` as the settled `source` did, state and
 * all (a cancelled source gives a cancelled target), without an `Outcome`
 * object in between. False if `target` was settled already (or lost).
 */
export function adopt(target: Future<unknown>, source: Future<unknown>): boolean {
  const state = internals.state(source);
  if (state < FULFILLED) throw new Error("tandem: adopt() of a pending future"); // (a bug of ours)
  return internals.settle(target, state, internals.value(source));
}
