import assert from "node:assert/strict";
import { test, WAIT_MS } from "../bounded.ts";
import {
  BackgroundLoop,
  DeadlockError,
  Queue,
  QueueClosedError,
  run,
  TimeoutError,
} from "../../mod.ts";
import type * as Primitives from "../fixtures/primitives.ts";

const PRIMITIVES = new URL("../fixtures/primitives.ts", import.meta.url);

test("a Queue is FIFO, bounded, closable and async-iterable on one thread", async () => {
  const queue = new Queue<unknown>({ capacity: 2 });
  await queue.put(1);
  await queue.put({ a: [1, 2] });
  const third = queue.put("three");
  assert.equal(third.state, "pending"); // no room
  assert.equal(queue.size, 2);
  assert.equal(await queue.get(), 1);
  await third;
  assert.deepEqual(await queue.get(), { a: [1, 2] });
  queue.close();
  await assert.rejects(() => Promise.resolve(queue.put(4)), QueueClosedError);
  const rest: unknown[] = [];
  for await (const item of queue) rest.push(item);
  assert.deepEqual(rest, ["three"]);
  await assert.rejects(() => Promise.resolve(queue.get()), QueueClosedError);
});

test("queue items keep structured-clone semantics", async () => {
  const queue = new Queue<unknown>();
  const values = [
    new Map([[1, { x: undefined }]]),
    new Date(5),
    10n,
    new Uint8Array([1, 2, 3]),
    [1, , 3],
    NaN,
    "text with \u{1F600} and \u0000",
  ];
  for (const value of values) await queue.put(value);
  for (const value of values) assert.deepEqual(await queue.get(), value);
  await assert.rejects(
    () => Promise.resolve(queue.put(() => 1)),
    /could not be cloned|DataCloneError/,
  );
  const small = new Queue<string>({ bytes: 64 });
  await assert.rejects(() => Promise.resolve(small.put("x".repeat(100))), RangeError);
});

test("blocking on a queue only this thread could fill throws DeadlockError; timeouts leave nothing behind", () => {
  const queue = new Queue<number>();
  assert.throws(() => queue.get().wait(), DeadlockError); // unbounded: throws at once
  assert.throws(() => run(() => queue.get()), DeadlockError);
  using loop = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
  loop.api.putValue(queue as Queue<unknown>, 7).wait(WAIT_MS);
  assert.equal(queue.get().wait(WAIT_MS), 7);
  assert.throws(() => queue.get().wait(5), TimeoutError);
  loop.api.putValue(queue as Queue<unknown>, 8).wait(WAIT_MS);
  assert.equal(queue.get().wait(WAIT_MS), 8); // the timed-out get took nothing
});

test("the increment pipeline: main -> worker -> main", async () => {
  using loop = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
  const input = new Queue<number>({ capacity: 16 });
  const output = new Queue<number>({ capacity: 16 });
  const done = loop.api.increment(input, output, 1000);
  let sum = 0;
  const feeding = (async () => {
    for (let i = 0; i < 1000; i++) await input.put(i);
  })();
  for (let i = 0; i < 1000; i++) sum += await output.get();
  await feeding;
  assert.equal(await done, 1000);
  assert.equal(sum, (999 * 1000) / 2 + 1000);
});

test("4 threads, 100 000 items: every item arrives exactly once", async () => {
  await using producers = BackgroundLoop.start<typeof Primitives>(PRIMITIVES, { workers: 2 });
  await using consumers = BackgroundLoop.start<typeof Primitives>(PRIMITIVES, { workers: 2 });
  const queue = new Queue<number>({ capacity: 1024 });
  const per = 25_000;
  const made = [
    producers.api.produceBlocking(queue, 0, per),
    producers.api.produce(queue, per, per),
    // This thread produces too, and blocks on the consumers' progress.
  ];
  const eaten = [consumers.api.consumeAll(queue), consumers.api.consumeAll(queue)];
  for (let i = 2 * per; i < 4 * per; i++) queue.put(i).wait(WAIT_MS);
  for (const future of made) assert.equal(await future, per);
  queue.close();
  const results = await Promise.all(eaten);
  const seen = new Uint8Array(4 * per);
  for (const { seen: items } of results) for (const item of items) seen[item]++;
  assert.equal(results[0].count + results[1].count, 4 * per);
  assert.ok(seen.every((count) => count === 1), "an item was lost or duplicated");
});

test("large items wrap around the queue's memory and come out exact, JSON and not", () => {
  const queue = new Queue<unknown>({ bytes: 3 << 20 });
  const text = "é€𝄞\ud800 end"; // two-, three-, four-byte UTF-8 and a lone surrogate
  const bytes = new Uint8Array(1 << 20).map((_, i) => i * 7);
  const items = [
    { text, list: Array.from({ length: 50_000 }, (_, i) => i) },
    bytes,
    new Map([[1, bytes.subarray(5, 9)]]),
    "x".repeat(300_001), // odd byte length
  ];
  for (let round = 0; round < 4; round++) { // each round starts further into the area
    for (const item of items) queue.put(item).wait(WAIT_MS);
    for (const item of items) assert.deepEqual(queue.get().wait(WAIT_MS), item, `round ${round}`);
  }
});
