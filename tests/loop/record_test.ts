import assert from "node:assert/strict";
import { MAX_DEPTH, readRecord, RecordWriter } from "../../src/loop/record.ts";

function roundTrip(value: unknown): unknown {
  const writer = new RecordWriter();
  assert.equal(writer.write(value), true, `${String(value)} should be plain`);
  return readRecord(writer.units, 0);
}

Deno.test("record keeps every plain value exactly", () => {
  const values: unknown[] = [
    undefined,
    null,
    true,
    false,
    0,
    -0,
    1,
    -1,
    2 ** 31 - 1,
    -(2 ** 31),
    2 ** 31,
    0.1,
    NaN,
    Infinity,
    -Infinity,
    Number.MAX_VALUE,
    "",
    "add",
    "exactly8",
    "héllo \u{1F600} \ud800 lone surrogate",
    "m".repeat(256),
    "l".repeat(257),
    "abcdefghij".repeat(2_000), // longer than one decoding batch
    [],
    {},
    [1, "two", [3, [4]], { five: 5 }],
    { nothing: undefined, nan: NaN, negativeZero: -0, nested: { list: [null, false] } },
  ];
  for (const value of values) assert.deepEqual(roundTrip(value), value);
  assert.ok(Object.is(roundTrip(-0), -0));
});

Deno.test("record refuses what only structured clone carries", () => {
  const writer = new RecordWriter();
  class Point {
    x = 1;
  }
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  let deep: unknown = 1;
  for (let i = 0; i <= MAX_DEPTH; i++) deep = [deep];
  const refused = [
    new Map(),
    new Date(0),
    new Point(),
    Object.create(null),
    [1, , 3],
    new Uint8Array(2),
    1n,
    Symbol("s"),
    () => {},
    new Error("e"),
    cyclic,
    deep,
    { inner: [new Set()] },
  ];
  refused.forEach((value, i) => assert.equal(writer.write(value), false, `value ${i}`));
  assert.equal(writer.write({ fine: [1] }), true, "the writer is reusable after a refusal");
  assert.deepEqual(readRecord(writer.units, 0), { fine: [1] });
});

Deno.test("record grows its buffer for large values", () => {
  const value = { items: Array.from({ length: 5_000 }, (_, i) => ({ i, name: `item ${i}` })) };
  assert.deepEqual(roundTrip(value), value);
});
