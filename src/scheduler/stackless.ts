/**
 * `stackless()`: deep recursion without deep stacks.
 *
 * @module
 */

import type { Operation } from "../future/waitable.ts";
import { StacklessFrame } from "../future/yield_protocol.ts";

/**
 * Runs `operation` as a frame of the task's own stack rather than of the
 * JavaScript stack. A native `yield*` chain resumes through every level at
 * each step, and V8 overflows its stack near 5 000 levels (with or without
 * tandem); a chain whose recursive steps are `yield* stackless(op)` costs one
 * level at each step, however deep it is. The result and errors pass through
 * unchanged; cancellation reaches the innermost frame.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Operation, run, sleep, stackless } from "@tandem/tandem";
 * function* depth(n: number): Operation<number> {
 *   if (n === 0) {
 *     yield* sleep(0);
 *     return 0;
 *   }
 *   return 1 + (yield* stackless(depth(n - 1)));
 * }
 * assert.equal(run(() => depth(100_000)), 100_000); // no stack overflow
 * ```
 */
export function stackless<T>(operation: Operation<T>): Operation<T> {
  if (typeof operation?.[Symbol.iterator] !== "function") {
    throw new TypeError(`stackless(): expected an operation, got ${typeof operation}`);
  }
  return new StacklessFrame(operation);
}
