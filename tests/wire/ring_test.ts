import assert from "node:assert/strict";
import { test } from "../bounded.ts";
import { createRing, Ring } from "../../src/wire/ring.ts";

function record(n: number): Uint16Array {
  return Uint16Array.from({ length: 1 + (n % 7) }, (_, i) => n + i);
}

function take(ring: Ring): number[] | undefined {
  ring.refresh();
  const at = ring.peek();
  if (at < 0) return undefined;
  const length = ring.data[at - 2] | (ring.data[at - 1] << 16);
  const units = [...ring.data.subarray(at, at + length)];
  ring.consume();
  return units;
}

test("ring keeps records in order across many wrap-arounds", () => {
  const buffer = createRing(256);
  const producer = new Ring(buffer), consumer = new Ring(buffer);
  let written = 0, read = 0;
  for (let round = 0; round < 2000; round++) {
    while (producer.write(record(written), record(written).length)) written++;
    assert.deepEqual(take(consumer), [...record(read)]);
    read++;
    if (round % 3 === 0) {
      for (let units = take(consumer); units !== undefined; units = take(consumer)) {
        assert.deepEqual(units, [...record(read)]);
        read++;
      }
      consumer.release();
    } else {
      consumer.releaseSome();
    }
  }
  assert.ok(written > 2000);
});

test("ring room comes back only when the reader releases it", () => {
  const buffer = createRing(256);
  const producer = new Ring(buffer), consumer = new Ring(buffer);
  const units = new Uint16Array(30);
  let written = 0;
  while (producer.write(units, units.length)) written++;
  while (take(consumer) !== undefined);
  assert.equal(producer.write(units, units.length), false, "consumed but not released");
  consumer.release();
  assert.equal(producer.write(units, units.length), true);
  assert.ok(written >= 7);
});

test("ring refuses records that are too long", () => {
  const ring = new Ring(createRing(256));
  const long = new Uint16Array(ring.maxRecord + 1);
  assert.equal(ring.write(long, long.length), false);
  assert.equal(ring.write(long, ring.maxRecord), true);
  assert.equal(take(ring)?.length, ring.maxRecord);
  ring.refresh();
  assert.equal(ring.peek(), -1);
});

test("ring finds only the records written before its last refresh, and the writer's mark", () => {
  const buffer = createRing(256);
  const producer = new Ring(buffer), consumer = new Ring(buffer);
  producer.write(Uint16Array.of(1), 1);
  assert.equal(consumer.refresh(), 0);
  producer.write(Uint16Array.of(2), 1);
  producer.setMark(5);
  assert.equal(producer.mark, 5);
  assert.ok(consumer.peek() >= 0);
  consumer.consume();
  assert.equal(consumer.peek(), -1, "the second record came after the refresh");
  assert.equal(consumer.refresh(), 5);
  assert.deepEqual(take(consumer), [2]);
  assert.equal(new Ring(buffer).mark, 5, "a new view reads the mark");
});
