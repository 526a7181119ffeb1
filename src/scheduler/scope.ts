/**
 * Structured concurrency: `scope()`.
 *
 * @module
 */

import { TimeoutError } from "../errors.ts";
import type { Operation } from "../future/waitable.ts";
import { currentFiber, laterErrorsOf, type Task, TaskScope } from "./run_loop.ts";

/**
 * Where tasks are spawned. No task outlives its scope.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CancelledError, run, scope, sleep } from "@tandem/tandem";
 * assert.throws(
 *   () =>
 *     run(() =>
 *       scope(function* (s) {
 *         s.spawn(() => sleep(1_000_000));
 *         s.cancel();
 *         yield* sleep(1_000_000); // interrupted at once, like the task
 *       })
 *     ),
 *   CancelledError,
 * );
 * ```
 */
export interface Scope {
  /** Starts `body` as a task of this scope (it first steps after the caller waits). */
  spawn<T>(body: () => Operation<T>): Task<T>;
  /** Cancels every task in the scope, the body included (idempotent). */
  cancel(reason?: unknown): void;
}

/** Options of {@linkcode scope}. */
export interface ScopeOptions {
  /** The scope is cancelled with `TimeoutError` after this many ms. */
  timeoutMs?: number;
  /** ...or at this time of the run's clock (`performance.now()` by default). */
  deadline?: number;
}

/**
 * Runs `body(scope)` in a new scope and waits for it and every task it
 * spawned. The rules:
 *
 * - The first failure (of the body or a spawned task) cancels everything else
 *   in the scope, and the scope throws that first error, unchanged. Later
 *   failures are not lost: {@linkcode laterErrors} returns them.
 * - A cancellation is absorbed only where it was caused (trio's rule): a
 *   spawned task that ends with the `CancelledError` it was cancelled with
 *   (by `task.cancel()`, this scope's `cancel()` or a failing sibling) is not
 *   a failure; one that ends with any other `CancelledError` (a future it
 *   waited on was cancelled by its owner) is, like any other error.
 * - A timeout or deadline reaches every task in the scope, nested scopes
 *   included; nested deadlines take the earliest. If it cut any of them
 *   short (a task got its `TimeoutError`), the scope throws it, even if its
 *   body had returned or caught it (duet's `fail_after`): the work it cut
 *   short is never silently missing. A task that was done with its wait
 *   when it passed keeps what it got (see guarantee 3 of `run_loop.ts`).
 * - A cancellation from outside (an enclosing scope's, or the task's own
 *   `cancel()`) cancels the scope's tasks too, and the scope throws it once
 *   they ended, even if its body had returned (unless a task of the scope
 *   failed: that failure is thrown).
 * - Otherwise the scope returns (or throws) what the body did. A body
 *   interrupted by `scope.cancel()` throws `CancelledError` (to the code
 *   around the scope, a failure like any other); a body that returned
 *   before the cancel took effect keeps its value.
 * - A cancellation is thrown at each task's current `yield*`; `finally`
 *   blocks may `yield*` to clean up (the deadline still bounds that).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { run, scope, sleep } from "@tandem/tandem";
 * const sum = run(function* () {
 *   return yield* scope(function* (s) {
 *     const a = s.spawn(function* () {
 *       yield* sleep(2);
 *       return 1;
 *     });
 *     const b = s.spawn(function* () {
 *       yield* sleep(1);
 *       return 2;
 *     });
 *     return (yield* a) + (yield* b);
 *   });
 * });
 * assert.equal(sum, 3);
 * ```
 */
export function* scope<T>(
  body: (scope: Scope) => Operation<T>,
  options: ScopeOptions = {},
): Generator<unknown, T, unknown> {
  if (typeof body !== "function") {
    throw new TypeError(`scope(): expected a function (scope) => operation, got ${typeof body}`);
  }
  const fiber = currentFiber("scope()");
  const scheduler = fiber.scheduler;
  const s = new TaskScope(scheduler, fiber.scope);
  s.enter(fiber);
  const timer = armDeadline(s, options);
  // A cancellation of this task that this scope did not cause (an outer
  // scope's, the task's own `cancel()`): it cancels the scope's tasks too,
  // is not the scope's failure (a real failure of theirs still wins), and
  // goes on out.
  const fromOutside = (error: unknown) =>
    fiber.cancels?.includes(error as Error) === true && !s.caused?.includes(error as Error);
  let value: T | undefined;
  let bodyThrew = false;
  let bodyError: unknown;
  /** Cancellations from outside that reached the body after it had thrown. */
  let later: Error[] | undefined;
  const bodyEnded = (error: unknown): void => {
    if (!fromOutside(error)) return s.fail(error, true);
    s.interruptAll(error as Error);
    if (!bodyThrew) {
      bodyThrew = true;
      bodyError = error;
    } else if (error !== bodyError) (later ??= []).push(error as Error);
  };
  try {
    try {
      value = yield* body(s);
    } catch (error) {
      bodyThrew = true;
      bodyError = error;
      bodyEnded(error);
    }
    while (s.running > 0) {
      try {
        yield* s.joined();
      } catch (error) {
        // (Delivered once: swallowed here, it would be lost.)
        bodyEnded(error);
      }
    }
  } finally {
    s.ended = true;
    if (timer !== undefined) scheduler.timers.remove(timer);
    s.exit(fiber);
  }
  // What the scope throws: a failure, else a cancellation from outside,
  // else its deadline's error if it cut work short. A cancellation from
  // outside that it does not throw is not lost: it is delivered next.
  const outsideThrown = bodyThrew && fromOutside(bodyError);
  const throwing = s.failed || outsideThrown || s.cutShort;
  const thrown = s.failed ? s.failure : outsideThrown ? bodyError : s.expired;
  const unthrown = later ?? [];
  if (outsideThrown && thrown !== bodyError) unthrown.unshift(bodyError as Error);
  if (unthrown.length > 0) scheduler.undeliver(fiber, unthrown);
  if (throwing) throw thrown;
  // A cancellation from outside that has not reached the body yet (it had
  // no wait left) is delivered at its end: what the scope's tasks missed
  // because of it must not look like a whole result.
  const outside = scheduler.checkpoint(fiber);
  if (outside !== undefined) throw outside;
  if (bodyThrew) throw bodyError;
  return value as T;
}

function armDeadline(s: TaskScope, options: ScopeOptions) {
  const { timeoutMs, deadline } = options;
  if (timeoutMs === undefined && deadline === undefined) return undefined;
  if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
    throw new RangeError(`timeoutMs must be a number >= 0, got ${timeoutMs}`);
  }
  if (deadline !== undefined && Number.isNaN(deadline)) {
    throw new RangeError("deadline must be a time, got NaN");
  }
  const clock = s.scheduler.clock;
  const fromTimeout = timeoutMs === undefined ? Infinity : clock.now() + timeoutMs;
  const at = Math.min(fromTimeout, deadline ?? Infinity);
  s.deadline = at;
  const expire = () =>
    s.expire(
      new TimeoutError(
        at === fromTimeout ? `timed out after ${timeoutMs} ms` : `the deadline (${at}) passed`,
      ),
    );
  if (at === Infinity) return undefined;
  if (at <= clock.now()) {
    expire();
    return undefined;
  }
  return s.scheduler.timers.add(at, expire);
}

/**
 * The failures of a scope that came after the first one (which the scope
 * threw), oldest first; empty for any other error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { laterErrors, run, scope } from "@tandem/tandem";
 * assert.throws(
 *   () =>
 *     run(() =>
 *       scope(function* (s) {
 *         s.spawn(function* () {
 *           throw new Error("first");
 *         });
 *       })
 *     ),
 *   (error) => {
 *     assert.equal((error as Error).message, "first");
 *     assert.deepEqual(laterErrors(error), []); // no other task failed after it
 *     return true;
 *   },
 * );
 * ```
 */
export function laterErrors(error: unknown): unknown[] {
  if (typeof error !== "object" || error === null) return [];
  return [...(laterErrorsOf.get(error) ?? [])];
}
