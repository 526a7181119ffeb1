/**
 * A compact binary form of plain data, in 16-bit units, for the shared-memory
 * rings: writing walks the value once (no JSON text, no plainness check
 * first), and reading builds the value straight from shared memory (no string
 * to parse). On one core a tiny call round trip costs 1.02× the raw Atomics
 * floor this way, against 1.6× with JSON text in the same ring (measured in
 * isolation, with everything but the value's form the same).
 *
 * Plain data (on the wire) is what structured clone would copy as is and
 * this form carries exactly: `undefined`, `null`, booleans, every number (including `-0`,
 * `NaN` and the infinities), strings (any UTF-16, lone surrogates too), dense
 * arrays, and objects whose prototype is `Object.prototype`, of plain data,
 * at most {@linkcode MAX_DEPTH} deep.
 * Anything else (Map, Date, class instances, holes, cycles, futures, errors)
 * makes {@linkcode RecordWriter.append} answer false, and the sender takes the
 * structured-clone road instead. (Not the same as `plain.ts`'s JSON-plain
 * data, which leaves out `undefined`, `NaN`, the infinities and `-0`, as
 * JSON text cannot carry them: there is no separate check here, writing is
 * the check.)
 *
 * Layout: one tag unit, then
 * - `INT`: an int32 as two units (low first);
 * - `FLOAT`: a float64 as four units;
 * - `STRING`: a length as two units, then the code units;
 * - `ARRAY`: a length as two units, then the items;
 * - `OBJECT`: a key count as two units, then each key (length and units,
 *   untagged) followed by its value.
 *
 * @module
 */

const UNDEFINED = 0, NULL = 1, FALSE = 2, TRUE = 3, INT = 4, FLOAT = 5;
const STRING = 6, ARRAY = 7, OBJECT = 8;
/** Deeper than this is not plain (and most likely a cycle). */
export const MAX_DEPTH = 64;
// How strings are read back, by length (the fastest way for each, measured):
const SHORT_STRING = 8; // concatenation
const MEDIUM_STRING = 256; // fromCharCode.apply on a reused array
const CHUNK = 8192; // fromCharCode.apply on views, in batches of this many

const float = new Float64Array(1);
const floatUnits = new Uint16Array(float.buffer);
const charCodes: number[] = [];

/** Encodes plain data into a reusable buffer of units. */
export class RecordWriter {
  /** The encoded units: `units[0 .. length)`. */
  units: Uint16Array = new Uint16Array(256);
  length = 0;

  /**
   * Starts a record that opens with `prefix` units of the caller's own
   * (`units[0 .. prefix)`, returned for it to fill), followed by values
   * {@linkcode RecordWriter.append}ed after them.
   */
  begin(prefix: number): Uint16Array {
    this.length = 0;
    const units = this.#room(prefix);
    this.length = prefix;
    return units;
  }

  /**
   * Encodes `value` after what is already written; false when it is not
   * plain data (the units are then garbage).
   */
  append(value: unknown): boolean {
    return this.#value(value, 0);
  }

  #room(more: number): Uint16Array {
    const needed = this.length + more;
    if (needed > this.units.length) {
      let size = this.units.length * 2;
      while (size < needed) size *= 2;
      const grown = new Uint16Array(size);
      grown.set(this.units.subarray(0, this.length));
      this.units = grown;
    }
    return this.units;
  }

  #value(value: unknown, depth: number): boolean {
    switch (typeof value) {
      case "number":
        this.#number(value);
        return true;
      case "string":
        this.#string(value, true);
        return true;
      case "boolean":
        this.#room(1)[this.length++] = value ? TRUE : FALSE;
        return true;
      case "undefined":
        this.#room(1)[this.length++] = UNDEFINED;
        return true;
      case "object":
        break;
      default:
        return false;
    }
    if (value === null) {
      this.#room(1)[this.length++] = NULL;
      return true;
    }
    if (depth >= MAX_DEPTH) return false;
    // (Structured clone makes any array a plain Array, and Array.isArray is
    // several times cheaper than Object.getPrototypeOf.)
    if (Array.isArray(value)) return this.#array(value, depth);
    if (Object.getPrototypeOf(value) !== Object.prototype) return false;
    const at = this.length;
    this.#tagged(OBJECT, 0); // the count is patched in below
    let count = 0;
    for (const key in value) {
      this.#string(key, false);
      if (!this.#value((value as Record<string, unknown>)[key], depth + 1)) return false;
      count++;
    }
    const patched = this.units; // the buffer may have grown meanwhile
    patched[at + 1] = count & 0xffff;
    patched[at + 2] = count >>> 16;
    return true;
  }

  #array(array: unknown[], depth: number): boolean {
    const length = array.length;
    this.#tagged(ARRAY, length);
    for (let i = 0; i < length; i++) {
      if (!(i in array) || !this.#value(array[i], depth + 1)) return false;
    }
    return true;
  }

  #number(value: number): void {
    if ((value | 0) === value && (value !== 0 || 1 / value > 0)) {
      this.#tagged(INT, value);
      return;
    }
    const units = this.#room(5);
    const at = this.length;
    float[0] = value;
    units[at] = FLOAT;
    units[at + 1] = floatUnits[0];
    units[at + 2] = floatUnits[1];
    units[at + 3] = floatUnits[2];
    units[at + 4] = floatUnits[3];
    this.length = at + 5;
  }

  /** Writes `tag` and a 32-bit value: an int, or a length or count. */
  #tagged(tag: number, value: number): void {
    const units = this.#room(3);
    const at = this.length;
    units[at] = tag;
    units[at + 1] = value & 0xffff;
    units[at + 2] = value >>> 16;
    this.length = at + 3;
  }

  #string(text: string, tagged: boolean): void {
    const length = text.length;
    const units = this.#room(length + 3);
    let at = this.length;
    if (tagged) units[at++] = STRING;
    units[at] = length & 0xffff;
    units[at + 1] = length >>> 16;
    at += 2;
    for (let i = 0; i < length; i++) units[at + i] = text.charCodeAt(i);
    this.length = at + length;
  }
}

let data: Uint16Array;
let at = 0;

/**
 * Starts reading values one after another from `units[start]` (what
 * {@linkcode RecordWriter.append} wrote after a record's own prefix):
 * {@linkcode readNext} then takes them.
 */
export function openValues(units: Uint16Array, start: number): void {
  data = units;
  at = start;
}

/** The next value after {@linkcode openValues}. */
export { readValue as readNext };

function readValue(): unknown {
  const tag = data[at++];
  switch (tag) {
    case INT: {
      const value = data[at] | (data[at + 1] << 16);
      at += 2;
      return value;
    }
    case STRING:
      return readString();
    case ARRAY: {
      const length = readLength();
      const array = new Array(length);
      for (let i = 0; i < length; i++) array[i] = readValue();
      return array;
    }
    case OBJECT: {
      const count = readLength();
      const object: Record<string, unknown> = {};
      for (let i = 0; i < count; i++) {
        const key = readKey();
        object[key] = readValue();
      }
      return object;
    }
    case FLOAT:
      floatUnits[0] = data[at];
      floatUnits[1] = data[at + 1];
      floatUnits[2] = data[at + 2];
      floatUnits[3] = data[at + 3];
      at += 4;
      return float[0];
    case NULL:
      return null;
    case TRUE:
      return true;
    case FALSE:
      return false;
    case UNDEFINED:
      return undefined;
  }
  throw new Error(`tandem: corrupt record (tag ${tag} at ${at - 1})`);
}

function readLength(): number {
  const length = (data[at] | (data[at + 1] << 16)) >>> 0;
  at += 2;
  return length;
}

/**
 * Reads a key: the same key read again is the same string, from a small
 * cache (hashed by its units). Objects of one shape then get their keys
 * without making strings, and V8 finds their properties faster: reading
 * 10 000 records of four fields took 2.7 ms with a fresh string per key.
 */
function readKey(): string {
  const length = readLength();
  const start = at;
  at += length;
  if (length > MAX_CACHED_KEY) return stringAt(start, length);
  let hash = length;
  for (let i = start; i < at; i++) hash = (hash * 31 + data[i]) | 0;
  const slot = hash & (KEY_SLOTS - 1);
  const cached = keys[slot];
  if (cached !== undefined && cached.length === length) {
    let i = 0;
    while (i < length && cached.charCodeAt(i) === data[start + i]) i++;
    if (i === length) return cached;
  }
  return keys[slot] = stringAt(start, length);
}
const MAX_CACHED_KEY = 32;
const KEY_SLOTS = 256;
const keys: (string | undefined)[] = new Array(KEY_SLOTS).fill(undefined);

function readString(): string {
  const length = readLength();
  at += length;
  return stringAt(at - length, length);
}

/** The string of `length` units from `data[start]`. */
function stringAt(start: number, length: number): string {
  const end = start + length;
  if (length <= SHORT_STRING) {
    let text = "";
    for (let i = start; i < end; i++) text += String.fromCharCode(data[i]);
    return text;
  }
  if (length <= MEDIUM_STRING) {
    charCodes.length = length;
    for (let i = 0; i < length; i++) charCodes[i] = data[start + i];
    return String.fromCharCode.apply(null, charCodes);
  }
  const parts: string[] = [];
  for (let i = start; i < end; i += CHUNK) {
    parts.push(
      String.fromCharCode.apply(
        null,
        data.subarray(i, Math.min(end, i + CHUNK)) as unknown as number[],
      ),
    );
  }
  return parts.join("");
}
