/**
 * `getLoop`: a loop by name, this thread's or an ancestor's (Duck's loop
 * manager), or this thread's default loop.
 *
 * @module
 */

import { LoopNotFoundError } from "../errors.ts";
import { BackgroundLoop } from "./background_loop.ts";
import { defaultLoop } from "./default_executor.ts";
import { knownLoops, namedLoop } from "./named_loops.ts";
import { hasParent, onForwarded } from "./upstream.ts";

/**
 * The loop registered as `id` on this thread, or, in a worker started by
 * tandem, by the thread that started it or that thread's ancestors (a name
 * registered here shadows an inherited one; calls to an inherited loop reach
 * the same loop, forwarded through the parent). With `create: true` and a
 * `module`, a missing loop is started and registered. With no `id`: this
 * thread's default loop (see `defaultExecutor()`). Throws
 * `LoopNotFoundError` naming the loops it knows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackgroundLoop, getLoop } from "@tandem/tandem";
 * // An inline module, so that the example runs as it is (a file works the same).
 * using loop = BackgroundLoop.start(
 *   "data:application/typescript,export const add = (a: number, b: number) => a + b;",
 *   { name: "io" },
 * );
 * assert.equal(getLoop("io"), loop); // here, and in the workers this thread starts
 * assert.equal(await getLoop("io").call("add", 1, 2), 3);
 * ```
 */
export function getLoop(
  id?: string,
  options: { module?: string | URL; create?: boolean } = {},
): BackgroundLoop {
  if (id === undefined) return defaultLoop();
  const found = namedLoop(id);
  // (Every handle in the registry is a BackgroundLoop: only it registers.)
  if (found !== undefined) return found as BackgroundLoop;
  if (options.create) {
    if (options.module === undefined) {
      throw new TypeError(`getLoop("${id}", { create: true }) needs the module the loop serves`);
    }
    return BackgroundLoop.start(options.module, { name: id });
  }
  const known = knownLoops();
  throw new LoopNotFoundError(
    `no loop named "${id}" on this thread${hasParent() ? " or its ancestors" : ""}` +
      (known.length > 0 ? ` (known: ${known.join(", ")})` : " (none is registered)") +
      ": start one with BackgroundLoop.start(module, { name }), or pass { module, create: true }",
  );
}

// A worker's forwarded call to a loop it inherited, as the owner (or a
// thread nearer to it) makes it.
onForwarded("loop", (name, rest, args, timeoutMs) => {
  const [taskType, fn] = [
    rest.slice(0, rest.indexOf("\u0001")),
    rest.slice(rest.indexOf("\u0001") + 1),
  ];
  const loop = getLoop(name).with({ timeoutMs, ...(taskType ? { taskType } : {}) });
  return loop.call(fn, ...args);
});
