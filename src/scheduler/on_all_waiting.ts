/**
 * A batching hook (duet's `BufferedFuture`): a client library learns when
 * every task of a run waits, and flushes what they asked for in one batch.
 *
 * @module
 */

import type { Future } from "../future/future.ts";
import { runningScheduler } from "./run_loop.ts";

/**
 * Calls `flush` once, the next time every task of the running run waits:
 * before the run blocks the thread (`run()`) or hands the turn back to its
 * host (`runAsync()`, a guest run). A client library that buffers requests
 * calls it when it buffers the first one, and sends them all as one batch
 * in `flush`: 100 tasks asking for one record each make one round trip.
 *
 * `flush` may return a `Future` (the batch's own, say): the run waits on it
 * as it would for a task — a blocking run wakes for it, and is no deadlock
 * while a live thread can settle it — and whoever buffered settles the
 * tasks' futures from it, in its `onDone` callback (which runs as it
 * settles; `batch.wait()` there gives its value or throws its error): a
 * Promise reaction (`then`, `catch`, an `async` flush) cannot run while a
 * blocking `run()` waits, so the tasks would wait on it for ever (a
 * `DeadlockError` says so). Its failure is the flush's to hand on (the run
 * does not throw it). Callbacks given while flushes run wait for the next
 * time every task waits; one that throws is reported with `reportError`.
 * Throws a `TypeError` outside a task (or a flush).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Future, onAllWaiting, pmap, run } from "@tandem/tandem";
 * const waiting: [number, (value: string) => void][] = [];
 * let batches = 0;
 * function lookUp(id: number): Future<string> {
 *   const { future, resolve } = Future.withResolvers<string>();
 *   if (waiting.length === 0) {
 *     onAllWaiting(() => { // one batch for everything buffered meanwhile
 *       batches++;
 *       for (const [id, resolve] of waiting.splice(0)) resolve(`record ${id}`);
 *     });
 *   }
 *   waiting.push([id, resolve]);
 *   return future;
 * }
 * const records = run(() => pmap((id: number) => lookUp(id), [1, 2, 3]));
 * assert.deepEqual(records, ["record 1", "record 2", "record 3"]);
 * assert.equal(batches, 1);
 * ```
 */
export function onAllWaiting(flush: () => Future<unknown> | PromiseLike<unknown> | void): void {
  runningScheduler("onAllWaiting()").onAllWaiting(flush);
}
