/**
 * How a function is named, the one rule both ends follow: by `URL#export`
 * (any absolute URL whose fragment is the export's name), or by an export
 * name alone, of the module the loop was started with. The calling side
 * checks a reference and turns it into what crosses the wire
 * ({@linkcode functionTarget}); the worker reads that back
 * ({@linkcode parseWireRef}).
 *
 * @module
 */

import type { FunctionRef } from "./executor.ts";

/** A function as it is named on the wire and in messages. */
export interface Target {
  /** `URL#export`, or an export name of the loop's module. */
  wire: string;
  /** How errors name it: `name()`. */
  label: string;
}

/** What a worker reads from a {@linkcode Target}'s `wire`. */
export interface WireRef {
  /** The module's URL. */
  url: string;
  /** The export's name. */
  name: string;
  label: string;
}

/** A reference to check as a URL (an absolute URL: a scheme, then a colon). */
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** Checks `fn` for a loop serving `module` (if any); throws `TypeError` saying what is wrong. */
export function functionTarget(fn: FunctionRef, module: URL | undefined): Target {
  if (fn instanceof URL || HAS_SCHEME.test(fn)) {
    const url = fn instanceof URL ? fn : new URL(fn);
    if (url.hash.length < 2) {
      throw new TypeError(`${url.href} names no function: add the export as its fragment (#name)`);
    }
    return { wire: url.href, label: `${decodeURIComponent(url.hash.slice(1))}()` };
  }
  if (typeof fn !== "string" || fn === "") {
    throw new TypeError(`a function is named by a URL#export or an export name, got ${String(fn)}`);
  }
  if (module === undefined) throw noModule(fn);
  return { wire: fn, label: `${fn}()` };
}

/**
 * The module and export a {@linkcode Target}'s `wire` names, for a loop
 * started with `module` (if any).
 */
export function parseWireRef(ref: string, module: string | undefined): WireRef {
  const hash = ref.indexOf("#");
  if (hash >= 0) {
    const name = decodeURIComponent(ref.slice(hash + 1));
    return { url: ref.slice(0, hash), name, label: `${name}()` };
  }
  // (The calling side refuses this already: this guards a reference that
  // reached the worker some other way, with the same words.)
  if (module === undefined) throw noModule(ref);
  return { url: module, name: ref, label: `${ref}()` };
}

function noModule(name: string): TypeError {
  return new TypeError(
    `cannot call "${name}": the loop was started without a module, so name the function by URL, e.g. new URL("./tasks.ts#${name}", import.meta.url)`,
  );
}
