/**
 * JSON-plain data: what JSON text carries exactly (finite numbers but `-0`,
 * strings, booleans, `null`, dense arrays and plain objects of them, at most
 * 64 levels deep). It is a part of what the wire calls plain data (see
 * `record.ts`, which also carries `undefined`, `NaN`, the infinities and
 * `-0`): {@linkcode isPlain} tells the Queue which items it stores as JSON
 * text, and `encode` (`codec.ts`) which values need no markers.
 *
 * @module
 */

const MAX_PLAIN_DEPTH = 64;

/** True for JSON-plain data: what JSON text carries exactly (see above). */
export function isPlain(value: unknown, depth = 0): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (depth > MAX_PLAIN_DEPTH) return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isPlain(value[i], depth + 1)) return false;
        }
        return true;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return false;
      for (const key in value) {
        if (!isPlain((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}
