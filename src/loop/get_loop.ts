/**
 * Named loops: a registry per thread, inherited by the workers it starts
 * (Duck's loop manager).
 *
 * @module
 */

import { LoopNotFoundError } from "../errors.ts";
import { BackgroundLoop, inheritedLoop } from "./background_loop.ts";
import { defaultLoop } from "./default_executor.ts";
import { hasParent, onForwarded } from "./upstream.ts";

/** What a worker learns of the loops its ancestors registered. */
export interface InheritedLoop {
  name: string;
  module: string | undefined;
  taskTypes: string[] | undefined;
}

const registered = new Map<string, BackgroundLoop>();
const inherited = new Map<string, BackgroundLoop>();
let inheritedInfo: InheritedLoop[] = [];

/** Called by `BackgroundLoop.start` with a `name`. */
export function registerLoop(name: string, loop: BackgroundLoop): void {
  const known = registered.get(name);
  if (known !== undefined && !known.closed) {
    throw new TypeError(
      `a loop named "${name}" is already registered on this thread; close it first`,
    );
  }
  registered.set(name, loop);
}

/** Called by `close()`. */
export function unregisterLoop(name: string, loop: BackgroundLoop): void {
  if (registered.get(name) === loop) registered.delete(name);
}

/** The loops a new worker inherits: this thread's, then its ancestors' not shadowed. */
export function loopsToInherit(): InheritedLoop[] {
  const list: InheritedLoop[] = [...registered.values()].filter((loop) => !loop.closed).map((
    loop,
  ) => ({
    name: loop.name,
    module: loop.module?.href,
    taskTypes: loop.taskTypes,
  }));
  for (const info of inheritedInfo) {
    if (!registered.has(info.name)) list.push(info);
  }
  return list;
}

/** A worker's start: what its parent could see. */
export function inheritLoops(list: InheritedLoop[]): void {
  inheritedInfo = list;
}

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
  const own = registered.get(id);
  if (own !== undefined && !own.closed) return own;
  const info = inheritedInfo.find((loop) => loop.name === id);
  if (info !== undefined) {
    let handle = inherited.get(id);
    if (handle === undefined || handle.closed) {
      handle = inheritedLoop(info);
      inherited.set(id, handle);
    }
    return handle;
  }
  if (options.create) {
    if (options.module === undefined) {
      throw new TypeError(`getLoop("${id}", { create: true }) needs the module the loop serves`);
    }
    return BackgroundLoop.start(options.module, { name: id });
  }
  const known = [...registered.keys(), ...inheritedInfo.map((loop) => loop.name)];
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
