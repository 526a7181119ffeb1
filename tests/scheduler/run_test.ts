import assert from "node:assert/strict";
import { test, WAIT_MS } from "../bounded.ts";
import {
  BackgroundLoop,
  CancelledError,
  DeadlockError,
  Event,
  Future,
  type Operation,
  pmap,
  run,
  scope,
  sleep,
  stackless,
  sync,
  timeout,
  TimeoutError,
  until,
  WorkerCrashedError,
} from "../../mod.ts";
import type * as Tasks from "../fixtures/tasks.ts";
import { MAX_RUN_DEPTH } from "../../src/scheduler/run_loop.ts";

const TASKS = new URL("../fixtures/tasks.ts", import.meta.url);

test("run returns the body's value; yield* infers types", () => {
  const value = run(function* () {
    const a: number = yield* Future.resolve(20);
    const b = yield* (function* (): Operation<number> {
      yield* sleep(0);
      return 22;
    })();
    return a + b;
  });
  assert.equal(value, 42);
});

test("errors before and after the first yield* leave run unchanged", () => {
  const before = new RangeError("before");
  assert.throws(
    () =>
      run(function* () {
        throw before;
      }),
    (error) => error === before,
  );
  const after = new TypeError("after");
  assert.throws(
    () =>
      run(function* () {
        yield* sleep(0);
        yield* Future.resolve(1);
        throw after;
      }),
    (error) => error === after,
  );
  const thrownByBody = new Error("the body function itself threw");
  assert.throws(() =>
    run(() => {
      throw thrownByBody;
    }), (error) => error === thrownByBody);
});

test("a failed future caught inside a task does not fail the run", () => {
  const value = run(function* () {
    try {
      yield* Future.reject(new Error("caught"));
    } catch (error) {
      return `recovered from ${(error as Error).message}`;
    }
  });
  assert.equal(value, "recovered from caught");
  assert.equal(
    run(function* () {
      const { future, reject } = Future.withResolvers<number>();
      return yield* scope(function* (s) {
        s.spawn(function* () {
          yield* sleep(1);
          reject(new Error("late"));
        });
        try {
          return yield* future;
        } catch {
          return -1;
        }
      });
    }),
    -1,
  );
});

test("bad input: run without a function, a plain yield of a non-future", () => {
  assert.throws(() => run(42 as never), TypeError);
  assert.throws(
    () =>
      run(function* () {
        yield 5;
      }),
    (error) => error instanceof TypeError && /yielded number 5.*yield\*/.test(error.message),
  );
  // A plain `yield future` works like `yield*` for a future.
  assert.equal(
    run(function* () {
      return (yield Future.resolve(3)) as number;
    }),
    3,
  );
});

test("operations outside a task fail with a TypeError naming them", () => {
  assert.throws(() => sleep(5).next(), /sleep\(\) works only inside a task/);
  assert.throws(() => scope(function* () {}).next(), /scope\(\) works only inside a task/);
});

test("re-entrancy: a nested run completes inside a task while outer siblings are frozen", () => {
  const log: string[] = [];
  const result = run(function* () {
    const { future: outerFuture, resolve } = Future.withResolvers<string>();
    yield* scope(function* (s) {
      s.spawn(function* sibling() {
        for (let i = 0; i < 3; i++) {
          log.push(`sibling ${i}`);
          yield* sleep(0);
        }
      });
      s.spawn(function* waiter() {
        log.push(`waiter got ${yield* outerFuture}`);
      });
      s.spawn(function* nester() {
        yield* sleep(0);
        const inner = run(function* () {
          log.push("inner start");
          yield* sleep(2); // the outer sibling would run here if it could
          resolve("settled by the inner run"); // an outer future settles meanwhile
          yield* sleep(0);
          log.push("inner end");
          return "inner value";
        });
        log.push(`nester got ${inner}`);
      });
    });
    return "outer done";
  });
  assert.equal(result, "outer done");
  assert.deepEqual(log, [
    "sibling 0",
    "sibling 1",
    "inner start",
    "inner end",
    "nester got inner value",
    "sibling 2", // queued before the waiter was woken (FIFO)
    "waiter got settled by the inner run",
  ]);
});

test("sync() wraps an operation function as a blocking one, usable inside tasks", () => {
  const double = sync(function* (x: number) {
    yield* sleep(0);
    return 2 * x;
  });
  assert.equal(double(21), 42);
  assert.equal(
    run(function* () {
      return double(double(1)) + (yield* Future.resolve(1));
    }),
    5,
  );
  assert.throws(() => sync("nope" as never), TypeError);
});

test("deadlock: run throws DeadlockError naming what the tasks wait on", () => {
  assert.throws(
    () =>
      run(function* main() {
        yield* scope(function* (s) {
          s.spawn(function* stuck() {
            yield* Future.withResolvers<void>().future;
          });
        });
      }),
    (error) =>
      error instanceof DeadlockError && /task "stuck" waits on a future only this thread/
        .test(error.message),
  );
  assert.throws(
    () =>
      run(function* () {
        yield* Future.from(new Promise(() => {}));
      }),
    (error) =>
      error instanceof DeadlockError && /Promise of this thread.*runAsync/.test(error.message),
  );
  assert.throws(
    () =>
      run(function* () {
        yield* until(Promise.resolve(1));
      }),
    (error) => error instanceof DeadlockError && /until\(promise\).*runAsync/.test(error.message),
  );
});

test("deadlock: finally blocks run, and the thread is usable afterwards", () => {
  const cleaned: string[] = [];
  assert.throws(() =>
    run(function* () {
      try {
        yield* Future.withResolvers<void>().future;
      } finally {
        yield* sleep(1);
        cleaned.push("cleaned");
      }
    }), DeadlockError);
  assert.deepEqual(cleaned, ["cleaned"]);
  assert.equal(run(() => Future.resolve("fine")), "fine");
});

test("a blocking run sleeps until a background call settles, and notices a crash", () => {
  using loop = BackgroundLoop.start<typeof Tasks>(TASKS);
  const values = run(function* () {
    const slow = loop.api.nameAfter(30);
    const quick = yield* loop.api.addLater(1, 2);
    return [quick, typeof (yield* slow)];
  });
  assert.deepEqual(values, [3, "string"]);
  assert.throws(
    () =>
      run(function* () {
        const pending = loop.api.neverReturns();
        loop.api.crashLater("close");
        yield* pending;
      }),
    WorkerCrashedError,
  );
});

test("a future settled by another thread wakes a blocking run", () => {
  using loop = BackgroundLoop.start<typeof Tasks>(TASKS);
  const { future, resolve } = Future.withResolvers<string>();
  const got = run(function* () {
    loop.api.resolveWith(resolve as (value: unknown) => void, "from the worker");
    return yield* future;
  });
  assert.equal(got, "from the worker");
});

test("deep yield* chains: native up to V8's stack, any depth with stackless()", () => {
  function* native(n: number): Operation<number> {
    if (n === 0) {
      yield* sleep(0);
      return 0;
    }
    return 1 + (yield* native(n - 1));
  }
  assert.equal(run(() => native(2_000)), 2_000);
  function* deep(n: number): Operation<number> {
    if (n === 0) {
      yield* sleep(0);
      yield* sleep(1);
      return 0;
    }
    if (n === 5_000) {
      try {
        return 1 + (yield* stackless(deep(n - 1)));
      } catch (error) {
        return (error as Error).message === "at the bottom" ? -1 : -2;
      }
    }
    return 1 + (yield* stackless(deep(n - 1)));
  }
  assert.equal(run(() => deep(10_000)), 10_000);
  function* failing(n: number): Operation<number> {
    if (n === 0) {
      yield* sleep(0);
      throw new Error("at the bottom");
    }
    if (n === 5_000) {
      try {
        return yield* stackless(failing(n - 1));
      } catch (error) {
        return (error as Error).message === "at the bottom" ? -1 : -2;
      }
    }
    return yield* stackless(failing(n - 1));
  }
  assert.equal(run(() => failing(10_000)), -1);
  // Cancellation reaches the innermost frame; finally blocks run on the way out.
  let unwound = 0;
  function* hang(n: number): Operation<void> {
    try {
      if (n === 0) yield* sleep(1_000_000);
      else yield* stackless(hang(n - 1));
    } finally {
      unwound++;
    }
  }
  assert.throws(() => run(() => timeout(5, () => hang(10_000))), TimeoutError);
  assert.equal(unwound, 10_001);
});

test("thousands of tasks", () => {
  const total = run(() =>
    scope(function* (s) {
      const tasks = Array.from({ length: 5_000 }, (_, i) =>
        s.spawn(function* () {
          yield* sleep(0);
          yield* sleep(1);
          return i;
        }));
      let sum = 0;
      for (const task of tasks) sum += yield* task;
      return sum;
    })
  );
  assert.equal(total, (4_999 * 5_000) / 2);
});

test("memory stays flat over long runs: nothing per step survives it", () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return; // run with --v8-flags=--expose-gc (deno task test does)
  const steps = (n: number) =>
    run(function* () {
      const { future, resolve } = Future.withResolvers<void>();
      yield* scope(function* (s) {
        s.spawn(function* () {
          for (let i = 0; i < n; i++) {
            yield* sleep(0);
            yield* Future.resolve(i);
          }
          resolve();
        });
        for (let i = 0; i < n / 1000; i++) {
          const waiter = s.spawn(() => future);
          waiter.cancel(); // a cancelled waiter leaves nothing on the future
        }
        yield* future;
      });
    });
  steps(10_000); // warm up
  gc();
  const before = Deno.memoryUsage().heapUsed;
  steps(200_000);
  gc();
  const grown = Deno.memoryUsage().heapUsed - before;
  assert.ok(grown < 1_000_000, `the heap grew by ${grown} bytes over 200 000 steps`);
});

test("a task that is cancelled before its first step never runs", () => {
  let ran = false;
  run(() =>
    scope(function* (s) {
      const task = s.spawn(function* () {
        ran = true;
      });
      assert.equal(task.cancel("not needed"), true);
      assert.equal(task.cancel(), true); // still ending: the request stands
      try {
        yield* task;
      } catch (error) {
        assert.ok(error instanceof CancelledError);
        assert.equal(error.reason, "not needed");
      }
      assert.equal(task.state, "cancelled");
      assert.equal(task.cancel(), false);
    })
  );
  assert.equal(ran, false);
});

test("a blocking run fires timers between batches: a task that only yields starves nothing", () => {
  const bound = performance.now() + WAIT_MS; // against a hang, not a timing assertion
  let siblingDone = false;
  run(() =>
    scope(function* (s) {
      s.spawn(function* () {
        yield* sleep(50);
        siblingDone = true;
      });
      while (!siblingDone && performance.now() < bound) yield* sleep(0);
    })
  );
  assert.ok(siblingDone, "the sibling's timer fired while the other task only yielded");
  assert.throws(
    () =>
      run(() =>
        timeout(50, function* () {
          while (performance.now() < bound) yield* sleep(0);
          throw new Error("the timeout never fired");
        })
      ),
    (error) => error instanceof TimeoutError && /after 50 ms/.test(error.message),
  );
});

test("a call's timeout fires inside a blocking run(), sync() and pmap", () => {
  using loop = BackgroundLoop.start<typeof Tasks>(TASKS, { timeoutMs: 300 });
  // The scheduler's own timeout only guards against a hang: the error must
  // be the call's.
  const callTimedOut = (error: unknown) =>
    error instanceof TimeoutError && /neverReturns\(\) timed out after 300 ms/.test(error.message);
  const guarded = <T>(body: () => Operation<T>) => run(() => timeout(WAIT_MS, body));
  assert.throws(() => guarded(() => loop.api.neverReturns()), callTimedOut);
  const viaSync = sync(function* () {
    return yield* loop.api.neverReturns();
  });
  assert.throws(() =>
    guarded(function* () {
      return viaSync();
    }), callTimedOut);
  assert.throws(
    () => guarded(() => pmap(() => loop.api.neverReturns(), [1, 2, 3])),
    callTimedOut,
  );
  const perCall = loop.with({ timeoutMs: 40 });
  assert.throws(
    () => guarded(() => perCall.api.neverReturns()),
    (error) => error instanceof TimeoutError && /after 40 ms/.test(error.message),
  );
  assert.equal(loop.api.add(1, 2).wait(WAIT_MS), 3, "the loop still serves");
});

test("a task cancelled after its wait ended, before it resumed, keeps what it got: the cancel comes next", () => {
  const seen: string[] = [];
  const waiter = (future: Future<string>) =>
    function* () {
      try {
        seen.push(`got ${yield* future}`);
        yield* sleep(0); // the cancel comes here, at the next wait
        seen.push("not reached");
      } catch (error) {
        seen.push((error as Error).name);
        throw error;
      }
    };
  const cancelledAfter = (settle: (f: ReturnType<typeof Future.withResolvers<string>>) => void) =>
    run(() =>
      scope(function* (s) {
        const handle = Future.withResolvers<string>();
        const task = s.spawn(waiter(handle.future));
        yield* sleep(0); // it waits
        settle(handle); // its wait ends...
        task.cancel(); // ...but the cancel comes before it runs again
        yield* sleep(0);
        yield* sleep(0);
        return task.state;
      })
    );
  // A value is not dropped: the task resumes with it.
  assert.equal(cancelledAfter((handle) => handle.resolve("value")), "cancelled");
  assert.deepEqual(seen.splice(0), ["got value", "CancelledError"]);
  // Nor is a failure: it is not hidden behind the cancel.
  const failure = new RangeError("seen");
  assert.throws(() => cancelledAfter((handle) => handle.reject(failure)), (e) => e === failure);
  assert.deepEqual(seen, ["RangeError"]);
});

test("sync() passes this through: a sync method can be overridden in a subclass", () => {
  class Counter {
    constructor(readonly start: number) {}
    declare next: (step: number) => number;
  }
  Counter.prototype.next = sync(function* (this: Counter, step: number) {
    return this.start + (yield* Future.resolve(step));
  });
  class Doubler extends Counter {}
  Doubler.prototype.next = sync(function* (this: Doubler, step: number) {
    yield* sleep(0);
    return 2 * Counter.prototype.next.call(this, step); // super's, on this instance
  });
  assert.equal(new Counter(10).next(1), 11);
  assert.equal(new Doubler(10).next(1), 22);
});

test(`run() nests ${MAX_RUN_DEPTH} levels deep, and says so past that`, () => {
  let deepest = 0;
  function nest(level: number): number {
    deepest = Math.max(deepest, level);
    return run(function* () {
      yield* sleep(0);
      return level === MAX_RUN_DEPTH ? level : nest(level + 1);
    });
  }
  assert.equal(nest(1), MAX_RUN_DEPTH);
  assert.throws(
    () =>
      run(function* () {
        return nest(1); // one level more
      }),
    (error) => error instanceof RangeError && /run\(\) nested 1000 levels deep/.test(error.message),
  );
  assert.equal(
    run(() => Future.resolve("the thread is usable afterwards")),
    "the thread is usable afterwards",
  );
});

test("a blocking run waits out a timer that will end a wait only this thread can end", () => {
  const event = new Event(); // never leaves this thread: only a task here can set it
  const value = run(() =>
    scope(function* (s) {
      s.spawn(function* () {
        yield* sleep(1_100); // past the run's once-a-second look for stalled waits
        event.set();
      });
      yield* event;
      return "set by a sibling";
    })
  );
  assert.equal(value, "set by a sibling");
});

test("a blocking run does not call a deadlock while a sibling waits on another thread that may end it", () => {
  using loop = BackgroundLoop.start<typeof Tasks>(TASKS);
  loop.api.add(0, 0).wait(WAIT_MS); // started: its calls have no deadline at all
  const event = new Event(); // never leaves this thread
  const got = run(() =>
    scope(function* (s) {
      s.spawn(function* () {
        yield* loop.api.delayEcho("answer", 50); // no timeout, no timer of this run's
        event.set();
      });
      yield* event;
      return "set after the call";
    })
  );
  assert.equal(got, "set after the call");
});
