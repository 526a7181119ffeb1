import assert from "node:assert/strict";
import { test } from "../bounded.ts";
import {
  BackgroundLoop,
  CancelledError,
  Future,
  runAsync,
  scope,
  sleep,
  startGuestRun,
  timeout,
  TimeoutError,
  until,
} from "../../mod.ts";
import type * as Tasks from "../fixtures/tasks.ts";

test("runAsync drives tasks on the event loop and waits on Promises", async () => {
  const task = runAsync(function* () {
    const a = yield* until(Promise.resolve(1));
    yield* sleep(2);
    const b = yield* until(new Promise<number>((resolve) => setTimeout(() => resolve(2), 1)));
    return a + b;
  });
  assert.equal(task.state, "pending");
  assert.equal(await task, 3);
  await assert.rejects(
    () =>
      Promise.resolve(runAsync(function* () {
        yield* until(Promise.reject(new RangeError("no")));
      })),
    RangeError,
  );
  assert.throws(() => runAsync(function* () {}).wait(), /only this thread/); // unbounded: throws at once
});

test("runAsync: a timeout cancels a Promise wait; cancelling the task works", async () => {
  const never = new Promise(() => {});
  await assert.rejects(
    () => Promise.resolve(runAsync(() => timeout(5, () => until(never)))),
    TimeoutError,
  );
  const task = runAsync(function* () {
    yield* sleep(100_000);
  });
  await Promise.resolve();
  task.cancel("bye");
  await assert.rejects(() => Promise.resolve(task), CancelledError);
});

test("runAsync does not starve the event loop", async () => {
  let ticks = 0;
  const interval = setInterval(() => ticks++, 1);
  try {
    // A task that only yields ends only if the host's timers get turns.
    await runAsync(function* () {
      while (ticks < 3) yield* sleep(0);
    });
  } finally {
    clearInterval(interval);
  }
  assert.ok(ticks >= 3, "the host event loop got turns");
});

test("runAsync wakes for a background call", async () => {
  using loop = BackgroundLoop.start<typeof Tasks>(new URL("../fixtures/tasks.ts", import.meta.url));
  const value = await runAsync(function* () {
    return yield* loop.api.addLater(20, 22);
  });
  assert.equal(value, 42);
});

test("a guest run steps only inside runSyncSoon callbacks; done is called once", () => {
  const soon: (() => void)[] = [];
  let inCallback = false;
  const outcomes: unknown[] = [];
  const log: string[] = [];
  const { future: fromHost, resolve } = Future.withResolvers<string>();
  const task = startGuestRun(function* () {
    assert.ok(inCallback);
    log.push("started");
    const got = yield* fromHost;
    assert.ok(inCallback);
    log.push(`got ${got}`);
    return yield* scope(function* (s) {
      const child = s.spawn(function* () {
        assert.ok(inCallback);
        return "child";
      });
      return yield* child;
    });
  }, {
    runSyncSoon: (fn) => soon.push(fn),
    done: (outcome) => outcomes.push(outcome),
  });
  const pump = () => {
    while (soon.length > 0) {
      inCallback = true;
      soon.shift()!();
      inCallback = false;
    }
  };
  assert.deepEqual(log, []); // nothing ran in startGuestRun itself
  pump();
  assert.deepEqual(log, ["started"]);
  assert.equal(soon.length, 0);
  resolve("hello"); // the host wakes the guest
  assert.equal(soon.length, 1);
  pump();
  assert.deepEqual(log, ["started", "got hello"]);
  assert.deepEqual(outcomes, [{ ok: true, value: "child" }]);
  assert.equal(task.state, "fulfilled");
});

test("a guest's timers and failures reach the host", async () => {
  const outcomes: { ok: boolean; error?: unknown }[] = [];
  const failure = new Error("guest failed");
  const { future: finished, resolve } = Future.withResolvers<void>();
  startGuestRun(function* () {
    yield* sleep(2);
    throw failure;
  }, {
    runSyncSoon: (fn) => queueMicrotask(fn),
    done: (outcome) => {
      outcomes.push(outcome);
      resolve();
    },
  });
  await finished;
  assert.equal(outcomes.length, 1);
  assert.equal(outcomes[0].ok, false);
  assert.equal(outcomes[0].error, failure);
  assert.throws(() => startGuestRun(function* () {}, {} as never), TypeError);
});
