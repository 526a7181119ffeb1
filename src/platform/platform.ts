/**
 * The one place that knows the runtime. What differs between runtimes goes
 * through {@linkcode platform}: starting a worker and the permissions it
 * gets, timers that must not keep a program alive, `setImmediate`,
 * structured serialization, reading a port synchronously, async-local
 * storage, and the ways a worker thread can end itself. The web-standard
 * APIs every target has (a started `Worker`'s events and `terminate`,
 * `MessageChannel`, `Atomics`, a global scope's `onmessage` and
 * `addEventListener`) are used directly.
 *
 * Deno is the first and only implementation (`deno.ts`); Node, Bun and
 * browsers plug in here, as files beside it. The choice is made when this
 * module loads, synchronously: no top-level `await`, which would let a
 * worker's first message arrive before its `onmessage` is set (Deno drops
 * it), and no static `node:` import anywhere (`deno.ts` reaches Node's
 * built-ins through `process.getBuiltinModule` when first used), so a
 * browser can load tandem.
 *
 * Imports: nothing outside this folder.
 *
 * @module
 */

import { deno } from "./deno.ts";
import type { Platform } from "./types.ts";

export type { CallStorage, Platform, WorkerPermissions } from "./types.ts";

/** Where no implementation fits: each use throws, naming what was needed. */
const unsupported = new Proxy({} as Platform, {
  get(_, key): never {
    throw new TypeError(
      `tandem runs on Deno for now: this runtime has no platform implementation (it needed ${
        String(key)
      })`,
    );
  },
});

/** The runtime tandem runs on. */
export const platform: Platform = typeof (globalThis as { Deno?: unknown }).Deno === "object"
  ? deno
  : unsupported;
