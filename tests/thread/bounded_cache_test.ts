import assert from "node:assert/strict";
import { test } from "../bounded.ts";
import { BoundedCache } from "../../src/thread/bounded_cache.ts";

test("bounded cache makes each kept value once, and keeps no more than its limit", () => {
  const cache = new BoundedCache<string>(2);
  const made: string[] = [];
  const make = (key: string) => {
    made.push(key);
    return key.toUpperCase();
  };
  for (const key of ["a", "b", "a", "c", "c", "b"]) {
    assert.equal(cache.get(key, make), key.toUpperCase());
  }
  assert.deepEqual(made, ["a", "b", "c", "c"], "c came after the limit: made each time");
});

test("bounded cache keeps nothing when making fails", () => {
  const cache = new BoundedCache<number>();
  assert.throws(() =>
    cache.get("bad", () => {
      throw new TypeError("bad name");
    }), TypeError);
  assert.equal(cache.get("bad", () => 1), 1);
});
