/**
 * Task-local context (Python's contextvars as duet copies them at spawn,
 * effection's contexts): values a task sets and the tasks it spawns see.
 *
 * @module
 */

import type { Operation } from "../future/waitable.ts";
import { currentFiber, runningFiber } from "./run_loop.ts";

/**
 * A value each scheduler task has its own of: {@linkcode createContext}
 * makes one.
 */
export interface Context<T> {
  /** For messages. */
  readonly name: string;
  /** The running task's value: the default outside tasks, or if none was set. */
  get(): T;
  /**
   * Sets the running task's value, from now on; the tasks it spawns later
   * start with it. Throws a `TypeError` outside a task.
   */
  set(value: T): void;
  /**
   * Runs `body` with the value set to `value`, and puts the task's previous
   * value back when it ends (however it ends).
   */
  with<R>(value: T, body: () => Operation<R>): Operation<R>;
}

/**
 * A task-local value. A task sees what the task that spawned it had when
 * it spawned it (a copy: later changes on either side stay on that side),
 * and a run started inside a task (`run()`, `runAsync()`, a guest run)
 * starts from that task's values. A request id or a logger set around a
 * `spawn` reaches everything it starts, and nothing else. Contexts belong to
 * one thread: they do not cross to background calls (pass what they need
 * as arguments).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createContext, run, scope } from "@tandem/tandem";
 * const requestId = createContext("requestId", "none");
 * const seen = run(() =>
 *   scope(function* (s) {
 *     requestId.set("r-1");
 *     const child = s.spawn(function* () {
 *       const inherited = requestId.get();
 *       requestId.set("r-1/child"); // the child's own
 *       return inherited;
 *     });
 *     return [yield* child, requestId.get()];
 *   })
 * );
 * assert.deepEqual(seen, ["r-1", "r-1"]);
 * assert.equal(requestId.get(), "none"); // outside tasks: the default
 * ```
 */
export function createContext<T>(name: string, defaultValue: T): Context<T> {
  const key: Context<T> = {
    name,
    get(): T {
      const values = runningFiber()?.context;
      return values !== undefined && values.has(key) ? values.get(key) as T : defaultValue;
    },
    set(value: T): void {
      const fiber = currentFiber(`context "${name}".set()`);
      fiber.context = new Map(fiber.context).set(key, value);
    },
    *with<R>(value: T, body: () => Operation<R>): Generator<unknown, R, unknown> {
      const fiber = currentFiber(`context "${name}".with()`);
      const had = fiber.context?.has(key) === true;
      const previous = fiber.context?.get(key);
      fiber.context = new Map(fiber.context).set(key, value);
      try {
        return yield* body();
      } finally {
        const values = new Map(fiber.context);
        if (had) values.set(key, previous);
        else values.delete(key);
        fiber.context = values;
      }
    },
  };
  return key;
}
