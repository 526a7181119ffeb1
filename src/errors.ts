/**
 * The errors tandem throws. Each extends `Error`, has a `name` equal to its
 * class name, and answers `instanceof` for instances made by another copy of
 * this module (two bundles, or a value decoded on another thread), because the
 * check looks at a brand shared through `Symbol.for` rather than at the
 * prototype chain alone.
 *
 * @module
 */

const BRAND: unique symbol = Symbol.for("@tandem/tandem/error") as never;

/** Constructor options of every tandem error (the standard `cause`). */
export interface TandemErrorOptions {
  /** What led to this error. */
  cause?: unknown;
}

function isBranded(value: unknown, name: string): boolean {
  return typeof value === "object" && value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === name;
}

/** Defines the brand and the cross-copy `instanceof` of one error class. */
function brand(ctor: { prototype: object; name: string }, name: string): void {
  Object.defineProperty(ctor.prototype, BRAND, { value: name });
  Object.defineProperty(ctor.prototype, "name", {
    value: name,
    writable: true,
    configurable: true,
  });
  Object.defineProperty(ctor, Symbol.hasInstance, {
    value(this: { prototype: object }, value: unknown): boolean {
      return isBranded(value, name) ||
        Object.prototype.isPrototypeOf.call(this.prototype, value as object);
    },
  });
}

/**
 * A task, call or future was cancelled: by `cancel()`, an aborted signal, a
 * scope that failed, or a loop closed with `cancelPending`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CancelledError, Future } from "@tandem/tandem";
 * const { future } = Future.withResolvers<number>();
 * future.cancel("no longer needed");
 * assert.throws(() => future.wait(), CancelledError);
 * ```
 */
export class CancelledError extends Error {
  /** The reason given to `cancel(reason)` or the signal's `reason`, if any. */
  readonly reason: unknown;
  /**
   * Creates the error.
   * @param message what was cancelled
   * @param options `cause` and the `reason`
   */
  constructor(message = "cancelled", options?: TandemErrorOptions & { reason?: unknown }) {
    super(message, options);
    this.reason = options?.reason;
  }
}
brand(CancelledError, "CancelledError");

/**
 * A deadline passed: `wait(timeoutMs)` ran out (the future stays pending), or a
 * call's timeout fired (the call is cancelled).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackgroundLoop, TimeoutError } from "@tandem/tandem";
 * // An inline module, so that the example runs as it is (a file works the same).
 * using loop = BackgroundLoop.start(
 *   "data:application/typescript," +
 *     "export const slowJob = () => new Promise((done) => setTimeout(done, 50));",
 * );
 * assert.throws(() => loop.with({ timeoutMs: 10 }).call("slowJob").wait(), TimeoutError);
 * ```
 */
export class TimeoutError extends Error {
  /**
   * Creates the error.
   * @param message what timed out
   * @param options `cause`
   */
  constructor(message = "timed out", options?: TandemErrorOptions) {
    super(message, options);
  }
}
brand(TimeoutError, "TimeoutError");

/**
 * A blocking wait could never end: nothing outside this thread can settle
 * what it waits for (its resolvers never left this thread, or it adopts a
 * Promise of this thread). Thrown at once instead of hanging.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeadlockError, Future } from "@tandem/tandem";
 * const { future } = Future.withResolvers<number>(); // its resolvers stay on this thread
 * assert.throws(() => future.wait(), DeadlockError); // thrown at once, no hang
 * ```
 */
export class DeadlockError extends Error {
  /**
   * Creates the error.
   * @param message what could never be settled
   * @param options `cause`
   */
  constructor(
    message = "deadlock: nothing can settle what this thread waits for",
    options?: TandemErrorOptions,
  ) {
    super(message, options);
  }
}
brand(DeadlockError, "DeadlockError");

/**
 * The worker serving a call died (it called `self.close()` or `Deno.exit()`,
 * an uncaught error or unhandled rejection escaped, or it never started). The
 * worker's own error, when known, is the `cause`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackgroundLoop, WorkerCrashedError } from "@tandem/tandem";
 * // An inline module, so that the example runs as it is (a file works the same).
 * using loop = BackgroundLoop.start(
 *   "data:application/typescript,export const quit = () => self.close();", // the worker ends
 * );
 * await assert.rejects(loop.call("quit"), WorkerCrashedError);
 * ```
 */
export class WorkerCrashedError extends Error {
  /**
   * Creates the error.
   * @param message what died
   * @param options `cause`: the worker's error
   */
  constructor(message = "the worker crashed", options?: TandemErrorOptions) {
    super(message, options);
  }
}
brand(WorkerCrashedError, "WorkerCrashedError");

/**
 * The loop (or control host) was closed: calls made after `close()` fail with
 * it, and so do blocking waits that were cut short by the close.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackgroundLoop, LoopClosedError } from "@tandem/tandem";
 * // An inline module, so that the example runs as it is (a file works the same).
 * const loop = BackgroundLoop.start(
 *   "data:application/typescript,export const add = (a: number, b: number) => a + b;",
 * );
 * await loop.close();
 * await assert.rejects(loop.call("add", 1, 2), LoopClosedError);
 * ```
 */
export class LoopClosedError extends Error {
  /**
   * Creates the error.
   * @param message what was closed
   * @param options `cause`
   */
  constructor(message = "the loop is closed", options?: TandemErrorOptions) {
    super(message, options);
  }
}
brand(LoopClosedError, "LoopClosedError");

/**
 * A call to a loop started with `taskTypes` carried no task type, or one that
 * is not listed. The call never reaches the worker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackgroundLoop, UnknownTaskTypeError } from "@tandem/tandem";
 * // An inline module, so that the example runs as it is (a file works the same).
 * using loop = BackgroundLoop.start(
 *   "data:application/typescript,export const add = (a: number, b: number) => a + b;",
 *   { taskTypes: ["cpu"] },
 * );
 * assert.equal(await loop.with({ taskType: "cpu" }).call("add", 1, 2), 3);
 * await assert.rejects(loop.with({ taskType: "io" }).call("add", 1, 2), UnknownTaskTypeError);
 * ```
 */
export class UnknownTaskTypeError extends Error {
  /**
   * Creates the error.
   * @param message which type was refused
   * @param options `cause`
   */
  constructor(message = "unknown task type", options?: TandemErrorOptions) {
    super(message, options);
  }
}
brand(UnknownTaskTypeError, "UnknownTaskTypeError");

/**
 * `getLoop(id)` found no loop registered under that id on this thread or its
 * ancestors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getLoop, LoopNotFoundError } from "@tandem/tandem";
 * assert.throws(() => getLoop("db"), LoopNotFoundError); // no loop was started with name: "db"
 * ```
 */
export class LoopNotFoundError extends Error {
  /**
   * Creates the error.
   * @param message which id was looked for
   * @param options `cause`
   */
  constructor(message = "loop not found", options?: TandemErrorOptions) {
    super(message, options);
  }
}
brand(LoopNotFoundError, "LoopNotFoundError");

/**
 * A queue was closed: `put()` fails at once; `get()` fails once the queue is
 * drained.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Queue, QueueClosedError } from "@tandem/tandem";
 * const queue = new Queue<number>();
 * queue.put(1);
 * queue.close();
 * assert.throws(() => queue.put(2).wait(), QueueClosedError);
 * assert.equal(queue.get().wait(), 1); // what was put before still comes out
 * assert.throws(() => queue.get().wait(), QueueClosedError); // then get() fails too
 * ```
 */
export class QueueClosedError extends Error {
  /**
   * Creates the error.
   * @param message which queue
   * @param options `cause`
   */
  constructor(message = "the queue is closed", options?: TandemErrorOptions) {
    super(message, options);
  }
}
brand(QueueClosedError, "QueueClosedError");

/** The tandem error classes by name, for rebuilding errors that crossed threads. */
export const tandemErrors: Readonly<Record<string, new (message?: string) => Error>> = {
  CancelledError,
  TimeoutError,
  DeadlockError,
  WorkerCrashedError,
  LoopClosedError,
  UnknownTaskTypeError,
  LoopNotFoundError,
  QueueClosedError,
};

/**
 * A `DataCloneError` (a `DOMException`, as `structuredClone` throws): what
 * every refusal to send a value throws, so that callers catch one kind.
 * @internal
 */
export function dataCloneError(message: string): DOMException {
  return new DOMException(message, "DataCloneError");
}
