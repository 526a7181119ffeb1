/**
 * `currentSignal()`: the cancellation signal of the background call being
 * served, found through `AsyncLocalStorage` so that it works after `await`s
 * too.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";

/** The state of one call being served in a worker. */
export class CallContext {
  #controller: AbortController | undefined = undefined;
  #reason: unknown = undefined;
  cancelled = false;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(readonly id: number, readonly label: string) {}

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

/** @internal the context of the call being served */
export const callContext: AsyncLocalStorage<CallContext> = new AsyncLocalStorage<CallContext>();

/**
 * Inside a function served by a `BackgroundLoop`: the `AbortSignal` that fires
 * when the caller cancels the call, its timeout passes, its `signal` aborts,
 * or the loop is closed with `cancelPending`. Its `reason` is the
 * `CancelledError` or `TimeoutError` the caller saw. Works after `await`s.
 * Throws outside a background call.
 *
 * @example
 * ```ts
 * // tasks.ts, served by BackgroundLoop.start(new URL("./tasks.ts", import.meta.url))
 * import { currentSignal } from "@tandem/tandem";
 * export async function download(url: string): Promise<number> {
 *   const response = await fetch(url, { signal: currentSignal() });
 *   return (await response.arrayBuffer()).byteLength;
 * }
 * ```
 */
export function currentSignal(): AbortSignal {
  const context = callContext.getStore();
  if (context === undefined) {
    throw new Error("currentSignal() was called outside a background call");
  }
  return context.signal;
}
