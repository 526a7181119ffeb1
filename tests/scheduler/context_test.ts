import assert from "node:assert/strict";
import { test, within } from "../bounded.ts";
import {
  createContext,
  Future,
  pmap,
  run,
  runAsync,
  scope,
  sleep,
  startGuestRun,
  sync,
} from "../../mod.ts";

test("a task sees its spawner's values as they were at spawn; its own changes stay its own", () => {
  const id = createContext("id", "default");
  const seen = run(() =>
    scope(function* (s) {
      id.set("parent");
      const before = s.spawn(function* () {
        const inherited = id.get();
        yield* sleep(0); // the parent changes its value meanwhile
        const after = id.get();
        id.set("child");
        yield* sleep(0);
        return [inherited, after, id.get()];
      });
      yield* sleep(0);
      id.set("parent, later");
      const sibling = s.spawn(function* () {
        yield* sleep(0);
        yield* sleep(0);
        return id.get();
      });
      return { before: yield* before, sibling: yield* sibling, parent: id.get() };
    })
  );
  assert.deepEqual(seen, {
    before: ["parent", "parent", "child"],
    sibling: "parent, later",
    parent: "parent, later",
  });
});

test("tasks that interleave each keep their own value; pmap's tasks inherit", () => {
  const id = createContext<number | undefined>("id", undefined);
  const results = run(function* () {
    id.set(100);
    return yield* pmap(function* (n: number) {
      const inherited = id.get();
      id.set(n);
      for (let i = 0; i < 3; i++) yield* sleep(0);
      return [inherited, id.get()];
    }, [1, 2, 3]);
  });
  assert.deepEqual(results, [[100, 1], [100, 2], [100, 3]]);
});

test("with() sets a value for its body and puts the previous one back, however it ends", () => {
  const level = createContext("level", "info");
  run(function* () {
    assert.equal(
      yield* level.with("debug", function* () {
        assert.equal(level.get(), "debug");
        yield* level.with("trace", function* () {
          assert.equal(level.get(), "trace");
        });
        return level.get();
      }),
      "debug",
    );
    assert.equal(level.get(), "info");
    level.set("warn");
    try {
      yield* level.with("error", function* () {
        yield* sleep(0);
        throw new RangeError("body failed");
      });
    } catch (error) {
      assert.ok(error instanceof RangeError);
    }
    assert.equal(level.get(), "warn");
  });
});

test("a nested run() starts from its caller's values, and its changes stay inside it", () => {
  const user = createContext("user", "nobody");
  const inner = sync(function* () {
    const seen = user.get();
    user.set("changed inside");
    return seen;
  });
  run(function* () {
    user.set("alice");
    assert.equal(inner(), "alice");
    assert.equal(user.get(), "alice");
  });
  assert.equal(inner(), "nobody", "outside every task: the default");
});

test("runAsync and guest runs keep each task's values across waits on Promises", async () => {
  const trace = createContext("trace", "");
  const hosted = runAsync(function* () {
    trace.set("async");
    yield* Future.from(Promise.resolve());
    return trace.get();
  });
  assert.equal(await within(hosted, "runAsync"), "async");
  const guest = startGuestRun(function* () {
    trace.set("guest");
    yield* Future.from(new Promise((resolve) => setTimeout(resolve, 1)));
    return trace.get();
  }, { runSyncSoon: queueMicrotask });
  assert.equal(await within(guest, "guest run"), "guest");
});

test("set() and with() outside a task throw a TypeError naming the context", () => {
  const named = createContext("requestId", 0);
  assert.throws(() => named.set(1), /context "requestId"\.set\(\) works only inside a task/);
  assert.throws(
    () => named.with(1, function* () {})[Symbol.iterator]().next(),
    /context "requestId"\.with\(\) works only inside a task/,
  );
  assert.equal(named.get(), 0);
});
