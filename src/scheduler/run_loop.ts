/**
 * The run loop: tasks, cancel scopes, the core both drivers repeat
 * (`Scheduler.tick`) and the blocking driver (`Scheduler.runBlocking`; the
 * hosted one, which only asks its host for turns, is in `run_async.ts`).
 * What a task may yield is in `future/yield_protocol.ts`. The scheduler's
 * guarantees live here, in one place:
 *
 * 1. A task runs only inside a step of its run. A step resumes it with the
 *    outcome of what it waited for and goes on, without returning to the
 *    loop, through every `yield*` of something already settled, until the
 *    task waits on something pending or ends.
 * 2. Ready tasks run in FIFO batches. Between batches, due timers fire,
 *    background calls whose timeout passed fail, and what other threads sent
 *    is handled, so tasks that only yield (`sleep(0)`) cannot starve timers,
 *    timeouts or cross-thread results, in a blocking run as in a hosted one.
 * 3. Cancellation (a `Task.cancel()`, a scope's `cancel()`, a deadline, a
 *    failing sibling) is delivered once per cause: at the task's current
 *    wait, or, if it is running, at its next wait or the end of the scope
 *    it is in; several causes, in turn. The future it waited on is cancelled
 *    (a `Task` is not: it belongs to its scope) and the error is thrown at
 *    its `yield*`, so `finally` blocks run and may `yield*` again to clean
 *    up. A task whose wait ended but that has not resumed yet gets the
 *    cancellation instead of the outcome (the cancel came first) when
 *    nothing is lost by it: it was a yield point, the wait failed with a
 *    cancellation, or what it was handed goes back (a `Limiter` slot, to
 *    the next waiter). Any other outcome is never dropped (a `Semaphore`
 *    permit, a `Queue` item, a call's result, which others may see too; a
 *    failure): the task resumes with it, and the cancel comes next (trio's
 *    rule). A deadline that passes during a cleanup is delivered too, so a
 *    cleanup cannot outlive its deadline. A task cancelled before its first
 *    step never runs.
 * 4. A cancellation is absorbed only where it was caused (trio's rule): a
 *    task that ends with a `CancelledError` that was delivered to it ends
 *    `cancelled`, and its scope goes on; one that ends with any other
 *    `CancelledError` (a future it waited on was cancelled by its owner)
 *    ends `rejected` and fails its scope like any other error.
 * 5. A blocking run blocks the thread (`Atomics.wait`) only when no task is
 *    ready, no timer is due and no call's timeout has passed; it wakes for
 *    the next of these or for another thread. When nothing could ever wake
 *    it (no timer pending, no wait on a live thread), it throws
 *    `DeadlockError` into the waiting tasks, naming what they wait on (or,
 *    for a primitive whose every other holder ended, the error that says
 *    so).
 * 6. A run is re-entrant: `run()` inside a task drives a new run to its end
 *    before the step that called it goes on. The outer run's tasks do not
 *    step meanwhile; what settled for them is queued and seen after. Runs
 *    nest up to {@linkcode MAX_RUN_DEPTH} deep; the next one throws a
 *    `RangeError` saying so, before the stack could overflow.
 * 7. When every task of a run waits (none is ready, no timer is due), the
 *    callbacks given to `onAllWaiting()` run, each once, in the order given,
 *    before the run blocks the thread or hands the turn back to its host;
 *    those given meanwhile wait for the next time. A future a callback
 *    returns is waited on by the run as a task's wait would be (a blocking
 *    run wakes for it, and does not call it a deadlock while it is linked
 *    to a live thread).
 *
 * @module
 */

import { CancelledError, DeadlockError, type TimeoutError } from "../errors.ts";
import {
  CANCELLED,
  FULFILLED,
  Future,
  internals,
  isLocalStall,
  REJECTED,
  toCancelledError,
  type WaitPolicy,
} from "../future/future.ts";
import type { Operation } from "../future/waitable.ts";
import { StacklessFrame, YIELD_POINT } from "../future/yield_protocol.ts";
import { Timers } from "./timers.ts";
import { currentWaker, type Waker } from "./waker.ts";
import { attachToClock, type ClockListener, detachFromClock } from "./clock_listeners.ts";
import { type Clock, VirtualClock } from "./virtual_clock.ts";

/**
 * A running operation: a {@linkcode Future} of its result. `yield* task`
 * waits for it; `task.cancel()` throws `CancelledError` at its current
 * `yield*` (or its next one, if it is running, or if its wait just ended
 * with an outcome it keeps); a task that lets that error escape ends
 * `cancelled`. A second `cancel()` adds nothing to the first (it returns
 * true while the task has not ended: the first still stands).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { run, scope, sleep } from "@tandem/tandem";
 * run(function* () {
 *   yield* scope(function* (s) {
 *     const task = s.spawn(function* fetchIt() {
 *       yield* sleep(10);
 *       return "done";
 *     });
 *     assert.equal(yield* task, "done");
 *     assert.equal(task.name, "fetchIt"); // the body's name
 *   });
 * });
 * ```
 */
export interface Task<T> extends Future<T> {
  /** The body function's name, for messages (or "task"). */
  readonly name: string;
}

const READY = 0;
const RUNNING = 1;
const WAITING = 2;
const DONE = 3;

/** Checks re-done this often (ms) while a blocking run waits for other threads. */
const STALL_CHECK_MS = 1000;

let current: Fiber | undefined;
/** The run whose `onAllWaiting` callbacks run now (they may give more). */
let flushing: Scheduler | undefined;

/** The run of the running task, or of the `onAllWaiting` callback running now. */
export function runningScheduler(what: string): Scheduler {
  return flushing ?? currentFiber(what).scheduler;
}

/**
 * A task's state in the run loop. Each field says what it holds, when it is
 * set and cleared, and what must hold with the others; `phase` is the key:
 *
 * - READY: in its run's ready queue, exactly once; `throwing`/`input` say
 *   how it resumes; `waitingOn` is undefined.
 * - RUNNING: being stepped (its step's frame is on the stack; the innermost
 *   such task is `current`); it leaves RUNNING only through its own step.
 * - WAITING: not in the queue; `waitingOn` is the pending future and
 *   `resumer` is among that future's callbacks; `input` is undefined.
 * - DONE: settled as a future; `iterator`, `frames`, `pending` and
 *   `cancels` are undefined; it is in no scope's `tasks`; nothing changes
 *   any more.
 */
export class Fiber<T = unknown> extends Future<T> implements Task<T> {
  /** READY, RUNNING, WAITING or DONE (above); READY when made, and it is queued at once. */
  phase = READY;
  /**
   * With `input`, how it resumes: by throwing `input` (true) or sending it.
   * Set whenever it becomes READY, and by each step as it goes; meaningful
   * while READY or RUNNING.
   */
  throwing = false;
  /** What it resumes with (see `throwing`); undefined while WAITING. */
  input: unknown = undefined;
  /**
   * The innermost frame being run: undefined before its first step (then
   * `body` is set) and once DONE; set from `body` by the first step.
   */
  iterator: Iterator<unknown, unknown, unknown> | undefined = undefined;
  /**
   * Suspended outer frames of `stackless()` operations, innermost last
   * (`iterator` is the one running above them); empty or undefined when
   * no stackless frame runs; undefined once DONE.
   */
  frames: Iterator<unknown, unknown, unknown>[] | undefined = undefined;
  /** The pending future it waits on: set exactly while WAITING. */
  waitingOn: Future<unknown> | undefined = undefined;
  /**
   * The wait is linked to another thread: true exactly while WAITING on a
   * future that had a link when the wait began, and then the task is in its
   * run's `linked` set (cleared together when the wait ends).
   */
  linked = false;
  /**
   * Cancellations not delivered yet, oldest first: each is thrown at one of
   * its next waits, in turn (guarantee 3). A cause is here, or in
   * `cancels`, once, never in both.
   */
  pending: Error[] | undefined = undefined;
  /**
   * Every cancellation delivered (guarantee 4: a task that ends with one of
   * these ends cancelled; with any other `CancelledError`, rejected).
   * Cleared when the task ends.
   */
  cancels: Error[] | undefined = undefined;
  /** `cancel()` was called: the cause it gave (set once; later calls add none). */
  cancelledBy: Error | undefined = undefined;
  /**
   * What it was resumed from (a future whose outcome is in `input`, or a
   * yield point): set only while READY, when its wait ended, and cleared at
   * its next step (or when a cancellation takes the outcome's place): a
   * cancellation may now come before that outcome (guarantee 3).
   */
  resumedBy: Future<unknown> | typeof YIELD_POINT | undefined = undefined;
  /**
   * The scope the task was spawned in (none for a run's main task or an
   * `onAllWaiting` watcher): its `running` counts the task until it ends.
   */
  home: TaskScope | undefined = undefined;
  /**
   * Its context values (see `context.ts`): those of the task that spawned
   * it (or of the task that started the run), as they were then. Never
   * changed in place: a task that sets a value makes a new map, so the tasks
   * that share the old one keep theirs.
   */
  context: ReadonlyMap<object, unknown> | undefined = undefined;
  /**
   * The callback its waits give the awaited future's `onDone` (it resumes
   * the task): made at its first wait and kept, so later waits allocate
   * nothing; dropped from the future when a cancellation ends the wait.
   */
  resumer: ((future: Future<unknown>) => void) | undefined = undefined;

  constructor(
    readonly scheduler: Scheduler,
    /**
     * The innermost cancel scope the task is in now: it is in that scope's
     * `tasks` (and no other's) until it ends.
     */
    public scope: CancelScope,
    /**
     * What makes its iterator: cleared once its first step made one (a task
     * that ended before, cancelled or failing in `body`, keeps it).
     */
    public body: (() => Operation<T>) | undefined,
    readonly name: string,
  ) {
    super();
  }

  override cancel(reason?: unknown): boolean {
    if (this.phase === DONE) return false;
    // Once: a second cancel must not cut short the cleanup the first began.
    if (this.cancelledBy === undefined) {
      this.cancelledBy = toCancelledError(reason);
      this.scheduler.interrupt(this, this.cancelledBy);
    }
    return true;
  }

  override get [Symbol.toStringTag](): string {
    return `Task "${this.name}" <${this.state}>`;
  }
}

/** Where cancellation spreads: a tree of scopes, each with the tasks inside it. */
export class CancelScope {
  /** Tasks whose innermost scope this is. */
  readonly tasks: Set<Fiber> = new Set();
  readonly inner: Set<CancelScope> = new Set();
  /**
   * The errors the tasks inside were cancelled with, by this scope or one
   * around it: a task that ends with one of them absorbed it.
   */
  errors: Error[] | undefined = undefined;
  /** The cancellations this scope itself caused (its cancel, deadline or failure). */
  caused: Error[] | undefined = undefined;

  constructor(readonly scheduler: Scheduler, readonly parent: CancelScope | undefined) {
    parent?.inner.add(this);
  }

  /** Cancels every task inside with `error`, which this scope causes. */
  cancelAll(error: Error): void {
    (this.caused ??= []).push(error);
    this.interruptAll(error);
  }

  /** Delivers `error` to every task inside, at any depth. */
  interruptAll(error: Error): void {
    (this.errors ??= []).push(error);
    for (const task of this.tasks) this.scheduler.interrupt(task, error);
    for (const scope of this.inner) scope.interruptAll(error);
  }

  /** `error` is one this scope was cancelled with. */
  isInterrupt(error: unknown): boolean {
    return this.errors !== undefined && this.errors.includes(error as Error);
  }

  /** Moves `task` in (it enters this scope's body). */
  enter(task: Fiber): void {
    task.scope.tasks.delete(task);
    this.tasks.add(task);
    task.scope = this;
  }

  /** Moves `task` back out, and forgets this scope. */
  exit(task: Fiber): void {
    this.tasks.delete(task);
    this.parent!.tasks.add(task);
    task.scope = this.parent!;
    this.parent!.inner.delete(this);
    // This scope's own cancellations end here: those that never reached the
    // task are dropped, and those that did are no longer the task's own (a
    // task that ends with one, out here, failed). Those of the scopes around
    // it, and the task's own `cancel()`, go on.
    const caused = this.caused;
    if (caused === undefined) return;
    const outside = (error: Error) => !caused.includes(error);
    if (task.pending !== undefined) task.pending = task.pending.filter(outside);
    if (task.cancels !== undefined) task.cancels = task.cancels.filter(outside);
  }
}

/** The scope whose deadline a `TimeoutError` is: its delivery cuts work short. */
const deadlineScopes = new WeakMap<Error, TaskScope>();

/** The later failures of a scope, attached to the first one (which is thrown). */
export const laterErrorsOf: WeakMap<object, unknown[]> = new WeakMap();

/** A scope tasks are spawned in; see `scope()`. */
export class TaskScope extends CancelScope {
  /** Spawned tasks not ended yet. */
  running = 0;
  failed = false;
  failure: unknown = undefined;
  /** The scope's deadline passed before it ended (its `TimeoutError`). */
  expired: TimeoutError | undefined = undefined;
  /**
   * `expired` was delivered to a task of the scope: some work was cut short,
   * so the scope throws it (fail_after), whatever its body returned.
   */
  cutShort = false;

  /** Its own deadline, on its run's clock (Infinity: none). */
  deadline = Infinity;

  /** The deadline passed: every task inside is cancelled with `error`. */
  expire(error: TimeoutError): void {
    this.expired = error;
    deadlineScopes.set(error, this);
    this.cancelAll(error);
  }
  ended = false;
  cancelledByUser = false;
  #joined: Future<void> | undefined = undefined;

  spawn<T>(body: () => Operation<T>): Task<T> {
    if (this.ended) {
      throw new TypeError(
        "scope.spawn(): this scope has ended; spawn tasks while its body runs",
      );
    }
    if (typeof body !== "function") {
      throw new TypeError(
        `scope.spawn(): expected a function that returns an operation, got ${typeof body}`,
      );
    }
    this.running++;
    return this.scheduler.spawn(body, this);
  }

  cancel(reason?: unknown): void {
    if (this.cancelledByUser || this.ended) return;
    this.cancelledByUser = true;
    this.cancelAll(toCancelledError(reason));
  }

  /** A future that settles when no spawned task is left. */
  joined(): Future<void> {
    const joined = this.#joined;
    if (joined !== undefined && joined.state === "pending") return joined;
    return this.#joined = new Future<void>();
  }

  /** A spawned task ended; one that ended `cancelled` absorbed its cancellation (guarantee 4). */
  childEnded(state: number, value: unknown): void {
    this.running--;
    if (state === REJECTED) this.fail(value, false);
    if (this.running === 0 && this.#joined !== undefined) {
      internals.settle(this.#joined, FULFILLED, undefined);
    }
  }

  /**
   * Records a failure: the first cancels everything else in the scope; the
   * later ones are attached to it. The cancellations of this scope (or of
   * one around it) are not failures: they were caused here.
   */
  fail(error: unknown, fromBody: boolean): void {
    if (this.isInterrupt(error)) return;
    if (!this.failed) {
      this.failed = true;
      this.failure = error;
      this.cancelAll(
        new CancelledError(
          fromBody ? "cancelled: the scope's body failed" : "cancelled: a task in the scope failed",
          { cause: error },
        ),
      );
    } else if (
      error !== this.failure && typeof this.failure === "object" && this.failure !== null
    ) {
      const later = laterErrorsOf.get(this.failure);
      if (later === undefined) laterErrorsOf.set(this.failure, [error]);
      else if (!later.includes(error)) later.push(error);
    }
  }
}

/**
 * Milliseconds until the nearest deadline of the scopes the running task
 * is in, on its run's clock (0 once passed); undefined outside a task.
 */
export function taskTimeLeft(): number | undefined {
  if (current === undefined) return undefined;
  let deadline = Infinity;
  for (let scope: CancelScope | undefined = current.scope; scope; scope = scope.parent) {
    if (scope instanceof TaskScope && scope.deadline < deadline) deadline = scope.deadline;
  }
  return Math.max(0, deadline - current.scheduler.clock.now());
}

/** The task running now, if any. */
export function runningFiber(): Fiber | undefined {
  return current;
}

/** The task running now (inside an operation), or a TypeError naming `what`. */
export function currentFiber(what: string): Fiber {
  if (current === undefined) {
    throw new TypeError(
      `${what} works only inside a task: in the body of run(), runAsync() or startGuestRun(), or a task they spawn`,
    );
  }
  return current;
}

/** A hosted run's driver, as the run loop sees it. */
export interface ReadyListener {
  /** A task became ready: the driver asks its host for a turn unless one is coming. */
  taskReady(): void;
}

/** One run: its ready queue, timers and clock. */
export class Scheduler implements ClockListener {
  readonly #queue: (Fiber | undefined)[] = [];
  #timers: Timers | undefined = undefined;
  /** The run's main task (set by `start`, let go by `release`): the run ends when it does. */
  #main: Fiber | undefined = undefined;
  /** Waiting tasks whose futures are linked to other threads. */
  readonly #linked = new Set<Fiber>();
  /**
   * No linked wait's deadline is earlier (it may be later: a wait that ended
   * leaves it, and the next look works it out again).
   */
  #linkDeadline = Infinity;
  /** When a blocking run last looked for waits whose other thread is gone. */
  #lastStallCheck = performance.now();
  /** What `onAllWaiting()` was given, for the next time every task waits (guarantee 7). */
  #whenAllWait: (() => unknown)[] | undefined = undefined;
  readonly root: CancelScope = new CancelScope(this, undefined);

  /**
   * `driver`: a hosted run's driver, told when a task becomes ready, so
   * that it asks its host for a turn (undefined: a blocking run, whose
   * driver looks at the queue itself). An object rather than a callback: a
   * hosted run is made per `runAsync`, and a closure more each time showed
   * in its cost.
   */
  constructor(readonly clock: Clock, readonly driver?: ReadyListener) {
    if (clock instanceof VirtualClock) attachToClock(clock, this);
  }

  /** A blocking run (Promises cannot settle while it waits). */
  get blocking(): boolean {
    return this.driver === undefined;
  }

  get timers(): Timers {
    return this.#timers ??= new Timers();
  }

  /** The run's main task. */
  start<T>(body: () => Operation<T>, name: string): Fiber<T> {
    const fiber = new Fiber<T>(this, this.root, body, body.name || name);
    fiber.context = current?.context; // a run inside a task starts from its values
    this.root.tasks.add(fiber as Fiber);
    this.#main = fiber as Fiber;
    this.#enqueue(fiber as Fiber);
    return fiber;
  }

  spawn<T>(body: () => Operation<T>, scope: TaskScope): Fiber<T> {
    const fiber = new Fiber<T>(this, scope, body, body.name || "task") as Fiber;
    fiber.home = scope;
    fiber.context = current?.context;
    scope.tasks.add(fiber);
    if (scope.errors !== undefined) fiber.pending = [scope.errors[scope.errors.length - 1]];
    this.#enqueue(fiber);
    return fiber as Fiber<T>;
  }

  /** Calls `callback` the next time every task of this run waits (guarantee 7). */
  onAllWaiting(callback: () => unknown): void {
    (this.#whenAllWait ??= []).push(callback);
  }

  /** Callbacks given to `onAllWaiting()` wait for the next time every task waits. */
  get flushesWaiting(): boolean {
    return this.#whenAllWait !== undefined;
  }

  /** Every task waits: runs the `onAllWaiting` callbacks; true if there were any. */
  allWaiting(): boolean {
    const callbacks = this.#whenAllWait;
    if (callbacks === undefined) return false;
    this.#whenAllWait = undefined;
    for (const callback of callbacks) {
      let returned: unknown;
      const outer = flushing;
      flushing = this;
      try {
        returned = callback();
      } catch (error) {
        reportError(error);
        continue;
      } finally {
        flushing = outer;
      }
      this.#watchFlush(returned);
    }
    return true;
  }

  /** What an `onAllWaiting` callback returned: a future (or Promise) is waited on (guarantee 7). */
  #watchFlush(returned: unknown): void {
    // A Promise is waited on as `yield*` of it would be (a blocking run
    // says, rather than hang, that it cannot let a Promise settle).
    if (
      !(returned instanceof Future) &&
      typeof (returned as PromiseLike<unknown>)?.then === "function"
    ) {
      returned = Future.from(returned as PromiseLike<unknown>);
    }
    if (!(returned instanceof Future) || returned.state === "fulfilled") return;
    const future = returned;
    // Waited on as a task would: the run wakes for it (its failure is the callback's to handle).
    const watcher = new Fiber(this, this.root, function* () {
      try {
        yield* future;
      } catch { /* the callback's own to handle */ }
    }, "onAllWaiting");
    this.root.tasks.add(watcher as Fiber);
    this.#enqueue(watcher as Fiber);
  }

  /** A future fulfilled `ms` from now on this run's clock. */
  after(ms: number): Future<void> {
    const future = new Future<void>();
    const timers = this.timers;
    const timer = timers.add(
      this.clock.now() + ms,
      () => void internals.settle(future, FULFILLED, undefined),
    );
    future.onDone(() => timers.remove(timer));
    return future;
  }

  /** Delivers a cancellation (guarantee 3); `cancelWait: false` leaves the awaited future alone. */
  interrupt(fiber: Fiber, error: Error, cancelWait = true): void {
    if (
      fiber.phase === DONE || fiber.cancels?.includes(error) || fiber.pending?.includes(error)
    ) {
      return;
    }
    if (fiber.phase === READY && fiber.resumedBy !== undefined && this.#giveBack(fiber, error)) {
      // Its wait ended, but it has not seen the outcome: the cancel came first.
      fiber.resumedBy = undefined;
      this.#deliver(fiber, error);
      return;
    }
    if (fiber.phase !== WAITING) {
      (fiber.pending ??= []).push(error);
      return;
    }
    const waited = fiber.waitingOn!;
    this.#endWait(fiber);
    internals.unsubscribe(waited, fiber.resumer!);
    this.#deliver(fiber, error);
    this.#enqueue(fiber);
    if (cancelWait && !(waited instanceof Fiber)) waited.cancel(error);
  }

  /**
   * Whether `error` may come before the outcome the task was resumed with,
   * losing nothing (guarantee 3): a yield point; a wait that failed with
   * this very cancellation, or with another one; or a value that goes back
   * where it came from (a future marked by `handsOver`: only this task sees
   * it). Any other outcome (a permit, a queue item, a call's result, which
   * others may see too; a failure, which must not go unseen) stays the
   * task's: it resumes with it.
   */
  #giveBack(fiber: Fiber, error: Error): boolean {
    const from = fiber.resumedBy;
    if (from === YIELD_POINT) return true;
    if (fiber.throwing) return fiber.input === error || fiber.input instanceof CancelledError;
    const giveBack = internals.giveBack(from!);
    if (giveBack === undefined) return false;
    giveBack(fiber.input);
    return true;
  }

  /**
   * The oldest cancellation still pending for `fiber`, now delivered (a
   * scope's end is a point where one may be): undefined if none.
   */
  checkpoint(fiber: Fiber): Error | undefined {
    return fiber.pending?.length ? this.#take(fiber) : undefined;
  }

  /**
   * Cancellations delivered to `fiber` that a scope did not pass on (it
   * threw something else): pending again, first, so that none is lost.
   */
  undeliver(fiber: Fiber, errors: Error[]): void {
    fiber.cancels = fiber.cancels?.filter((error) => !errors.includes(error));
    fiber.pending = [...errors, ...(fiber.pending ?? [])];
  }

  /** The task will be resumed by throwing `error` (guarantees 3 and 4). */
  #deliver(fiber: Fiber, error: Error): void {
    (fiber.cancels ??= []).push(error);
    fiber.throwing = true;
    fiber.input = error;
    cutShort(error);
  }

  clockMoved(): void {
    this.fireTimers();
  }

  // ---- stepping ----

  #enqueue(fiber: Fiber): void {
    fiber.phase = READY;
    this.#queue.push(fiber);
    this.driver?.taskReady();
  }

  #resume(fiber: Fiber, future: Future<unknown>): void {
    if (fiber.waitingOn !== future) return; // it stopped waiting (cancelled) meanwhile
    this.#endWait(fiber);
    // (No Outcome object: read in place, once per resumed wait.)
    fiber.throwing = internals.state(future) !== FULFILLED;
    fiber.input = internals.value(future);
    fiber.resumedBy = future;
    this.#enqueue(fiber);
  }

  #endWait(fiber: Fiber): void {
    fiber.waitingOn = undefined;
    if (fiber.linked) {
      fiber.linked = false;
      this.#linked.delete(fiber);
    }
  }

  /**
   * Runs `fiber` until it waits on something pending or ends (guarantee 1).
   * This frame stays on the stack while the task runs a nested `run()`, so it
   * only resumes the iterator; what the task yielded is handled by
   * {@linkcode Scheduler.#next}, whose frame is gone by then.
   */
  #step(fiber: Fiber): void {
    const previous = current;
    const outerFlush = flushing;
    current = fiber;
    flushing = undefined; // (a run started in a flush has tasks of its own)
    fiber.phase = RUNNING;
    fiber.resumedBy = undefined;
    try {
      let iterator = fiber.iterator ?? this.#begin(fiber);
      while (iterator !== undefined) {
        let result: IteratorResult<unknown, unknown> | undefined;
        try {
          result = fiber.throwing ? throwInto(iterator, fiber.input) : iterator.next(fiber.input);
        } catch (error) {
          fiber.throwing = true;
          fiber.input = error;
        }
        iterator = this.#next(fiber, result);
      }
    } finally {
      current = previous;
      flushing = outerFlush;
    }
  }

  /** The task's first step: its iterator, or undefined if it ended at once. */
  #begin(fiber: Fiber): Iterator<unknown, unknown, unknown> | undefined {
    if (fiber.pending?.length) {
      this.#finish(fiber, this.#take(fiber));
      return undefined;
    }
    try {
      const iterator = fiber.iterator = fiber.body!()[Symbol.iterator]();
      fiber.body = undefined;
      return iterator;
    } catch (error) {
      this.#finish(fiber, error);
      return undefined;
    }
  }

  /**
   * After the task's iterator returned `result` (undefined: it threw
   * `fiber.input`): sets what to resume it with, and returns the iterator to
   * resume now, or undefined when the task waits or ended.
   */
  #next(
    fiber: Fiber,
    result: IteratorResult<unknown, unknown> | undefined,
  ): Iterator<unknown, unknown, unknown> | undefined {
    if (result === undefined || result.done) return this.#frameEnded(fiber, result);
    // What it yielded, kind by kind (the yield protocol).
    const yielded: unknown = result.value;
    if (yielded instanceof Future) return this.#yieldedFuture(fiber, yielded);
    if (yielded === YIELD_POINT) return this.#yieldedPoint(fiber);
    if (yielded instanceof StacklessFrame) return this.#yieldedFrame(fiber, yielded);
    return this.#yieldedOther(fiber, yielded);
  }

  /** A frame ended (`result`; undefined: it threw `fiber.input`): its outer stackless frame goes on, or the task ends. */
  #frameEnded(
    fiber: Fiber,
    result: IteratorReturnResult<unknown> | undefined,
  ): Iterator<unknown, unknown, unknown> | undefined {
    const outer = fiber.frames?.pop();
    if (result !== undefined) {
      fiber.throwing = false;
      fiber.input = result.value;
    }
    if (outer === undefined) {
      this.#finish(fiber, fiber.input, !fiber.throwing);
      return undefined;
    }
    return fiber.iterator = outer;
  }

  /** It yielded a future: goes on with its outcome if settled, else waits (or takes a pending cancellation). */
  #yieldedFuture(
    fiber: Fiber,
    future: Future<unknown>,
  ): Iterator<unknown, unknown, unknown> | undefined {
    const state = internals.state(future);
    if (state >= FULFILLED) {
      fiber.throwing = state !== FULFILLED;
      fiber.input = internals.value(future);
      return fiber.iterator;
    }
    if (fiber.pending?.length) {
      fiber.throwing = true;
      fiber.input = this.#take(fiber);
      if (!(future instanceof Fiber)) future.cancel(fiber.input);
      return fiber.iterator;
    }
    this.#wait(fiber, future);
    return undefined;
  }

  /** It yielded a yield point: to the back of the queue (or a pending cancellation, at once). */
  #yieldedPoint(fiber: Fiber): Iterator<unknown, unknown, unknown> | undefined {
    if (fiber.pending?.length) {
      fiber.throwing = true;
      fiber.input = this.#take(fiber);
      return fiber.iterator;
    }
    fiber.throwing = false;
    fiber.input = undefined;
    fiber.resumedBy = YIELD_POINT;
    this.#enqueue(fiber);
    return undefined;
  }

  /** It yielded a stackless frame: its operation becomes the innermost frame. */
  #yieldedFrame(
    fiber: Fiber,
    frame: StacklessFrame<unknown>,
  ): Iterator<unknown, unknown, unknown> | undefined {
    fiber.throwing = false;
    fiber.input = undefined;
    (fiber.frames ??= []).push(fiber.iterator!);
    try {
      return fiber.iterator = frame.operation[Symbol.iterator]();
    } catch (error) {
      fiber.throwing = true;
      fiber.input = error;
      return fiber.iterator = fiber.frames.pop()!;
    }
  }

  /** It yielded something else (a `yield` meant as `yield*`): a TypeError is thrown back at it. */
  #yieldedOther(fiber: Fiber, yielded: unknown): Iterator<unknown, unknown, unknown> {
    fiber.throwing = true;
    fiber.input = new TypeError(
      `task "${fiber.name}" yielded ${describeValue(yielded)}: ` +
        "wait on futures and operations with yield*, not yield",
    );
    return fiber.iterator!;
  }

  /** The task waits on `future`, which is pending. */
  #wait(fiber: Fiber, future: Future<unknown>): void {
    fiber.input = undefined;
    fiber.waitingOn = future;
    fiber.phase = WAITING;
    const link = internals.link(future)?.waiting;
    if (link !== undefined) {
      fiber.linked = true;
      this.#linked.add(fiber);
      const deadline = link.deadline;
      if (deadline !== undefined && deadline < this.#linkDeadline) this.#linkDeadline = deadline;
    }
    future.onDone(fiber.resumer ??= (settled) => this.#resume(fiber, settled));
  }

  /** The oldest pending cancellation, now delivered. */
  #take(fiber: Fiber): Error {
    const error = fiber.pending!.shift()!;
    (fiber.cancels ??= []).push(error);
    cutShort(error);
    return error;
  }

  #finish(fiber: Fiber, value: unknown, ok = false): void {
    fiber.phase = DONE;
    fiber.iterator = fiber.frames = undefined;
    fiber.pending = undefined;
    fiber.scope.tasks.delete(fiber);
    // Guarantee 4: only a cancellation delivered to this task ends it cancelled.
    const state = ok
      ? FULFILLED
      : value instanceof CancelledError && fiber.cancels?.includes(value)
      ? CANCELLED
      : REJECTED;
    fiber.cancels = undefined;
    internals.settle(fiber, state, value, true);
    fiber.home?.childEnded(state, value);
  }

  // ---- the core: one turn of the run loop (guarantees 1 and 2) ----

  /**
   * One turn of a hosted run: steps the tasks ready now, one FIFO batch
   * (guarantee 1), then, unless the run ended, fires the timers that are due
   * and fails the calls whose timeout passed (guarantee 2). The hosted driver
   * repeats it and asks its host for the next; `runBlocking` makes the same
   * turn inline (see there), and blocks between turns.
   */
  tick(): void {
    const queue = this.#queue;
    const end = queue.length;
    if (end > 0) {
      for (let i = 0; i < end; i++) {
        const fiber = queue[i]!;
        queue[i] = undefined;
        this.#step(fiber);
      }
      if (queue.length === end) queue.length = 0;
      else queue.splice(0, end);
      if (this.#main === undefined || this.#main.phase === DONE) return;
    }
    this.#fireDue();
  }

  /** A task is ready. */
  get ready(): boolean {
    return this.#queue.length > 0;
  }

  /** When the next timer is due, on the run's clock (Infinity: none). */
  nextTimerDue(): number {
    const next = this.#timers?.next();
    return next === undefined ? Infinity : next.due;
  }

  /** Fires the timers due on the run's clock; true if any did. */
  fireTimers(): boolean {
    const timers = this.#timers;
    return timers !== undefined && timers.size > 0 && timers.fireDue(this.clock.now());
  }

  /**
   * No task is ready: a `VirtualClock` with `autojump` jumps to the next
   * timer (both drivers come here; the hosted one after its host's turn,
   * so that what was about to settle settles first). True if it jumped.
   */
  autojump(): boolean {
    const clock = this.clock;
    if (!(clock instanceof VirtualClock) || !clock.autojump || this.#queue.length > 0) return false;
    const due = this.nextTimerDue();
    if (due === Infinity) return false;
    clock.advance(Math.max(0, due - clock.now()));
    return true;
  }

  /**
   * The run ended: its clock no longer tells it when it moves, and it lets
   * go of its main task. (Measured: a scheduler that kept its ended main
   * task made `runAsync` 1.4× slower in a loop of runs, as V8's young
   * generation grew to twice its size: an ended scheduler already promoted
   * to the old generation keeps its task alive through scavenges.)
   */
  release(): void {
    if (this.clock instanceof VirtualClock) detachFromClock(this.clock, this);
    this.#main = undefined;
  }

  /** Fires due timers and fails calls whose timeout passed; true if any did. */
  #fireDue(): boolean {
    let fired = this.fireTimers();
    if (this.#linkDeadline !== Infinity) {
      const now = performance.now();
      if (now >= this.#linkDeadline) fired = this.#expireLinks(now) || fired;
    }
    return fired;
  }

  /**
   * Expires the linked waits whose deadline (a call's timeout, a worker's
   * start) passed, and works out the next one; true if any passed. A
   * blocking run must do this itself: the call's own timer is an event-loop
   * timer, which cannot fire while the thread blocks.
   */
  #expireLinks(now: number): boolean {
    let next = Infinity;
    let expired = false;
    for (const fiber of this.#linked) {
      const link = internals.link(fiber.waitingOn!)!.waiting!;
      let deadline = link.deadline ?? Infinity;
      if (deadline <= now) {
        expired = true;
        link.expire?.();
        if (fiber.phase !== WAITING) continue; // the expiry settled what it waited on
        const stalled = link.stalled();
        if (stalled !== undefined) {
          this.interrupt(fiber, stalled, false);
          link.gaveUp?.();
          continue;
        }
        deadline = link.deadline ?? Infinity;
      }
      if (deadline > now && deadline < next) next = deadline;
    }
    this.#linkDeadline = next;
    return expired;
  }

  // ---- the blocking driver (guarantee 5) ----

  /**
   * Drives the run on this thread until `main` ends: turns, and between
   * them, what other threads sent (guarantee 2), or, when no task is ready,
   * a block (guarantee 5). (Its frame stays on the stack while a task runs
   * a nested `run()`, under `tick`'s: it is kept small.)
   */
  runBlocking<T>(body: () => Operation<T>, name: string): Fiber<T> {
    if (runDepth >= MAX_RUN_DEPTH) {
      throw new RangeError(
        `run() nested ${MAX_RUN_DEPTH} levels deep, the most tandem allows (each level holds ` +
          "stack): make the recursion a loop, or recurse with yield* inside one run (stackless() " +
          "for any depth)",
      );
    }
    const main = this.start(body, name);
    const queue = this.#queue;
    runDepth++;
    try {
      for (;;) {
        // `tick()`'s turn, written out: this frame and `#step`'s stay on the
        // stack while a task runs a nested run(), and a call to `tick` would
        // be a frame more under every level (measured: a third fewer spare
        // frames at depth 1000), so guarantee 6 keeps its margin.
        const end = queue.length;
        if (end > 0) {
          for (let i = 0; i < end; i++) {
            const fiber = queue[i]!;
            queue[i] = undefined;
            this.#step(fiber);
          }
          if (queue.length === end) queue.length = 0;
          else queue.splice(0, end);
        }
        if (main.phase === DONE) return main;
        this.#fireDue();
        if (end > 0) currentWaker().pump();
        else this.#idleBlocking();
      }
    } finally {
      runDepth--;
      this.release();
    }
  }

  /**
   * No task was ready for the turn that just ended: runs the `onAllWaiting`
   * callbacks (guarantee 7), jumps a virtual clock, or blocks until
   * something may be ready. (The next timer is looked up after the pump,
   * not taken from `tick`: the callbacks and the pump may have added one.)
   */
  #idleBlocking(): void {
    if (this.#queue.length > 0 || this.allWaiting()) return;
    // (The ticket is read before the pump, and blocked on with the same
    // waker: a ring in between is not missed.)
    const waker = currentWaker();
    const ticket = waker.ticket();
    waker.pump();
    if (this.#queue.length > 0 || this.autojump()) return;
    // What could wake the run in real time: a timer, a call's deadline.
    const timerDue = this.nextTimerDue();
    const now = performance.now();
    // (A real clock is `performance`: its timers are due on the same time.)
    const due = Math.min(
      this.clock instanceof VirtualClock ? Infinity : timerDue,
      this.#linkDeadline,
    );
    if (due === Infinity || now - this.#lastStallCheck >= STALL_CHECK_MS) {
      this.#lastStallCheck = now;
      const { delivered, linked } = this.#deliverStalls(due === Infinity);
      if (delivered) return;
      if (due === Infinity && !linked) {
        this.#deadlock(timerDue === Infinity ? undefined : timerDue);
        return;
      }
    }
    const wait = Math.min(due, this.#lastStallCheck + STALL_CHECK_MS) - now;
    if (wait > 0) this.#block(waker, ticket, wait);
  }

  #block(waker: Waker, ticket: number, ms: number): void {
    if (this.#linked.size > 0) waker.block(ticket, ms);
    else waker.rest(ticket, ms);
  }

  /**
   * Fails the waits whose other thread is gone, and tells whether any wait
   * is still linked to a live one. A wait only this thread could end (a
   * `localStall`: a primitive nobody else holds, say) fails only when
   * nothing else could happen (`idle`: no timer is due) and no other wait is
   * linked to a live thread: until then, a task of this run may end it.
   */
  #deliverStalls(idle: boolean): { delivered: boolean; linked: boolean } {
    let delivered = false;
    let live = false;
    let local: Fiber[] | undefined;
    for (const fiber of this.#linked) {
      const link: WaitPolicy = internals.link(fiber.waitingOn!)!.waiting!;
      const stalled = link.stalled();
      if (stalled === undefined) live = true;
      else if (isLocalStall(stalled)) (local ??= []).push(fiber);
      else {
        this.interrupt(fiber, stalled, false);
        link.gaveUp?.();
        delivered = true;
      }
    }
    if (local === undefined) return { delivered, linked: live };
    if (!idle || live || delivered) return { delivered, linked: true };
    for (const fiber of local) {
      const link: WaitPolicy = internals.link(fiber.waitingOn!)!.waiting!;
      const stalled = link.stalled();
      if (stalled === undefined) continue;
      this.interrupt(fiber, stalled, false);
      link.gaveUp?.();
    }
    return { delivered: true, linked: false };
  }

  #deadlock(virtualDue: number | undefined): void {
    const waiting = [...this.#fibers()].filter((fiber) => fiber.phase === WAITING);
    const leaves = waiting.filter((fiber) => !(fiber.waitingOn instanceof Fiber));
    const stuck = leaves.length > 0 ? leaves : waiting;
    const shown = stuck.slice(0, 3).map((fiber) =>
      `task "${fiber.name}" waits on ${describeWait(fiber.waitingOn!)}`
    );
    if (stuck.length > 3) shown.push(`${stuck.length - 3} more`);
    const why = virtualDue === undefined
      ? "no timer is pending and no other thread can settle what they wait on"
      : `the next timer is due at virtual time ${virtualDue}, but this VirtualClock moves only ` +
        "by advance() (give it { autojump: true })";
    const error = new DeadlockError(
      `run() cannot go on: every task waits and nothing can wake them (${why}): ${
        shown.join("; ")
      }`,
    );
    for (const fiber of stuck) this.interrupt(fiber, error);
  }

  *#fibers(scope: CancelScope = this.root): Generator<Fiber> {
    yield* scope.tasks;
    for (const inner of scope.inner) yield* this.#fibers(inner);
  }
}

/**
 * How deep blocking runs may nest (guarantee 6): Python's default recursion
 * limit, which duet's users live with. Each level keeps a few frames of the
 * run loop and of the task on the stack; V8's default stack holds about
 * 1 250 levels of a nested `sync()` function whose code has not been
 * optimised yet (the largest frames), so a quarter is left for the code
 * between the levels.
 */
export const MAX_RUN_DEPTH = 1000;
let runDepth = 0;

function describeWait(future: Future<unknown>): string {
  if (future instanceof Fiber) return `task "${future.name}"`;
  if (internals.adoptsPromise(future)) {
    return "a Promise of this thread (a blocking run() cannot let Promises settle: use runAsync(), or a background loop)";
  }
  return "a future only this thread could settle";
}

/** A scope's deadline `error` reached a task: that scope cut work short. */
function cutShort(error: Error): void {
  const scope = deadlineScopes.get(error);
  if (scope !== undefined) scope.cutShort = true;
}

/** Resumes `iterator` by throwing `error` at its `yield` (or ends it, if it cannot take one). */
function throwInto(
  iterator: Iterator<unknown, unknown, unknown>,
  error: unknown,
): IteratorResult<unknown, unknown> {
  if (iterator.throw) return iterator.throw(error);
  iterator.return?.();
  throw error;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") {
    const name = (value as object).constructor?.name;
    return name ? `a ${name}` : "an object";
  }
  if (typeof value === "function") return "a function";
  return `${typeof value} ${String(value)}`;
}
