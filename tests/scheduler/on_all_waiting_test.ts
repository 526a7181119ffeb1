import assert from "node:assert/strict";
import { test, within } from "../bounded.ts";
import {
  BackgroundLoop,
  DeadlockError,
  Future,
  onAllWaiting,
  pmap,
  run,
  runAsync,
  sleep,
  startGuestRun,
  VirtualClock,
} from "../../mod.ts";
import type * as Tasks from "../fixtures/tasks.ts";

/** A client that buffers lookups and answers them all in one flush. */
function batcher(answer: (ids: number[]) => Future<number[]> | number[]) {
  const buffered: [number, (value: number) => void, (error: unknown) => void][] = [];
  const batches: number[][] = [];
  return {
    batches,
    get(id: number): Future<number> {
      const { future, resolve, reject } = Future.withResolvers<number>();
      if (buffered.length === 0) {
        onAllWaiting(() => {
          const requests = buffered.splice(0);
          const ids = requests.map(([id]) => id);
          batches.push(ids);
          const answered = answer(ids);
          const settle = (values: number[]) =>
            requests.forEach(([, resolve], i) => resolve(values[i]));
          if (!(answered instanceof Future)) return settle(answered);
          answered.onDone(() => {
            try {
              settle(answered.wait()); // unbounded: settled already
            } catch (error) {
              requests.forEach(([, , reject]) => reject(error));
            }
          });
          return answered;
        });
      }
      buffered.push([id, resolve, reject]);
      return future;
    },
  };
}

test("run(): once every task waits, the flush runs once and serves them all", () => {
  const client = batcher((ids) => ids.map((id) => id * 10));
  const results = run(() =>
    pmap(function* (id: number) {
      const first = yield* client.get(id);
      yield* sleep(0);
      return first + (yield* client.get(id + 1)); // a second round, flushed the next time
    }, [1, 2, 3])
  );
  assert.deepEqual(results, [30, 50, 70]);
  assert.deepEqual(client.batches, [[1, 2, 3], [2, 3, 4]]);
});

test("flushes run in the order given, before timers make the run block", () => {
  const order: string[] = [];
  const clock = new VirtualClock({ autojump: true });
  run(function* () {
    const { future, resolve } = Future.withResolvers<void>();
    onAllWaiting(() => void order.push("first"));
    onAllWaiting(() => {
      order.push("second");
      onAllWaiting(() => void order.push("next time")); // after the next wait
      resolve();
    });
    yield* future;
    order.push("resumed");
    yield* sleep(10);
    order.push("slept");
  }, { clock });
  assert.deepEqual(order, ["first", "second", "resumed", "next time", "slept"]);
});

test("a flush that returns a background call's future keeps a blocking run waiting for it", () => {
  using loop = BackgroundLoop.start<typeof Tasks>(new URL("../fixtures/tasks.ts", import.meta.url));
  loop.api.add(0, 0).wait(10_000); // warm: the batch's wait must not depend on the start
  const client = batcher((ids) => loop.api.echo(ids.map((id) => -id)) as Future<number[]>);
  const ids = Array.from({ length: 100 }, (_, i) => i);
  const results = run(() => pmap((id: number) => client.get(id), ids));
  assert.deepEqual(results, ids.map((id) => -id));
  assert.equal(client.batches.length, 1, "one background call for 100 tasks");
});

test("runAsync and guest runs flush before they hand the turn back", async () => {
  for (const start of ["runAsync", "guest"] as const) {
    const order: string[] = [];
    const client = batcher((ids) => ids);
    const body = function* () {
      queueMicrotask(() => order.push("host's turn"));
      const value = yield* client.get(7);
      order.push("resumed");
      return value;
    };
    const task = start === "runAsync"
      ? runAsync(body)
      : startGuestRun(body, { runSyncSoon: queueMicrotask });
    assert.equal(await within(task, start), 7);
    assert.deepEqual(order, ["resumed", "host's turn"], start);
  }
});

test("a deadlock is still one after the flushes, and a throwing flush is reported", () => {
  const reported: unknown[] = [];
  const listener = (event: ErrorEvent) => {
    event.preventDefault();
    reported.push(event.error);
  };
  globalThis.addEventListener("error", listener);
  try {
    assert.throws(
      () =>
        run(function* () {
          onAllWaiting(() => {
            throw new RangeError("flush failed");
          });
          yield* new Future<void>(); // nothing can settle it
        }),
      DeadlockError,
    );
  } finally {
    globalThis.removeEventListener("error", listener);
  }
  assert.equal((reported[0] as Error)?.message, "flush failed");
});

test("onAllWaiting() outside a task throws a TypeError", () => {
  assert.throws(() => onAllWaiting(() => {}), /onAllWaiting\(\) works only inside a task/);
});

test("a failed batch reaches every task that asked, in a blocking run", () => {
  using loop = BackgroundLoop.start<typeof Tasks>(new URL("../fixtures/tasks.ts", import.meta.url));
  const client = batcher(() => loop.api.fail("backend down") as unknown as Future<number[]>);
  const outcomes = run(() =>
    pmap(function* (id: number) {
      try {
        return yield* client.get(id);
      } catch (error) {
        return (error as Error).message;
      }
    }, [1, 2, 3])
  );
  assert.deepEqual(outcomes, ["backend down", "backend down", "backend down"]);
  assert.equal(client.batches.length, 1);
});

test("a flush that returns a Promise: awaited by a hosted run, named by a blocking run's DeadlockError", async () => {
  const hosted = runAsync(function* () {
    const { future, resolve } = Future.withResolvers<number>();
    onAllWaiting(() => Promise.resolve().then(() => resolve(5)));
    return yield* future;
  });
  assert.equal(await within(hosted, "the hosted run"), 5);
  assert.throws(
    () =>
      run(function* () {
        const { future, resolve } = Future.withResolvers<number>();
        onAllWaiting(() => Promise.resolve().then(() => resolve(5)));
        return yield* future;
      }),
    (error: unknown) =>
      error instanceof DeadlockError && /a Promise of this thread/.test(error.message),
  );
});

test("a flush that makes a lower layer buffer runs that layer's flush too, hosted or blocking", async () => {
  const lower = batcher((ids) => ids.map((id) => id * 100));
  const upper = batcher((ids) => {
    const asked = ids.map((id) => lower.get(id)); // gives a flush from inside a flush
    const { future, resolve } = Future.withResolvers<number[]>();
    let left = asked.length;
    for (const f of asked) {
      f.onDone(() => --left === 0 && resolve(asked.map((g) => g.wait()))); // unbounded: settled already
    }
    return future;
  });
  const body = () => pmap((id: number) => upper.get(id), [1, 2]);
  assert.deepEqual(run(body), [100, 200]);
  assert.deepEqual(await within(runAsync(body), "the hosted run"), [100, 200]);
  assert.equal(lower.batches.length, 2, "one lower batch per run");
});

test("a run() started inside a flush gives its own tasks' flushes to itself", () => {
  const inner = batcher((ids) => ids.map((id) => -id));
  const outer = batcher((ids) => run(() => pmap((id: number) => inner.get(id), ids)));
  assert.deepEqual(run(() => pmap((id: number) => outer.get(id), [1, 2])), [-1, -2]);
  assert.deepEqual(inner.batches, [[1, 2]]);
});
