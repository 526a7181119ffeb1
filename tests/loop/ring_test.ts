import assert from "node:assert/strict";
import { createRing, Ring } from "../../src/loop/ring.ts";

Deno.test("ring keeps records in order across many wrap-arounds", () => {
  const buffer = createRing(256);
  const producer = new Ring(buffer), consumer = new Ring(buffer);
  let written = 0, read = 0;
  for (let round = 0; round < 2000; round++) {
    while (producer.write(`r${written}:${"x".repeat(written % 7)}`)) written++;
    const text = consumer.read();
    assert.equal(text, `r${read}:${"x".repeat(read % 7)}`);
    read++;
    if (round % 3 === 0) {
      for (let t = consumer.read(); t !== undefined; t = consumer.read()) {
        assert.equal(t, `r${read}:${"x".repeat(read % 7)}`);
        read++;
      }
    }
  }
  assert.ok(written > 2000);
});

Deno.test("ring refuses records that are too long and keeps non-ASCII text intact", () => {
  const ring = new Ring(createRing(256));
  assert.equal(ring.write("y".repeat(ring.maxRecord + 1)), false);
  assert.equal(ring.write("héllo \u{1F600} \ud800"), true);
  assert.equal(ring.read(), "héllo \u{1F600} \ud800");
  assert.equal(ring.read(), undefined);
});

Deno.test("ring reads records longer than one decoding chunk", () => {
  const ring = new Ring(createRing(1 << 17));
  const long = "abcdefghij".repeat(1500);
  assert.equal(ring.write(long), true);
  assert.equal(ring.read(), long);
});
