import assert from "node:assert/strict";
import { test, within } from "../bounded.ts";
import { BackgroundLoop, defaultExecutor, Event, Future, LoopClosedError } from "../../mod.ts";
import type * as Tasks from "../fixtures/tasks.ts";
import type { Gate } from "../fixtures/tasks.ts";

const TASKS = new URL("../fixtures/tasks.ts", import.meta.url);

type Loop = BackgroundLoop<typeof Tasks>;

const start = (workers = 1): Loop => BackgroundLoop.start<typeof Tasks>(TASKS, { workers });

function rejection(promise: PromiseLike<unknown>): Promise<Error> {
  return Promise.resolve(promise).then(
    () => assert.fail("expected a rejection"),
    (error) => error,
  );
}

/** An item of the `gated` fixture, held until the test sets `release`, and what it reports. */
function gate<T>(value: T, error?: string) {
  const release = new Event();
  const started = Future.withResolvers<true>();
  const finished = Future.withResolvers<true>();
  const cancelled = Future.withResolvers<string>();
  const item: Gate<T> = {
    value,
    release,
    error,
    started: started.resolve,
    finished: finished.resolve,
    cancelled: cancelled.resolve,
  };
  return {
    item,
    release,
    started: () => within(started.future, `item ${value} started`),
    finished: () => within(finished.future, `item ${value} finished`),
    cancelled: () => within(cancelled.future, `item ${value} saw its cancellation`),
  };
}

type Gated = ReturnType<typeof gate>;

/** Lets every gated call end (a cancelled one too): no worker still waits on its event at close. */
function releaseAll(gates: Gated[]): void {
  for (const g of gates) g.release.set();
}

/** A generator over `values` that counts its pulls and tells whether it was closed. */
function counted<T>(values: Iterable<T>) {
  const state = { pulled: 0, closed: false, items: undefined as unknown as Iterable<T> };
  state.items = (function* () {
    try {
      for (const value of values) {
        state.pulled++;
        yield value;
      }
    } finally {
      state.closed = true;
    }
  })();
  return state;
}

/**
 * A round trip to the loop's one worker: its replies travel in the order it
 * sends them, so once this one is back, every outcome the worker sent
 * before it (those whose `finished` came back before it was sent) has
 * reached this thread, and imap has seen them.
 */
async function drained(loop: Loop): Promise<void> {
  assert.equal(await within(loop.api.echo("probe"), "the probe"), "probe");
}

test("imap yields in input order while later items run and finish; unordered, as they settle", async () => {
  using loop = start();
  const gates = [0, 1, 2].map((value) => gate(value));
  try {
    const it = loop.imap<number>("gated", gates.map((g) => g.item), { limit: 3 });
    const first = it.next();
    let firstSettled = false;
    first.then(() => firstSettled = true, () => firstSettled = true);
    for (const g of gates) await g.started(); // all three run at once
    for (const at of [2, 1]) {
      gates[at].release.set();
      await gates[at].finished();
    }
    await drained(loop);
    assert.equal(firstSettled, false, "a later result was handed out before the first");
    gates[0].release.set();
    assert.deepEqual(await within(first, "the first result"), { done: false, value: 0 });
    assert.deepEqual(await it.next(), { done: false, value: 1 });
    assert.deepEqual(await it.next(), { done: false, value: 2 });
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  } finally {
    releaseAll(gates);
  }

  const unordered = [0, 1, 2].map((value) => gate(value));
  try {
    const it = loop.imap<number>("gated", unordered.map((g) => g.item), {
      limit: 3,
      ordered: false,
    });
    const first = it.next();
    for (const g of unordered) await g.started();
    // Only the released one can settle: it comes first while the others still run.
    unordered[2].release.set();
    assert.deepEqual(await within(first, "the first result"), { done: false, value: 2 });
    const second = it.next();
    unordered[0].release.set();
    assert.deepEqual(await within(second, "the second result"), { done: false, value: 0 });
    unordered[1].release.set();
    assert.deepEqual(await it.next(), { done: false, value: 1 });
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  } finally {
    releaseAll(unordered);
  }
});

test("imap pulls an item only when a slot is free: never more than limit ahead of what it yielded", async () => {
  using loop = start();
  const limit = 3, total = 10;
  const source = counted(Array.from({ length: total }, (_, i) => i));
  const it = loop.imap<number>("echo", source.items, { limit });
  await drained(loop);
  assert.equal(source.pulled, 0, "nothing is pulled before the first next()");
  const seen: number[] = [];
  for await (const value of it) {
    seen.push(value);
    // Taking a result freed its slot, and that slot only: the next item is in flight already.
    assert.equal(source.pulled, Math.min(total, seen.length + limit), `after ${value}`);
    // The calls in flight settle meanwhile; their results wait for this
    // consumer, and keep their slots.
    await drained(loop);
    assert.equal(source.pulled, Math.min(total, seen.length + limit), `while ${value} is used`);
  }
  assert.deepEqual(seen, Array.from({ length: total }, (_, i) => i));
});

test("imap hands out each result once, to concurrent next() calls in turn", async () => {
  using pool = start(3);
  const values = Array.from({ length: 60 }, (_, i) => i);
  const items = values.map((value) => ({ value })); // gated answers at once without a release
  for (const ordered of [true, false]) {
    const seen: number[] = [];
    for await (const value of pool.imap<number>("gated", items, { limit: 4, ordered })) {
      seen.push(value);
    }
    assert.equal(seen.length, values.length, `ordered: ${ordered}`);
    if (ordered) assert.deepEqual(seen, values);
    else assert.deepEqual(seen.toSorted((a, b) => a - b), values);
  }
  const it = pool.imap<number>("echo", [0, 1, 2], { limit: 2 });
  assert.deepEqual(await Promise.all([it.next(), it.next(), it.next(), it.next()]), [
    { done: false, value: 0 },
    { done: false, value: 1 },
    { done: false, value: 2 },
    { done: true, value: undefined },
  ]);
});

test("imap takes a positive integer limit (or Infinity); another fails the iteration with RangeError, pulling nothing", async () => {
  using loop = start();
  for (const limit of [0, -1, 1.5, NaN]) {
    const source = counted([1, 2]);
    const it = loop.imap("echo", source.items, { limit });
    const error = await rejection(it.next());
    assert.ok(error instanceof RangeError, `limit ${limit}: ${error}`);
    assert.match(error.message, new RegExp(`limit must be a positive integer, got ${limit}`));
    assert.equal(source.pulled, 0, `limit ${limit}`);
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  }
  const all: unknown[] = [];
  for await (const value of loop.imap("echo", [1, 2, 3], { limit: Infinity })) all.push(value);
  assert.deepEqual(all, [1, 2, 3]);
});

test("imap on a closed loop fails with the error map gives, pulling nothing", async () => {
  const loop = start();
  await loop.close();
  const mapError = await rejection(loop.map("echo", [1]));
  assert.ok(mapError instanceof LoopClosedError);
  for (const values of [[1, 2], []]) {
    const source = counted(values);
    const error = await rejection(loop.imap("echo", source.items).next());
    assert.ok(error instanceof LoopClosedError, String(error));
    assert.equal(error.message, mapError.message);
    assert.equal(source.pulled, 0);
  }
});

test("leaving a for await early cancels the calls in flight, which see it, and pulls no more", async () => {
  using loop = start();
  const gates = [0, 1, 2, 3, 4].map((value) => gate(value));
  gates[0].release.set();
  const source = counted(gates.map((g) => g.item));
  try {
    for await (const value of loop.imap<number>("gated", source.items, { limit: 3 })) {
      assert.equal(value, 0);
      // Items 1 and 2, and item 3 (pulled as 0 was taken), run in the worker.
      for (const g of gates.slice(1, 4)) await g.started();
      break;
    }
    for (const g of gates.slice(1, 4)) {
      assert.match(
        await g.cancelled(),
        /^CancelledError: cancelled: the imap\(\) iteration was ended early/,
      );
    }
    assert.equal(source.pulled, 4, "an item was pulled after the break");
    assert.equal(source.closed, true, "the source was left open");
  } finally {
    releaseAll(gates);
  }
});

test("return() while a next() waits ends that next() at once and cancels the call", async () => {
  using loop = start();
  const held = gate("held");
  try {
    const it = loop.imap<string>("gated", [held.item]);
    const waiting = it.next();
    await held.started();
    assert.deepEqual(await it.return!("bye"), { done: true, value: "bye" });
    assert.deepEqual(await within(waiting, "the waiting next()"), { done: true, value: undefined });
    assert.match(await held.cancelled(), /^CancelledError: cancelled: the imap\(\) iteration/);
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  } finally {
    held.release.set();
  }
});

test("the first failure ends the iteration with that error and cancels the calls still running", async () => {
  for (const ordered of [true, false]) {
    using loop = start();
    const gates = [gate(0), gate(1, "boom"), gate(2), gate(3)];
    const source = counted(gates.map((g) => g.item));
    try {
      const it = loop.imap<number>("gated", source.items, { limit: 3, ordered });
      const first = it.next();
      for (const g of gates.slice(0, 3)) await g.started();
      gates[1].release.set();
      const error = await within(rejection(first), "the failure");
      assert.equal(error.message, "boom", `ordered: ${ordered}`);
      for (const at of [0, 2]) {
        assert.match(await gates[at].cancelled(), /^CancelledError: cancelled: boom/);
      }
      assert.equal(source.pulled, 3, "an item was pulled after the failure");
      assert.equal(source.closed, true, "the source was left open");
      assert.deepEqual(await it.next(), { done: true, value: undefined });
    } finally {
      releaseAll(gates);
    }
  }
});

test("results ready before the first failure are still handed out, then the failure", async () => {
  for (const ordered of [true, false]) {
    using loop = start();
    const gates = [gate(0), gate(1), gate(2, "boom"), gate(3)];
    gates[0].release.set();
    try {
      const it = loop.imap<number>("gated", gates.map((g) => g.item), { limit: 4, ordered });
      assert.deepEqual(await within(it.next(), "the first result"), { done: false, value: 0 });
      await gates[3].started();
      for (const at of [1, 2]) {
        gates[at].release.set();
        await gates[at].finished();
      }
      await drained(loop); // 1's result and 2's failure are both here
      assert.deepEqual(await it.next(), { done: false, value: 1 }, `ordered: ${ordered}`);
      assert.equal((await rejection(it.next())).message, "boom");
      assert.match(await gates[3].cancelled(), /^CancelledError: cancelled: boom/);
      assert.deepEqual(await it.next(), { done: true, value: undefined });
    } finally {
      releaseAll(gates);
    }
  }
});

test("an iterable that throws ends the iteration with its error, after cancelling the calls in flight", async () => {
  using loop = start();
  const gates = [gate(0), gate(1)];
  function* items() {
    yield gates[0].item;
    yield gates[1].item;
    throw new SyntaxError("the source broke");
  }
  try {
    const it = loop.imap<number>("gated", items(), { limit: 2 });
    const first = it.next();
    for (const g of gates) await g.started();
    gates[0].release.set(); // taking 0 frees a slot: the next pull throws
    assert.deepEqual(await within(first, "the first result"), { done: false, value: 0 });
    const error = await rejection(it.next());
    assert.ok(error instanceof SyntaxError);
    assert.equal(error.message, "the source broke");
    assert.match(await gates[1].cancelled(), /^CancelledError: cancelled: the source broke/);
  } finally {
    releaseAll(gates);
  }
});

test("for await over defaultExecutor().imap", async () => {
  const echo = new URL("../fixtures/tasks.ts#echo", import.meta.url);
  const gated = new URL("../fixtures/tasks.ts#gated", import.meta.url);
  const held = gate("held");
  try {
    const seen: number[] = [];
    for await (const value of defaultExecutor().imap<number>(echo, [1, 2, 3, 4, 5], { limit: 2 })) {
      seen.push(value);
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    const unordered: string[] = [];
    const items = [{ value: "now" }, held.item];
    for await (const value of defaultExecutor().imap<string>(gated, items, { ordered: false })) {
      unordered.push(value);
      await held.started();
      break;
    }
    assert.deepEqual(unordered, ["now"]);
    assert.match(await held.cancelled(), /^CancelledError: cancelled: the imap\(\) iteration/);
  } finally {
    held.release.set();
    await defaultExecutor().shutdown();
  }
});
