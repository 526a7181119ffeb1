import assert from "node:assert/strict";
import { test, WAIT_MS } from "../bounded.ts";
import { CancelledError, DeadlockError, Future } from "../../mod.ts";

test("withResolvers: resolve settles once, for await, wait() and state", async () => {
  const { future, resolve, reject } = Future.withResolvers<number>();
  assert.equal(future.state, "pending");
  resolve(1);
  resolve(2);
  reject(new Error("late"));
  assert.equal(future.state, "fulfilled");
  assert.equal(future.wait(), 1); // unbounded: settled
  assert.equal(await future, 1);
});

test("reject, Future.reject and Future.resolve", async () => {
  const { future, reject } = Future.withResolvers<number>();
  reject(new TypeError("no"));
  assert.throws(() => future.wait(), TypeError); // unbounded: settled
  await assert.rejects(() => Promise.resolve(future), TypeError);
  assert.equal(Future.resolve("done").wait(), "done"); // unbounded: settled
  assert.equal(Future.reject(new RangeError("x")).state, "rejected");
  assert.equal(await Future.reject(1).catch((e) => e), 1);
});

test("resolve() stores thenables as they are", () => {
  const inner = Future.resolve(1);
  assert.equal(Future.resolve(inner).wait(), inner); // unbounded: settled
});

test("Future.from adopts a promise and returns a Future unchanged", async () => {
  assert.equal(await Future.from(Promise.resolve(3)), 3);
  const existing = Future.resolve(4);
  assert.equal(Future.from(existing), existing);
  await assert.rejects(() => Promise.resolve(Future.from(Promise.reject(new Error("p")))), /p/);
});

test("wait() on a future only this thread can settle throws DeadlockError at once", async () => {
  const { future, resolve } = Future.withResolvers<number>();
  assert.throws(() => future.wait(), DeadlockError); // unbounded: throws at once
  assert.throws(() => future.wait(WAIT_MS), /resolvers never left this thread/);
  const adopted = Future.from(new Promise<number>((r) => setTimeout(() => r(1), 1)));
  assert.throws(() => adopted.wait(), /adopts a Promise of this thread/); // unbounded: throws at once
  assert.equal(await adopted, 1);
  resolve(5);
  assert.equal(future.wait(), 5); // unbounded: settled
});

test("cancel() settles with CancelledError carrying the reason; false once settled", async () => {
  const { future } = Future.withResolvers<number>();
  assert.equal(future.cancel("stop"), true);
  assert.equal(future.state, "cancelled");
  assert.equal(future.cancel(), false);
  const error = await future.then(() => undefined, (e) => e) as CancelledError;
  assert.ok(error instanceof CancelledError);
  assert.equal(error.reason, "stop");
  assert.equal(error.message, "cancelled: stop");
  assert.equal(Future.resolve(1).cancel(), false);
  const given = new CancelledError("mine");
  const other = Future.withResolvers<void>().future;
  other.cancel(given);
  assert.throws(() => other.wait(), (e) => e === given); // unbounded: settled
});

test("onDone runs synchronously on settle, at once when settled, in order", () => {
  const seen: string[] = [];
  const { future, resolve } = Future.withResolvers<number>();
  future.onDone((f) => void seen.push(`a:${f.state}`));
  future.onDone(() => void seen.push("b"));
  assert.deepEqual([...seen], []);
  resolve(1);
  assert.deepEqual([...seen], ["a:fulfilled", "b"]);
  future.onDone(() => void seen.push("c"));
  assert.deepEqual([...seen], ["a:fulfilled", "b", "c"]);
});

test("then callbacks run as promise reactions, finally passes the value on", async () => {
  const order: string[] = [];
  const { future, resolve } = Future.withResolvers<number>();
  const chained = future.then((v) => {
    order.push("then");
    return v * 2;
  });
  resolve(21);
  order.push("sync");
  assert.equal(await chained, 42);
  assert.deepEqual([...order], ["sync", "then"]);
  assert.equal(await future.finally(() => order.push("finally")), 21);
});

test("yield* gives a settled future's value without yielding, a pending one yields itself", () => {
  function* body(f: Future<number>) {
    const x: number = yield* f;
    return x + 1;
  }
  const done = body(Future.resolve(1)).next();
  assert.deepEqual(done, { value: 2, done: true });
  const { future, resolve } = Future.withResolvers<number>();
  const it = body(future);
  assert.equal(it.next().value, future);
  resolve(5);
  assert.deepEqual(it.next(5), { value: 6, done: true });
  const failing = body(Future.reject(new Error("e")));
  assert.throws(() => failing.next(), /e/);
});

test("a local future costs no shared memory", () => {
  const { future } = Future.withResolvers<number>();
  assert.equal(Object.getOwnPropertySymbols(future).length, 0);
  assert.equal(String(future), "[object Future<pending>]");
});
