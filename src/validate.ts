/**
 * Checks of the numbers users give (counts, capacities, limits), one rule
 * for every layer: each caller keeps its own error text.
 *
 * @module
 */

/**
 * True when `value` is a whole number at least `min`, or `Infinity` if
 * `orInfinity` (NaN, other types, and fractions are not).
 */
export function isWholeAtLeast(value: unknown, min: number, orInfinity = false): boolean {
  if (typeof value !== "number" || !(value >= min)) return false;
  return Number.isInteger(value) || (orInfinity && value === Infinity);
}
