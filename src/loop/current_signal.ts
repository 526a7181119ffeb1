/**
 * `currentSignal()`: the cancellation signal of the background call being
 * served, found through `AsyncLocalStorage` so that it works after `await`s
 * too.
 *
 * @module
 */

import { platform } from "../platform/platform.ts";

/** The state of one call being served in a worker. */
export class CallContext {
  #controller: AbortController | undefined = undefined;
  #reason: unknown = undefined;
  cancelled = false;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(
    readonly id: number,
    readonly label: string,
    /** When its timeout passes (`performance.now()` time; Infinity: none). */
    readonly deadline: number = Infinity,
  ) {}

  /** Made on first use: most calls never ask for it. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.cancelled) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  cancel(reason: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

const asyncContext = platform.callStorage<CallContext>();
let syncContext: CallContext | undefined;
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;

/**
 * Runs `fn(...args)` as call `context`. `AsyncLocalStorage` (about 0.4 µs)
 * is paid only by async functions, whose context must survive `await`s; a
 * plain function sees its context through a variable while it runs. (A plain
 * function that returns a promise should read `currentSignal()` before it
 * returns, not in later callbacks.)
 * @internal
 */
export function runAsCall(
  context: CallContext,
  fn: (...args: unknown[]) => unknown,
  args: unknown[],
): unknown {
  if (fn instanceof AsyncFunction) return asyncContext.run(context, fn, ...args);
  const outer = syncContext;
  syncContext = context;
  try {
    return fn(...args);
  } finally {
    syncContext = outer;
  }
}

/** The background call running now, if any. */
export function currentCall(): CallContext | undefined {
  return syncContext ?? asyncContext.getStore();
}

/**
 * Inside a function served by a `BackgroundLoop`: the `AbortSignal` that fires
 * when the caller cancels the call, its timeout passes, its `signal` aborts,
 * or the loop is closed with `cancelPending`. Its `reason` is the
 * `CancelledError` or `TimeoutError` the caller saw. Works after `await`s.
 * Throws outside a background call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackgroundLoop } from "@tandem/tandem";
 * // tasks.ts, inline so that the example runs as it is (a file works the same):
 * const tasks = "data:application/typescript," + encodeURIComponent(`
 *   import { currentSignal } from "@tandem/tandem";
 *   export async function download(url: string): Promise<number> {
 *     const response = await fetch(url, { signal: currentSignal() }); // stops when the caller does
 *     return (await response.arrayBuffer()).byteLength;
 *   }
 * `);
 * await using loop = BackgroundLoop.start<{ download(url: string): Promise<number> }>(tasks);
 * assert.equal(await loop.api.download("data:,hello"), 5);
 * ```
 */
export function currentSignal(): AbortSignal {
  const context = currentCall();
  if (context === undefined) {
    throw new Error("currentSignal() was called outside a background call");
  }
  return context.signal;
}
