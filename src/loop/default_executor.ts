/**
 * The thread's default loop, `defaultExecutor()` and `toThread()`
 * (aiofutures' global executor and `sync_to_async`).
 *
 * @module
 */

import { type Future, internals } from "../future/future.ts";
import { BackgroundLoop, iterateCalls } from "./background_loop.ts";
import type { Executor, FunctionRef } from "./executor.ts";
import { platform } from "../platform/platform.ts";

/** The default loop closes after this long without calls, so that it never keeps a program alive. */
const IDLE_CLOSE_MS = 250;

let loop: BackgroundLoop | undefined;
let pending = 0;
let idleTimer: ReturnType<typeof setTimeout> | undefined;

/** The default loop of this thread, started on first use. */
export function defaultLoop(): BackgroundLoop {
  if (loop === undefined || loop.closed) {
    const workers = Math.max(1, (navigator.hardwareConcurrency ?? 2) - 1);
    loop = BackgroundLoop.start(undefined, { name: "default", workers });
  }
  return loop;
}

function track<R>(future: Future<R>): Future<R> {
  pending++;
  if (idleTimer !== undefined) {
    clearTimeout(idleTimer);
    idleTimer = undefined;
  }
  // (Watched without counting as a look: a failure nobody looks at is reported.)
  internals.whenDone(future as Future<unknown>, () => {
    if (--pending > 0) return;
    // Workers keep a program alive: close the loop when it has been idle a
    // while (the timer does not keep the program alive either).
    const timer = idleTimer = setTimeout(() => {
      idleTimer = undefined;
      // (Each failure nobody looked at was reported in its own turn by now.)
      if (pending === 0) loop?.close().onDone(() => {});
    }, IDLE_CLOSE_MS);
    platform.unrefTimer(timer);
  });
  return future;
}

const executor: Executor = {
  submit: <R>(fn: FunctionRef, ...args: unknown[]) => track(defaultLoop().submit<R>(fn, ...args)),
  map: <R>(fn: FunctionRef, items: Iterable<unknown>, options?: { limit?: number }) =>
    track(defaultLoop().map<R>(fn, items, options)),
  // Each call goes to the default loop of its time, tracked on its own: an
  // iteration may outlive the loop (a slow consumer lets it close between
  // calls, and the next call starts it again), and one given up on without
  // return() must not keep it, and so the program, alive.
  imap: <R>(
    fn: FunctionRef,
    items: Iterable<unknown>,
    options?: { limit?: number; ordered?: boolean },
  ) => iterateCalls((item) => track(defaultLoop().submit<R>(fn, item)), items, options),
  shutdown: (options?: { cancelPending?: boolean }) => defaultLoop().shutdown(options),
};

/**
 * This thread's default executor: a loop started on first use, serving
 * functions named by `URL#export`, with one worker per core but one. It
 * never keeps the program alive: its workers stop 250 ms after the last
 * call settled (and start again at the next one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultExecutor } from "@tandem/tandem";
 * // Any module's function, by URL#export, e.g. new URL("./tasks.ts#add", import.meta.url):
 * const key = await defaultExecutor().submit<Uint8Array>(
 *   "node:crypto#pbkdf2Sync", // slow on purpose: it blocks a helper worker, not this thread
 *   "password", "salt", 100_000, 32, "sha256",
 * );
 * assert.equal(key.byteLength, 32);
 * ```
 */
export function defaultExecutor(): Executor {
  return executor;
}

/**
 * Runs a blocking function on a helper worker (the default executor) and
 * returns a `Future` of its result, so that the calling thread (a loop's
 * worker, say) keeps serving meanwhile: aiofutures' `sync_to_async`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toThread } from "@tandem/tandem";
 * // In a served async function, say: the worker answers other calls while the key is derived.
 * const key = await toThread<Uint8Array>(
 *   "node:crypto#pbkdf2Sync", // or new URL("./hash.ts#slowHash", import.meta.url)
 *   "password", "salt", 100_000, 32, "sha256",
 * );
 * assert.equal(key.byteLength, 32);
 * ```
 */
export function toThread<R>(fn: FunctionRef, ...args: unknown[]): Future<R> {
  return executor.submit<R>(fn, ...args);
}
