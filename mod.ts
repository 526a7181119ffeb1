/**
 * tandem: synchronous and asynchronous code, working together.
 *
 * - **Background loops**: Web Workers whose event loops serve a module's
 *   exported functions; every call returns a {@linkcode Future}.
 * - **Futures** you can `await`, block on with `wait()` (Atomics), or
 *   `yield*` in a task; they cross threads as live handles.
 * - **A re-entrant scheduler** whose `run()` works from sync code, even inside
 *   a running task: generator tasks, scopes, timeouts, `pmap`, guest mode.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackgroundLoop, pmap, run } from "@tandem/tandem";
 * // tasks.ts, inline so that the example runs as it is. A program serves the file:
 * // BackgroundLoop.start<typeof import("./tasks.ts")>(new URL("./tasks.ts", import.meta.url))
 * const tasks = "data:application/typescript,export const add = (a: number, b: number) => a + b;";
 * using loop = BackgroundLoop.start<{ add(a: number, b: number): number }>(tasks);
 * assert.equal(loop.api.add(1, 2).wait(), 3); // this thread blocked for it
 * assert.equal(await loop.api.add(2, 3), 5); // the event loop kept running
 * const sums = run(() => pmap((n: number) => loop.api.add(n, n), [1, 2, 3]));
 * assert.deepEqual(sums, [2, 4, 6]); // tasks driven from sync code
 * ```
 *
 * @module
 */

// The worker's entry, imported so that it is fetched and cached with the
// rest: a worker started while this thread blocks cannot wait for a download.
import "./src/worker.ts";

export {
  CancelledError,
  DeadlockError,
  LoopClosedError,
  LoopNotFoundError,
  QueueClosedError,
  TimeoutError,
  UnknownTaskTypeError,
  WorkerCrashedError,
} from "./src/errors.ts";
export type { TandemErrorOptions } from "./src/errors.ts";
export { Future } from "./src/future/future.ts";
export { transfer } from "./src/future/transfer.ts";
export type { Movable } from "./src/future/transfer.ts";
export type { FutureState } from "./src/future/future.ts";
export type { Operation, Waitable } from "./src/future/waitable.ts";
export { BackgroundLoop } from "./src/loop/background_loop.ts";
export type { CallOptions, LoopApi, LoopOptions } from "./src/loop/background_loop.ts";
export type { WorkerPermissions } from "./src/platform/types.ts";
export type { Executor, FunctionRef } from "./src/loop/executor.ts";
export { currentSignal } from "./src/loop/current_signal.ts";
export { timeLeft } from "./src/loop/time_left.ts";
export { run, sync } from "./src/scheduler/run.ts";
export type { RunOptions } from "./src/scheduler/run.ts";
export { runAsync, startGuestRun } from "./src/scheduler/run_async.ts";
export type { GuestHost } from "./src/scheduler/run_async.ts";
export type { Outcome } from "./src/future/outcome.ts";
export type { Task } from "./src/scheduler/run_loop.ts";
export { laterErrors, scope } from "./src/scheduler/scope.ts";
export type { Scope, ScopeOptions } from "./src/scheduler/scope.ts";
export { sleep } from "./src/scheduler/sleep.ts";
export { deadline, timeout } from "./src/scheduler/timeout.ts";
export { until } from "./src/scheduler/until.ts";
export { pmap, pstarmap } from "./src/scheduler/pmap.ts";
export type { PmapOptions } from "./src/scheduler/pmap.ts";
export { Limiter } from "./src/scheduler/limiter.ts";
export { VirtualClock } from "./src/scheduler/virtual_clock.ts";
export { stackless } from "./src/scheduler/stackless.ts";
export { createContext } from "./src/scheduler/context.ts";
export { onAllWaiting } from "./src/scheduler/on_all_waiting.ts";
export type { Context } from "./src/scheduler/context.ts";
export { Event } from "./src/primitives/event.ts";
export { Queue } from "./src/primitives/queue.ts";
export type { QueueOptions } from "./src/primitives/queue.ts";
export { Semaphore } from "./src/primitives/semaphore.ts";
export { getLoop } from "./src/loop/get_loop.ts";
export { defaultExecutor, toThread } from "./src/loop/default_executor.ts";
export { ControlClient, ControlHost } from "./src/primitives/control.ts";
export type { ControlHandlers } from "./src/primitives/control.ts";
