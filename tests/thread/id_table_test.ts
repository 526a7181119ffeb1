import assert from "node:assert/strict";
import { test } from "../bounded.ts";
import { IdTable } from "../../src/thread/id_table.ts";

test("id table keeps ids that come in order and leave, and ones that stay long", () => {
  const table = new IdTable<string>();
  table.set(1, "long-lived");
  for (let id = 2; id < 10_000; id++) {
    table.set(id, `call ${id}`);
    if (id % 3 === 0) table.set(++id, `call ${id}`);
    assert.equal(table.get(id), `call ${id}`);
    assert.ok(table.delete(id));
    if (id % 3 === 1) assert.ok(table.delete(id - 1));
  }
  assert.equal(table.size, 1);
  assert.equal(table.get(1), "long-lived");
  assert.equal(table.get(17), undefined);
  assert.equal(table.delete(17), false);
  assert.deepEqual(table.values(), ["long-lived"]);
});

test("id table grows with the ids it holds at once, and keeps them all", () => {
  const table = new IdTable<number>();
  const ids = Array.from({ length: 500 }, (_, i) => i * 16 + (i % 3)); // many share low bits
  for (const id of ids) table.set(id, id);
  assert.equal(table.size, ids.length);
  for (const id of ids) assert.equal(table.get(id), id);
  assert.deepEqual(table.values().sort((a, b) => a - b), ids);
  for (const id of ids) assert.ok(table.delete(id));
  assert.equal(table.size, 0);
  assert.deepEqual(table.values(), []);
});
