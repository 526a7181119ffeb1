import assert from "node:assert/strict";
import { test } from "../bounded.ts";
import { MAX_DEPTH, openValues, readNext, RecordWriter } from "../../src/wire/record.ts";

/** Encodes `value` alone, as the start of a fresh record. */
function write(writer: RecordWriter, value: unknown): boolean {
  writer.begin(0);
  return writer.append(value);
}

function read(writer: RecordWriter): unknown {
  openValues(writer.units, 0);
  return readNext();
}

function roundTrip(value: unknown): unknown {
  const writer = new RecordWriter();
  assert.equal(write(writer, value), true, `${String(value)} should be plain`);
  return read(writer);
}

test("record keeps every plain value exactly", () => {
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

test("record refuses what only structured clone carries", () => {
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
  refused.forEach((value, i) => assert.equal(write(writer, value), false, `value ${i}`));
  assert.equal(write(writer, { fine: [1] }), true, "the writer is reusable after a refusal");
  assert.deepEqual(read(writer), { fine: [1] });
});

test("record values follow the caller's own prefix units, one after another", () => {
  const writer = new RecordWriter();
  writer.begin(3).set([7, 8, 9]);
  assert.equal(writer.append("lead"), true);
  assert.equal(writer.append([1, { two: 2 }]), true);
  assert.deepEqual([...writer.units.subarray(0, 3)], [7, 8, 9]);
  openValues(writer.units, 3);
  assert.equal(readNext(), "lead");
  assert.deepEqual(readNext(), [1, { two: 2 }]);
});

test("record grows its buffer for large values", () => {
  const value = { items: Array.from({ length: 5_000 }, (_, i) => ({ i, name: `item ${i}` })) };
  assert.deepEqual(roundTrip(value), value);
});
