import assert from "node:assert/strict";
import { test, WAIT_MS } from "../bounded.ts";
import { BackgroundLoop, DeadlockError, Future, TimeoutError } from "../../mod.ts";
import type * as Tasks from "../fixtures/tasks.ts";

const TASKS = new URL("../fixtures/tasks.ts", import.meta.url);

test("resolvers sent to a worker settle the future here, for await and wait()", async () => {
  using loop = BackgroundLoop.start<typeof Tasks>(TASKS);
  const awaited = Future.withResolvers<unknown>();
  await loop.api.resolveWith(awaited.resolve, { deep: [1, new Map([[2, 3]])] });
  assert.deepEqual(await awaited.future, { deep: [1, new Map([[2, 3]])] });

  const blocked = Future.withResolvers<unknown>();
  loop.api.resolveWith(blocked.resolve, "from the worker");
  assert.equal(blocked.future.wait(WAIT_MS), "from the worker");
});

test("a future sent to a worker is waited on there and settled from here", async () => {
  using loop = BackgroundLoop.start<typeof Tasks>(TASKS);
  const { future, resolve } = Future.withResolvers<number>();
  const call = loop.api.waitOn(future as Future<unknown>, 5_000);
  resolve(7);
  assert.equal(await call, 7);
  const timingOut = loop.api.waitOn(Future.withResolvers<number>().future as Future<unknown>, 10);
  await assert.rejects(() => Promise.resolve(timingOut), TimeoutError);
});

test("a future returned by a worker is live: it settles later, here", async () => {
  using loop = BackgroundLoop.start<typeof Tasks>(TASKS);
  const returned = loop.api.settleLater().wait(WAIT_MS) as unknown as Future<number>;
  assert.ok(returned instanceof Future);
  assert.equal(returned.wait(WAIT_MS), 99);
  const again = await loop.api.settleLater() as unknown as Future<number>;
  assert.equal(await again, 99);
});

test("first settle wins across threads, and both threads see the same outcome", async () => {
  using loop = BackgroundLoop.start<typeof Tasks>(TASKS);
  for (let i = 0; i < 20; i++) {
    const { future, resolve } = Future.withResolvers<string>();
    const theirs = loop.api.resolveWith(resolve as (v: unknown) => void, "worker");
    resolve("main");
    await theirs;
    const here = future.wait(WAIT_MS);
    const there = await loop.api.waitOn(future as Future<unknown>, 5_000);
    assert.equal(there, here);
  }
});

test("a future sent out without its resolvers still deadlocks when waited on here", () => {
  using loop = BackgroundLoop.start<typeof Tasks>(TASKS);
  const { future } = Future.withResolvers<number>();
  loop.api.echo(future).wait(WAIT_MS);
  assert.throws(() => future.wait(), DeadlockError); // unbounded: throws at once
});

test("the same future sent twice arrives as the same object", async () => {
  using loop = BackgroundLoop.start<typeof Tasks>(TASKS);
  const { future, resolve } = Future.withResolvers<number>();
  const [a, b] = await loop.api.echo([future, future]) as Future<number>[];
  assert.equal(a, b);
  assert.equal(a, future, "coming back home, it is the original");
  resolve(1);
});
