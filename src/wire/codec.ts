/**
 * How values cross threads.
 *
 * Plain data (see `record.ts`: numbers, strings, booleans, `undefined`,
 * `null`, dense arrays and plain objects of them) never comes here: the
 * channel writes it as a binary record into a shared-memory ring, the fast
 * path (see `channel.ts`). Everything else keeps structured-clone semantics
 * (Map, Set, Date, BigInt, typed arrays, cycles) after {@linkcode encode}
 * replaced what structured clone would lose or refuse with markers. What
 * `encode` returns goes as a record through the ring too if it is plain data
 * by then (an error becomes plain objects, say), and otherwise through a
 * MessagePort, as structured clone copies it:
 *
 * - errors keep their class, message, stack, `cause`, `errors` and own
 *   enumerable properties;
 * - futures and their resolvers arrive as live handles (see `shared.ts`);
 * - typed arrays and DataViews go as their bare buffer plus type, offset and
 *   length, because the receiving side may read the message synchronously
 *   with `receiveMessageOnPort`, which reads a view at ~50 ns a byte in Deno
 *   and a bare buffer at memory speed;
 * - what `transfer()` marked moves what it lists (the transfer list of the
 *   message), after checks that name a bad one;
 * - a function or a symbol fails the send with a `DataCloneError` naming its
 *   path, e.g. `args[1].onDone`, and so does an object of a built-in class
 *   that structured clone refuses (WeakMap, WeakRef, Promise...), where
 *   copying its own properties would send `{}`;
 * - sparse arrays cost their elements, not their length;
 * - nesting deeper than {@linkcode MAX_NESTING} fails with a `DataCloneError`
 *   too, rather than with a stack overflow on either side.
 *
 * @module
 */

import { dataCloneError, tandemErrors } from "../errors.ts";
import { Future, internals, resolvers } from "../future/future.ts";
import { isPlain } from "./plain.ts";
import { type Movable, takeMark } from "../future/transfer.ts";
import {
  reviveFuture,
  type Route,
  settleShared,
  type SharedRef,
  shareFuture,
} from "../future/shared.ts";

const MARK = "\u0000tandem";

/**
 * Objects that live in shared memory (Event, Queue, Semaphore, ...) cross
 * threads as their buffer; the other side revives a copy over the same
 * memory with the reviver registered for their kind.
 */
export const shareables: WeakMap<object, (route: Route) => SharedState> = new WeakMap();

/** What a shareable object sends. */
export interface SharedState {
  kind: string;
  buffer: SharedArrayBuffer;
}

const revivers = new Map<string, (buffer: SharedArrayBuffer) => unknown>();

/** Registers how to revive a shareable kind on this thread. */
export function registerShareable(
  kind: string,
  revive: (buffer: SharedArrayBuffer) => unknown,
): void {
  revivers.set(kind, revive);
}

/**
 * How deeply objects, arrays, maps, sets and errors may nest in a value sent
 * (a settled future's value counts three levels down, where its marker puts
 * it); deeper fails with a `DataCloneError` rather than a stack overflow.
 * On a fresh thread, main or worker alike (Deno 2.9, V8's ~1 MB stack), the
 * stack runs out at about 2 050 levels of objects when encoding or decoding
 * them, 2 690 when V8 deserializes them, and 1 310 when decoding an error's
 * chain of causes; 500 keeps every stage within half of the stack, the other
 * half being the caller's.
 */
export const MAX_NESTING = 500;
/** How much of a path a message shows (paths grow with nesting). */
const PATH_SHOWN = 60;

/** An encoded value and how it may travel. */
export interface Encoded {
  data: unknown;
  /** It holds markers that {@linkcode decode} must replace. */
  special: boolean;
  /**
   * What the message must move rather than copy (`postMessage`'s transfer
   * list): what `transfer()` listed, and the copies of large buffers.
   */
  transfer: Transferable[];
}

/** Prepares `value` to be sent over `route`; throws `DataCloneError` naming the culprit. */
export function encode(value: unknown, route: Route, path = "value"): Encoded {
  if (isPlain(value)) return { data: value, special: false, transfer: [] };
  const encoder = new Encoder(route);
  const data = encoder.value(value, path, 0);
  return { data, special: encoder.special, transfer: encoder.finish() };
}

/** Rebuilds a value that {@linkcode encode} prepared, received over `route`. */
export function decode(data: unknown, special: boolean, route: Route): unknown {
  return special ? new Decoder(route).value(data) : data;
}

/** The error for a value nested deeper than {@linkcode MAX_NESTING}, found at `path`. */
function nestedTooDeep(path: string): DOMException {
  const shown = path.length > PATH_SHOWN ? `${path.slice(0, PATH_SHOWN)}…` : path;
  return dataCloneError(
    `cannot send ${shown}: nested deeper than ${MAX_NESTING} levels; ` +
      "flatten it (a long chain of links as an array, say)",
  );
}

// (It lives in errors.ts, so that future/transfer.ts, below this layer, throws the same.)
export { dataCloneError };

type Marker = { [MARK]: string } & Record<string, unknown>;

class Encoder {
  special = false;
  readonly #seen = new Map<object, unknown>();
  /** What marked values listed to move, with where each was listed (for errors). */
  readonly #moving = new Map<Transferable, string>();
  /** Objects met that structured clone copies only when moved (ports...), with their paths. */
  readonly #movable = new Map<object, string>();
  constructor(readonly route: Route) {}

  /**
   * Checks that what must move (ports...) is listed by `transfer()`, and
   * that everything listed was part of the value; returns the transfer list.
   */
  finish(): Transferable[] {
    const moves: Transferable[] = [];
    for (const [object, path] of this.#movable) {
      if (!this.#moving.has(object as Transferable)) {
        throw dataCloneError(
          `cannot send ${path}: a ${object.constructor.name} cannot be copied, only moved: ` +
            "list it in transfer(value, [...])",
        );
      }
    }
    for (const [item, listed] of this.#moving) {
      if (!this.#met(item)) {
        throw dataCloneError(
          `cannot send ${listed}: it is listed for transfer but is not part of the value ` +
            "(list a typed array's .buffer, say, not a copy of it)",
        );
      }
      moves.push(item);
    }
    return moves;
  }

  #met(item: Transferable): boolean {
    return this.#seen.has(item as object) || this.#movable.has(item as object);
  }

  /** Takes in what `object`, found at `path`, was marked to move. */
  #markedAt(listed: readonly Movable[], path: string): void {
    for (let i = 0; i < listed.length; i++) {
      const item = listed[i];
      const at = `${path}'s transfer list [${i}]`;
      if (listed.indexOf(item) !== i) throw dataCloneError(`cannot send ${at}: it is listed twice`);
      if (this.#moving.has(item as Transferable)) continue; // another marked value lists it too
      if (item instanceof ArrayBuffer) {
        if (item.detached) {
          throw dataCloneError(`cannot send ${at}: the ArrayBuffer is detached (moved already)`);
        }
      } else if (ArrayBuffer.isView(item)) {
        throw dataCloneError(`cannot send ${at}: it is a view; list its .buffer instead`);
      } else if (item instanceof SharedArrayBuffer) {
        throw dataCloneError(
          `cannot send ${at}: a SharedArrayBuffer is shared, never moved; do not list it`,
        );
      } else if (!(typeof item === "object" && item !== null && isMovable(item))) {
        // Checked here: Deno's postMessage would detach the buffers listed
        // before it refuses the rest.
        throw dataCloneError(
          `cannot send ${at}: ${describeItem(item)} cannot be moved; ` +
            "tandem moves ArrayBuffers and MessagePorts",
        );
      }
      this.#moving.set(item as Transferable, at);
    }
  }

  /** Encodes `value`, found at `path` nested `depth` levels deep. */
  value(value: unknown, path: string, depth: number): unknown {
    switch (typeof value) {
      case "number":
      case "string":
      case "boolean":
      case "undefined":
      case "bigint":
        return value;
      case "symbol":
        throw dataCloneError(`cannot send ${path}: it is a symbol (${String(value)})`);
      case "function":
        return this.#function(value as (value: never) => void, path, depth);
    }
    if (value === null) return null;
    const object = value as object;
    const seen = this.#seen.get(object);
    if (seen !== undefined || this.#seen.has(object)) {
      return seen;
    }
    if (depth >= MAX_NESTING) throw nestedTooDeep(path);
    const listed = takeMark(object);
    if (listed !== undefined) this.#markedAt(listed, path);
    if (object instanceof Future) {
      return this.#remember(object, this.#future(object, undefined, depth));
    }
    const share = shareables.get(object);
    if (share !== undefined) {
      const { kind, buffer } = share(this.route);
      return this.#remember(object, this.#mark("shared", { type: kind, buffer }));
    }
    if (object instanceof Error) return this.#error(object, path, depth);
    if (Array.isArray(object)) {
      const length = object.length;
      const copy: unknown[] = new Array(length);
      this.#seen.set(object, copy);
      for (let i = 0; i < length; i++) {
        if (!(i in object)) {
          for (const at of indicesFrom(object, i)) {
            copy[at] = this.value(object[at], `${path}[${at}]`, depth + 1);
          }
          break;
        }
        copy[i] = this.value(object[i], `${path}[${i}]`, depth + 1);
      }
      return copy;
    }
    if (object instanceof Map) {
      const copy = new Map();
      this.#seen.set(object, copy);
      let i = 0;
      for (const [k, v] of object) {
        copy.set(
          this.value(k, `${path}<key ${i}>`, depth + 1),
          this.value(v, `${path}.get(${describeKey(k)})`, depth + 1),
        );
        i++;
      }
      return copy;
    }
    if (object instanceof Set) {
      const copy = new Set();
      this.#seen.set(object, copy);
      let i = 0;
      for (const v of object) copy.add(this.value(v, `${path}<item ${i++}>`, depth + 1));
      return copy;
    }
    if (ArrayBuffer.isView(object)) return this.#view(object, path);
    if (object instanceof ArrayBuffer) return this.#remember(object, this.#buffer(object, path));
    if (isClonedAsIs(object)) return this.#remember(object, object);
    if (isMovable(object)) {
      this.#movable.set(object, path); // it must be listed for transfer: see finish()
      return this.#remember(object, object);
    }
    // Plain objects, and class instances (structured clone keeps their own
    // enumerable properties and drops the prototype; so do we).
    const proto = Object.getPrototypeOf(object);
    const copy: Record<string, unknown> = {};
    this.#seen.set(object, copy);
    for (const key of Object.keys(object)) {
      copy[key] = this.value(
        (object as Record<string, unknown>)[key],
        `${path}.${key}`,
        depth + 1,
      );
    }
    if (proto !== Object.prototype) {
      // Its properties first, so that a culprit among them is named exactly.
      if (proto !== null && extendsBuiltIn(proto)) refuseUncloneable(object, path);
    }
    return copy;
  }

  #remember<T>(object: object, copy: T): T {
    this.#seen.set(object, copy);
    return copy;
  }

  #mark(kind: string, fields: Record<string, unknown>): Marker {
    this.special = true;
    return { [MARK]: kind, ...fields } as Marker;
  }

  #function(fn: (value: never) => void, path: string, depth: number): unknown {
    const resolver = resolvers.get(fn);
    if (resolver === undefined) {
      throw dataCloneError(
        `cannot send ${path}: it is a function${fn.name ? ` (${fn.name})` : ""}; ` +
          "functions cannot cross threads: name an exported function by URL instead",
      );
    }
    if (depth >= MAX_NESTING) throw nestedTooDeep(path);
    const marker = this.#future(resolver.future, resolver.ok, depth);
    marker[MARK] = resolver.ok ? "resolve" : "reject";
    return this.#remember(fn, marker);
  }

  #future(future: Future<unknown>, viaResolver: boolean | undefined, depth: number): Marker {
    // Shared, it is the other side's to look at: its failure is not this side's to report.
    internals.observe(future);
    const ref: SharedRef = shareFuture(future, this.route, viaResolver !== undefined);
    const marker = this.#mark("future", { ref });
    // (The value is in the marker's ref's outcome: three levels down.)
    if (ref.outcome) {
      ref.outcome.value = this.value(ref.outcome.value, "settled future", depth + 3);
    }
    return marker;
  }

  #error(error: Error, path: string, depth: number): Marker {
    const marker = this.#mark("error", {
      ctor: knownConstructorName(error),
      name: error.name,
      message: error.message,
      stack: error.stack,
    });
    this.#seen.set(error, marker);
    if ("cause" in error) marker.cause = this.value(error.cause, `${path}.cause`, depth + 1);
    if (error instanceof AggregateError) {
      marker.errors = this.value(error.errors, `${path}.errors`, depth + 1);
    }
    const keys = Object.keys(error);
    if (keys.length > 0) {
      const props: Record<string, unknown> = {};
      for (const key of keys) {
        if (key === "cause" || key === "errors") continue;
        props[key] = this.value(
          (error as unknown as Record<string, unknown>)[key],
          `${path}.${key}`,
          depth + 2, // (in the marker's props)
        );
      }
      marker.props = props;
    }
    return marker;
  }

  #buffer(buffer: ArrayBuffer, path: string): ArrayBuffer {
    if (buffer.detached) {
      throw dataCloneError(`cannot send ${path}: its ArrayBuffer is detached (moved already)`);
    }
    return buffer;
  }

  /**
   * A view goes as a marker holding its bare buffer: `receiveMessageOnPort`
   * reads a bare buffer at memory speed, moved or copied (16 MiB in about
   * 0.1 ms moved, a few ms copied), but a view, even a moved one, at some
   * 50 ns a byte (a 64 KiB view: 3.5 ms, against 0.4 ms bare). A view of a
   * resizable or growable buffer may track its length: it goes as it is.
   */
  #view(view: ArrayBufferView, path: string): unknown {
    const buffer = view.buffer;
    if (
      buffer instanceof ArrayBuffer ? buffer.resizable : (buffer as SharedArrayBuffer).growable
    ) {
      if (buffer instanceof ArrayBuffer) this.#buffer(buffer, `${path}.buffer`);
      this.#seen.set(buffer, buffer); // (met: it may be listed for transfer)
      return this.#remember(view, view);
    }
    const bare = this.#seen.get(buffer) ?? this.#remember(
      buffer,
      buffer instanceof ArrayBuffer ? this.#buffer(buffer, `${path}.buffer`) : buffer,
    );
    const length = view instanceof DataView ? view.byteLength : (view as Uint8Array).length;
    return this.#remember(
      view,
      this.#mark("view", {
        type: Object.prototype.toString.call(view).slice(8, -1), // its built-in class
        buffer: bare,
        offset: view.byteOffset,
        length,
      }),
    );
  }
}

/** Undoes the encoder's work; the values it gets nest no deeper than the encoder let them. */
class Decoder {
  readonly #seen = new Map<object, unknown>();
  constructor(readonly route: Route) {}

  value(data: unknown): unknown {
    if (typeof data !== "object" || data === null) return data;
    const done = this.#seen.get(data);
    if (done !== undefined || this.#seen.has(data)) return done;
    const kind = (data as Marker)[MARK];
    if (typeof kind === "string") return this.#marker(data as Marker, kind);
    this.#seen.set(data, data);
    if (Array.isArray(data)) {
      const length = data.length;
      for (let i = 0; i < length; i++) {
        if (!(i in data)) {
          for (const at of indicesFrom(data, i)) data[at] = this.value(data[at]);
          break;
        }
        data[i] = this.value(data[i]);
      }
    } else if (data instanceof Map) {
      const entries = [...data];
      data.clear();
      for (const [k, v] of entries) data.set(this.value(k), this.value(v));
    } else if (data instanceof Set) {
      const items = [...data];
      data.clear();
      for (const v of items) data.add(this.value(v));
    } else if (Object.getPrototypeOf(data) === Object.prototype) {
      const record = data as Record<string, unknown>;
      for (const key of Object.keys(record)) record[key] = this.value(record[key]);
    }
    return data;
  }

  #marker(marker: Marker, kind: string): unknown {
    switch (kind) {
      case "error":
        return this.#error(marker);
      case "view": {
        const buffer = this.value(marker.buffer) as ArrayBuffer;
        const Type = (globalThis as unknown as Record<string, new (...a: unknown[]) => unknown>)[
          marker.type as string
        ];
        const view = new Type(buffer, marker.offset, marker.length);
        this.#seen.set(marker, view);
        return view;
      }
      case "shared": {
        const revive = revivers.get(marker.type as string);
        if (revive === undefined) {
          throw new TypeError(
            `tandem: no reviver for shared ${String(marker.type)} on this thread`,
          );
        }
        const shared = revive(marker.buffer as SharedArrayBuffer);
        this.#seen.set(marker, shared);
        return shared;
      }
      default: {
        // future, resolve, reject
        const future = reviveFuture(marker.ref as SharedRef, this.route, (v) => this.value(v));
        let result: unknown = future;
        if (kind !== "future") {
          const ok = kind === "resolve";
          result = (value: unknown) => void settleShared(future, ok, value);
        }
        this.#seen.set(marker, result);
        return result;
      }
    }
  }

  #error(marker: Marker): Error {
    const message = marker.message as string;
    const ctor = marker.ctor as string;
    let error: Error;
    if (ctor === "DOMException") error = new DOMException(message, marker.name as string);
    else if (ctor === "AggregateError") error = new AggregateError([], message);
    else {
      const Ctor = tandemErrors[ctor] ??
        (globalThis as unknown as Record<string, ErrorConstructor>)[ctor] ?? Error;
      error = new Ctor(message);
    }
    this.#seen.set(marker, error);
    if (error.name !== marker.name) {
      Object.defineProperty(error, "name", {
        value: marker.name,
        writable: true,
        configurable: true,
      });
    }
    Object.defineProperty(error, "stack", {
      value: marker.stack,
      writable: true,
      configurable: true,
    });
    if ("cause" in marker) {
      Object.defineProperty(error, "cause", {
        value: this.value(marker.cause),
        writable: true,
        configurable: true,
      });
    }
    if ("errors" in marker) {
      Object.defineProperty(error, "errors", {
        value: this.value(marker.errors),
        writable: true,
        configurable: true,
      });
    }
    if (marker.props) Object.assign(error, this.value(marker.props));
    return error;
  }
}

const BUILT_IN_ERRORS = new Set([
  "Error",
  "TypeError",
  "RangeError",
  "SyntaxError",
  "ReferenceError",
  "EvalError",
  "URIError",
  "AggregateError",
  "DOMException",
]);

/** The nearest class of `error` that the other side can rebuild. */
function knownConstructorName(error: Error): string {
  for (let proto = Object.getPrototypeOf(error); proto; proto = Object.getPrototypeOf(proto)) {
    const name = proto.constructor?.name as string | undefined;
    if (name && (BUILT_IN_ERRORS.has(name) || name in tandemErrors)) {
      if (name in tandemErrors && !(error instanceof tandemErrors[name])) continue;
      return name;
    }
  }
  return "Error";
}

/**
 * What structured clone passes on only when moved, and tandem moves: ports.
 * (A moved stream is fed by its sender's event loop, which a blocking
 * `wait()` stops: the call would wait for ever. Send the chunks instead.)
 */
function isMovable(object: object): boolean {
  return typeof MessagePort === "function" && object instanceof MessagePort;
}

function describeItem(item: unknown): string {
  if (typeof item !== "object" || item === null) return String(item);
  const what = Object.prototype.toString.call(item).slice(8, -1);
  return `${/^[AEIOU]/.test(what) ? "an" : "a"} ${what}`;
}

function isClonedAsIs(object: object): boolean {
  return object instanceof Date || object instanceof RegExp || object instanceof Blob ||
    object instanceof SharedArrayBuffer || object instanceof Boolean ||
    object instanceof Number || object instanceof String || object instanceof BigInt;
}

/**
 * The indices of `array`'s elements from `from` on, ascending. Past a hole,
 * this is how arrays are walked: in proportion to their elements, where a
 * loop over their length could take minutes (`a[2 ** 32 - 2] = 1`).
 */
function indicesFrom(array: unknown[], from: number): number[] {
  const indices: number[] = [];
  const length = array.length;
  // Own keys list the indices first, ascending, then any other names.
  for (const key of Object.keys(array)) {
    const i = Number(key);
    if (i >= from && i < length && Number.isInteger(i) && String(i) === key) indices.push(i);
  }
  return indices;
}

/**
 * Whether objects with prototype `proto` descend from a built-in class other
 * than `Object` (cached: it is asked for every class instance sent). Such an
 * object that the encoder did not recognise (a WeakMap, a Promise, an
 * iterator...) may be one that structured clone refuses, where copying its
 * own properties would send `{}`.
 */
function extendsBuiltIn(proto: object): boolean {
  let found = builtInDescent.get(proto);
  if (found === undefined) {
    found = false;
    for (let p: object | null = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      // (Read without running getters; Iterator.prototype's is an accessor.)
      const own = Object.getOwnPropertyDescriptor(p, "constructor");
      const ctor = own && ("value" in own ? own.value : own.get);
      if (typeof ctor === "function" && Function.prototype.toString.call(ctor).endsWith(NATIVE)) {
        found = true;
        break;
      }
    }
    builtInDescent.set(proto, found);
  }
  return found;
}
const builtInDescent = new WeakMap<object, boolean>();
/** How V8 shows a built-in function's source. */
const NATIVE = "{ [native code] }";

/**
 * Throws the `DataCloneError` that structured clone would for `object`, if
 * it would: asking it is exact, and only objects of built-in classes the
 * encoder does not handle get here, which is rare.
 */
function refuseUncloneable(object: object, path: string): void {
  try {
    structuredClone(object);
  } catch (error) {
    if (!(error instanceof DOMException && error.name === "DataCloneError")) throw error;
    const what = Object.prototype.toString.call(object).slice(8, -1);
    const fix = what === "Promise"
      ? "await it and send its value, or send a Future"
      : "send the plain data it holds instead";
    throw dataCloneError(
      `cannot send ${path}: it is ${/^[AEIOU]/.test(what) ? "an" : "a"} ${what}, ` +
        `which structured clone cannot copy; ${fix}`,
    );
  }
}

function describeKey(key: unknown): string {
  return typeof key === "string" ? JSON.stringify(key) : String(key);
}
