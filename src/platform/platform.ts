/**
 * The one place that knows the runtime. Everything outside `src/platform/`
 * reaches the runtime through {@linkcode platform}: worker creation, the
 * permissions a worker gets, timers that must not keep a program alive,
 * `setImmediate`, structured serialization, reading a port synchronously,
 * async-local storage and the ways a worker thread can end itself.
 *
 * Deno is the first and only implementation. It lives in `deno.ts`, which
 * imports `node:` modules, so it is loaded with a dynamic `import()` only
 * where `Deno` exists: a browser loading tandem never loads it. Node, Bun and
 * browsers plug in here, as other files beside `deno.ts`.
 *
 * Imports: nothing outside this folder.
 *
 * @module
 */

import type { Platform } from "./types.ts";

export type { CallStorage, Platform, WorkerPermissions } from "./types.ts";

async function load(): Promise<Platform> {
  if (typeof (globalThis as { Deno?: unknown }).Deno === "object") {
    return (await import("./deno.ts")).deno;
  }
  throw new TypeError("tandem runs on Deno for now: this runtime has no platform implementation");
}

/** The runtime tandem runs on. */
export const platform: Platform = await load();
