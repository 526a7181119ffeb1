import assert from "node:assert/strict";
import { test, WAIT_MS, within } from "../bounded.ts";
import {
  BackgroundLoop,
  CancelledError,
  currentSignal,
  Event,
  Future,
  LoopClosedError,
  TimeoutError,
  UnknownTaskTypeError,
  WorkerCrashedError,
} from "../../mod.ts";
import type * as Tasks from "../fixtures/tasks.ts";

const TASKS = new URL("../fixtures/tasks.ts", import.meta.url);

function start(options?: Parameters<typeof BackgroundLoop.start>[1]): BackgroundLoop<typeof Tasks> {
  return BackgroundLoop.start<typeof Tasks>(TASKS, options);
}

function rejection(future: PromiseLike<unknown>): Promise<unknown> {
  return Promise.resolve(future).then(
    () => assert.fail("expected a rejection"),
    (error) => error,
  );
}

test("a call can be blocked on, awaited, and serves sync and async functions", async () => {
  using loop = start();
  assert.equal(loop.api.add(1, 2).wait(WAIT_MS), 3);
  assert.equal(await loop.api.add(3, 4), 7);
  assert.equal(loop.api.addLater(5, 6).wait(WAIT_MS), 11);
  assert.equal(await loop.call("addLater", 1, 1), 2);
  assert.equal(loop.api.nothing().wait(WAIT_MS), undefined);
});

test("calls made before the worker is ready are served in order", async () => {
  using loop = start();
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => loop.api.add(i, 1)));
  assert.deepEqual(results, Array.from({ length: 200 }, (_, i) => i + 1));
});

test("values cross with structured-clone semantics, blocking or awaited", async () => {
  using loop = start();
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const big = new Uint8Array(1 << 20).map((_, i) => i % 251);
  const values: unknown[] = [
    new Map<unknown, unknown>([[1, "one"], ["two", new Set([2n])]]),
    new Date(1_700_000_000_000),
    { nothing: undefined, nan: NaN, negativeZero: -0, infinite: -Infinity },
    [1, , 3],
    new Float64Array([1.5, -2.5]),
    /re+gex/gi,
    big,
    "ünïcode \u{1F600}",
  ];
  for (const value of values) {
    assert.deepEqual(loop.api.echo(value).wait(WAIT_MS), value);
    assert.deepEqual(await loop.api.echo(value), value);
  }
  const back = loop.api.echo(cyclic).wait(WAIT_MS) as Record<string, unknown>;
  assert.equal(back.self, back);
  const views = loop.api.echo({ a: big.subarray(10, 20), b: big }).wait(WAIT_MS) as Record<
    string,
    Uint8Array
  >;
  assert.equal(views.a.buffer, views.b.buffer, "two views of one buffer stay one buffer");
  assert.deepEqual([...views.a], [...big.subarray(10, 20)]);
});

test("more calls than the ring holds arrive in order, both ways, blocking or awaited", async () => {
  using loop = start();
  // 64 × 12 000 units of arguments and as much of results: about six times
  // the ring, so both directions build a backlog; one call too long for the
  // ring at all goes through the port in between and must keep its place.
  const payload = (i: number) => `${i}:`.padEnd(i === 30 ? 40_000 : 12_000, "x");
  const calls = Array.from({ length: 64 }, (_, i) => loop.api.echo(payload(i)));
  assert.equal(calls[63].wait(WAIT_MS), payload(63));
  assert.deepEqual(await Promise.all(calls), Array.from({ length: 64 }, (_, i) => payload(i)));
  assert.equal(loop.api.add(1, 2).wait(WAIT_MS), 3);
});

test("plain data keeps what JSON would lose: undefined, -0, NaN, infinities", () => {
  using loop = start();
  const value = { u: undefined, list: [undefined, -0, NaN, Infinity, -Infinity], s: "\ud800" };
  const back = loop.api.echo(value).wait(WAIT_MS);
  assert.deepEqual(back, value);
  assert.ok(Object.is(back.list[1], -0));
  assert.ok("u" in back);
});

test("errors cross with their class, message, stack, cause and own properties", async () => {
  using loop = start();
  const error = await rejection(loop.api.fail("bad input")) as RangeError & Record<string, unknown>;
  assert.ok(error instanceof RangeError);
  assert.equal(error.message, "bad input");
  assert.match(error.stack!, /at fail \(.*tasks\.ts/);
  assert.ok(error.cause instanceof TypeError);
  assert.equal((error.cause as Error).message, "inner");
  assert.equal(error.code, "E_FAIL");
  assert.deepEqual(error.detail, { at: 3 });

  assert.throws(() => loop.api.failLater("later").wait(WAIT_MS), SyntaxError);

  const aggregate = await rejection(loop.api.throwAggregate()) as AggregateError;
  assert.ok(aggregate instanceof AggregateError);
  assert.equal(aggregate.errors.length, 2);
  assert.ok(aggregate.errors[1] instanceof TypeError);

  const tandem = await rejection(loop.api.throwTandem()) as TimeoutError;
  assert.ok(tandem instanceof TimeoutError);
  assert.equal(tandem.cause, "why");

  const custom = await rejection(loop.api.throwCustom()) as Error & { status: number };
  assert.ok(custom instanceof Error);
  assert.equal(custom.name, "HttpError");
  assert.equal(custom.status, 404);

  assert.equal(await rejection(loop.api.throwString()), "just a string");
});

test("bad input fails the call with an error naming the culprit, and the loop goes on", async () => {
  using loop = start();
  const fn = await rejection(loop.call("echo", { onDone: () => {} })) as DOMException;
  assert.equal(fn.name, "DataCloneError");
  assert.match(fn.message, /echo\(\) arguments\[0\]\.onDone: it is a function/);

  const symbol = await rejection(loop.call("echo", [1, Symbol("s")])) as DOMException;
  assert.match(symbol.message, /arguments\[0\]\[1\]: it is a symbol/);

  const missing = await rejection(loop.call("nope")) as TypeError;
  assert.ok(missing instanceof TypeError);
  assert.match(missing.message, /no export named "nope"/);
  assert.match(missing.message, /tasks\.ts/);

  const notFn = await rejection(loop.call("notAFunction")) as TypeError;
  assert.match(notFn.message, /"notAFunction" .* is not a function \(it is number\)/);

  const result = await rejection(loop.api.returnsFunction()) as DOMException;
  assert.equal(result.name, "DataCloneError");
  assert.match(result.message, /the result of returnsFunction\(\)/);

  assert.equal(loop.api.add(2, 2).wait(WAIT_MS), 4);
});

test("past a channel's 1024 name numbers, reused numbers still name the right function", () => {
  using loop = start();
  const names = Array.from({ length: 1100 }, (_, i) => `nope${i}`);
  for (const name of [...names, "nope3", "nope1099"]) {
    assert.throws(() => loop.call(name).wait(WAIT_MS), new RegExp(`no export named "${name}"`));
  }
  assert.equal(loop.api.add(2, 3).wait(WAIT_MS), 5);
});

test("a module that fails to load fails every call with WorkerCrashedError, its cause the error", async () => {
  const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
  const missingImport = `import "${fixture("no_such_module.ts").href}";\nexport const x = 1;`;
  const cases: [string, URL | string, RegExp][] = [
    ["throws", fixture("throws_on_load.ts"), /refuses to load/],
    ["rejects", fixture("rejects_on_load.ts"), /rejected while loading/],
    ["is missing", fixture("does_not_exist.ts"), /does_not_exist\.ts/],
    [
      "misses an import",
      `data:application/typescript,${encodeURIComponent(missingImport)}`,
      /no_such_module\.ts/,
    ],
    ["has a syntax error", "data:application/typescript,export const x = ;", /./],
    ["fails in colour", fixture("throws_coloured.ts"), /coloured/],
  ];
  for (const [how, module, cause] of cases) {
    using loop = BackgroundLoop.start(module);
    for (let i = 0; i < 2; i++) {
      const error = await rejection(loop.call("anything")) as WorkerCrashedError;
      assert.ok(error instanceof WorkerCrashedError, `${how}: ${error}`);
      assert.match(error.message, /could not load its module/, how);
      assert.match((error.cause as Error).message, cause, how);
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(error.message, /\x1b\[/, `${how}: no colour codes`);
    }
    assert.throws(() => loop.call("anything").wait(WAIT_MS), WorkerCrashedError, how);
  }
});

test("functions can be named by URL#export, with or without a loop module", async () => {
  using bare = BackgroundLoop.start();
  assert.equal(bare.call(new URL("#add", TASKS), 2, 3).wait(WAIT_MS), 5);
  assert.equal(await bare.call(`${TASKS.href}#addLater`, 2, 3), 5);
  const unnamed = await rejection(bare.call("add", 1, 2)) as TypeError;
  assert.match(unnamed.message, /started without a module/);
  const noFragment = await rejection(bare.call(TASKS)) as TypeError;
  assert.match(noFragment.message, /names no function/);
});

test("a loop serves its module's exports only: other modules, and data: code, are refused", async () => {
  const other = new URL("../fixtures/side_effect.ts#marker", import.meta.url);
  const inline = "data:application/javascript,globalThis.sideEffectRan=true;export const f=()=>1#f";
  using loop = start();
  for (const ref of [other, other.href, inline]) {
    const error = await rejection(loop.call(ref)) as TypeError;
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /refuses to import .*: it serves .*tasks\.ts only/);
  }
  using bare = BackgroundLoop.start();
  assert.match(
    (await rejection(bare.call(inline)) as Error).message,
    /refuses to import data:.*a data: module.*`modules` option/,
  );
  assert.equal(loop.api.sideEffectRan().wait(WAIT_MS), false, "no refused module ran its code");
  assert.equal(bare.call(new URL("#sideEffectRan", TASKS)).wait(WAIT_MS), false);
  // Listed modules are served, data: ones included.
  using listed = start({
    modules: [new URL("../fixtures/side_effect.ts", import.meta.url), inline],
  });
  assert.equal(listed.call(other).wait(WAIT_MS), "side_effect.ts served");
  assert.equal(listed.call(inline).wait(WAIT_MS), 1);
  using only = BackgroundLoop.start(undefined, { modules: [other] });
  assert.equal(only.call(other).wait(WAIT_MS), "side_effect.ts served");
  assert.match(
    (await rejection(only.call(new URL("#add", TASKS), 1, 2)) as Error).message,
    /refuses/,
  );
});

test("a timeout fails the call with TimeoutError and fires the worker's signal", async () => {
  using loop = start({ timeoutMs: 10_000 });
  // A call whose timeout passes before the worker gets to it never runs (by
  // design): with a worker slower than that, the timeout doubles.
  for (let ms = 50;; ms *= 2) {
    const reported = Future.withResolvers<string>();
    const started = Future.withResolvers<true>();
    const call = loop.with({ timeoutMs: ms }).call(
      "waitForCancel",
      reported.resolve,
      started.resolve,
    );
    const error = await rejection(call) as TimeoutError;
    assert.ok(error instanceof TimeoutError);
    assert.match(error.message, new RegExp(`waitForCancel\\(\\) timed out after ${ms} ms`));
    // Calls run in order: once this one is answered, the worker has started
    // or refused the first, and said so.
    loop.api.add(0, 0).wait(WAIT_MS);
    if (started.future.state === "fulfilled") {
      assert.match(await reported.future, /^TimeoutError: waitForCancel\(\) timed out/);
      break;
    }
    assert.equal(reported.future.state, "pending", "a call that never started reported nothing");
    assert.ok(ms < WAIT_MS, "the worker never started a call in time");
  }
  assert.equal(loop.api.add(1, 1).wait(WAIT_MS), 2);
});

test("a blocking wait honours the call's timeout", () => {
  using loop = start({ timeoutMs: 30 });
  assert.throws(
    () => loop.api.neverReturns().wait(WAIT_MS),
    (error) =>
      error instanceof TimeoutError && /neverReturns\(\) timed out after 30 ms/.test(error.message),
  );
});

test("wait(timeoutMs) throws TimeoutError and leaves the call pending", async () => {
  using loop = start();
  const call = loop.api.neverReturns();
  assert.throws(() => call.wait(10), TimeoutError);
  assert.equal(call.state, "running");
  assert.equal(call.cancel("done waiting"), true);
  assert.equal(call.cancel(), false);
  assert.ok(await rejection(call) instanceof CancelledError);
});

test("cancel() fails the call with CancelledError and fires the worker's signal", async () => {
  using loop = start();
  const reported = Future.withResolvers<string>();
  const call = loop.api.waitForCancel(reported.resolve);
  assert.equal(loop.api.add(0, 0).wait(WAIT_MS), 0); // the call has reached the worker
  call.cancel("user pressed stop");
  const error = await rejection(call) as CancelledError;
  assert.ok(error instanceof CancelledError);
  assert.equal(error.reason, "user pressed stop");
  assert.equal(call.state, "cancelled");
  assert.equal(await reported.future, "CancelledError: cancelled: user pressed stop");
});

test("a call cancelled or timed out while queued behind a busy worker never runs", async () => {
  using loop = start();
  const release = new Event();
  const started = Future.withResolvers<true>();
  const busy = loop.api.blockUntil(release, started.resolve);
  started.future.wait(WAIT_MS); // the worker is stuck in a sync call
  const cancelledRan = new Event(), timedOutRan = new Event();
  const cancelled = loop.api.markRan(cancelledRan);
  cancelled.cancel("not needed any more");
  const timedOut = loop.with({ timeoutMs: 1 }).api.markRan(timedOutRan);
  assert.ok(await rejection(timedOut) instanceof TimeoutError);
  release.set();
  assert.equal(await busy, "tasks.ts");
  assert.equal(loop.api.add(1, 1).wait(WAIT_MS), 2); // the worker went past them in its inbox
  assert.equal(cancelledRan.isSet, false, "the cancelled call ran");
  assert.equal(timedOutRan.isSet, false, "the timed-out call ran");
});

test("a call whose timeout passed while it was queued never runs, even if its caller was too busy to say so", async () => {
  using loop = start();
  const release = new Event();
  const started = Future.withResolvers<true>();
  const busy = loop.api.blockUntil(release, started.resolve);
  started.future.wait(WAIT_MS);
  const ran = new Event();
  const late = loop.with({ timeoutMs: 50 }).api.markRan(ran);
  // This thread computes past the deadline: its timer cannot fire meanwhile.
  const past = performance.now() + 60;
  while (performance.now() < past) { /* busy */ }
  release.set();
  assert.equal(busy.wait(WAIT_MS), "tasks.ts");
  assert.ok(await rejection(late) instanceof TimeoutError);
  assert.equal(loop.api.add(1, 1).wait(WAIT_MS), 2);
  assert.equal(ran.isSet, false, "the late call ran");
});

test("a served sync function may block on a future that its caller settles", async () => {
  using loop = start();
  loop.api.add(0, 0).wait(WAIT_MS); // warm: the call then runs inside the drain that brings it
  const { future, resolve } = Future.withResolvers<number>();
  const started = Future.withResolvers<true>();
  const call = loop.api.waitOn(future as Future<unknown>, WAIT_MS, started.resolve);
  started.future.wait(WAIT_MS); // it blocks in wait() now
  resolve(7);
  assert.equal(await call, 7);
});

test("an aborted signal cancels the call; one aborted already never sends it", async () => {
  using loop = start();
  const controller = new AbortController();
  const reported = Future.withResolvers<string>();
  const call = loop.with({ signal: controller.signal }).call("waitForCancel", reported.resolve);
  loop.api.add(0, 0).wait(WAIT_MS); // the call has started in the worker
  controller.abort(new Error("navigated away"));
  assert.ok(await rejection(call) instanceof CancelledError);
  assert.match(await reported.future, /navigated away/);

  const early = loop.with({ signal: AbortSignal.abort("too late") }).call("add", 1, 1);
  assert.equal(early.state, "cancelled");
  assert.throws(() => early.wait(), CancelledError); // unbounded: settled
});

test("a taskTypes guard refuses calls without a listed type before they reach the worker", async () => {
  using loop = start({ taskTypes: ["cpu", "io"] });
  const untyped = await rejection(loop.api.add(1, 1)) as UnknownTaskTypeError;
  assert.ok(untyped instanceof UnknownTaskTypeError);
  assert.match(untyped.message, /carries no task type.*cpu, io/);
  const wrong = await rejection(loop.with({ taskType: "gpu" }).api.add(1, 1)) as Error;
  assert.match(wrong.message, /task type "gpu" of add\(\)/);
  assert.equal(loop.with({ taskType: "io" }).api.add(1, 1).wait(WAIT_MS), 2);
});

test("a pool routes by the work its workers really do: a call given up on still occupies one", async () => {
  using pool = start({ workers: 2, name: "pool" });
  const release = new Event();
  const started = Future.withResolvers<true>();
  const stuck = pool.api.blockUntil(release, started.resolve);
  started.future.wait(WAIT_MS);
  stuck.cancel(); // given up on; it blocks on, deaf to its signal
  assert.ok(await rejection(stuck) instanceof CancelledError);
  try {
    const names = new Set<string>();
    for (let i = 0; i < 10; i++) names.add(await within(pool.api.whoami(), `call ${i}`));
    assert.equal(names.size, 1, `each went to the idle worker: ${[...names]}`);
  } finally {
    release.set();
  }
});

test("a pool spreads concurrent calls over its workers", async () => {
  using pool = start({ workers: 3, name: "pool" });
  const names = await Promise.all(Array.from({ length: 6 }, () => pool.api.nameAfter(20)));
  assert.deepEqual(new Set(names), new Set(["pool#0", "pool#1", "pool#2"]));
});

test("close() lets pending calls finish, then later calls fail with LoopClosedError", async () => {
  const loop = start();
  const slow = loop.api.nameAfter(10);
  const closing = loop.close();
  assert.equal(loop.close(), closing, "close is idempotent");
  assert.equal(loop.closed, true);
  const late = await rejection(loop.api.add(1, 1));
  assert.ok(late instanceof LoopClosedError);
  assert.equal(await slow, "tasks.ts");
  await closing;
  assert.equal(loop.shutdown(), closing);
});

test("close({ cancelPending }) fires the worker's signal and lets its handlers run before it ends", async () => {
  for (let round = 0; round < 10; round++) {
    const loop = start();
    const reported = Future.withResolvers<string>();
    const started = Future.withResolvers<true>();
    const call = loop.api.waitForCancel(reported.resolve, started.resolve);
    started.future.wait(WAIT_MS);
    const closing = loop.close({ cancelPending: true });
    assert.ok(await rejection(call) instanceof CancelledError);
    await closing;
    // The abort handler's report made it out before the worker was terminated.
    assert.equal(reported.future.state, "fulfilled", `round ${round}`);
    assert.match(await reported.future, /^CancelledError: the loop "tasks\.ts" was closed/);
  }
});

test("using disposes (cancels, terminates), await using drains first", async () => {
  let pending: Future<unknown>;
  {
    using loop = start();
    pending = loop.api.neverReturns();
  }
  assert.ok(await rejection(pending) instanceof CancelledError);
  let slow: Future<string>;
  {
    await using loop = start();
    slow = loop.api.nameAfter(5);
  }
  assert.equal(slow.state, "fulfilled");
});

test("closing wakes a worker that is blocked in wait()", async () => {
  const loop = start();
  const { future } = Future.withResolvers<number>();
  const started = Future.withResolvers<true>();
  const call = loop.api.reportThenWait(started.resolve, future as Future<unknown>);
  started.future.wait(WAIT_MS);
  loop[Symbol.dispose]();
  assert.ok(await rejection(call) instanceof CancelledError);
});

for (const how of ["throw", "reject", "close", "exit"] as const) {
  test(`a worker that dies (${how}) fails pending calls, even a blocked wait, with WorkerCrashedError`, async () => {
    using loop = start();
    const pending = loop.api.neverReturns();
    assert.equal(loop.api.crashLater(how).wait(WAIT_MS), "scheduled");
    const error = (() => {
      try {
        pending.wait(WAIT_MS);
      } catch (error) {
        return error;
      }
    })() as WorkerCrashedError;
    // Not the wait's own TimeoutError: the death woke it.
    assert.ok(error instanceof WorkerCrashedError, String(error));
    if (how === "throw" || how === "reject") {
      assert.match((error.cause as Error).message, /(uncaught|unhandled) in worker/);
    } else {
      assert.match(error.message, how === "close" ? /self\.close\(\)/ : /Deno\.exit\(3\)/);
    }
    const later = loop.api.add(1, 1);
    assert.equal(later.state, "rejected", "later calls fail at once");
    assert.ok(await rejection(later) instanceof WorkerCrashedError);
  });
}

test("a pool keeps serving when one of its workers dies", async () => {
  using pool = start({ workers: 2 });
  pool.api.add(0, 0).wait(WAIT_MS);
  await pool.api.crashLater("exit");
  await pool.api.crashLater("exit").then(() => {}, () => {});
  // Whatever survived serves; with none left, calls fail with WorkerCrashedError.
  const outcome = await pool.api.add(1, 1).then((v) => v, (e) => e);
  assert.ok(outcome === 2 || outcome instanceof WorkerCrashedError);
});

test("currentSignal() outside a background call throws", () => {
  assert.throws(() => currentSignal(), /outside a background call/);
});

test("map() keeps input order, honours limit, and fails fast", async () => {
  using loop = start();
  assert.deepEqual(await loop.map("echo", [3, 1, 2], { limit: 2 }), [3, 1, 2]);
  assert.deepEqual(loop.map("echo", [], {}).wait(WAIT_MS), []);
  const error = await rejection(loop.map("fail", ["a", "b"]));
  assert.ok(error instanceof RangeError);
  assert.ok(await rejection(loop.map("echo", [1], { limit: 0 })) instanceof RangeError);
});

test("start() rejects bad options with clear errors", () => {
  assert.throws(
    () => BackgroundLoop.start(TASKS, { workers: 0 }),
    /workers must be a positive integer/,
  );
  assert.throws(() => BackgroundLoop.start(TASKS, { timeoutMs: -1 }), /timeoutMs must be/);
});
