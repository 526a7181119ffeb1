import assert from "node:assert/strict";
import { test, WAIT_MS } from "../bounded.ts";
import {
  BackgroundLoop,
  deadline,
  Future,
  run,
  runAsync,
  scope,
  sleep,
  timeout,
  TimeoutError,
  VirtualClock,
} from "../../mod.ts";
import type * as Tasks from "../fixtures/tasks.ts";

test("timeout raises TimeoutError in the body and cancels what it waited on", () => {
  const { future } = Future.withResolvers<number>();
  let seenInBody: unknown;
  assert.throws(
    () =>
      run(() =>
        timeout(5, function* () {
          try {
            return yield* future;
          } catch (error) {
            seenInBody = error;
            throw error;
          }
        })
      ),
    TimeoutError,
  );
  assert.ok(seenInBody instanceof TimeoutError);
  assert.equal(future.state, "cancelled");
});

test("a body that ends in time returns its value and leaves no timer behind", () => {
  const clock = new VirtualClock();
  const value = run(function* () {
    let sum = 0;
    for (let i = 0; i < 1000; i++) {
      sum += yield* timeout(3_600_000, function* () {
        yield* sleep(0);
        return 1;
      });
    }
    return sum;
  }, { clock });
  assert.equal(value, 1000);
  assert.equal(clock.now(), 0); // no timer was waited for (a left-over one would deadlock)
});

test("nested timeouts take the earliest, whichever is inside", () => {
  const clock = new VirtualClock({ autojump: true });
  const nested = (outerMs: number, innerMs: number) =>
    run(function* () {
      try {
        yield* timeout(outerMs, () => timeout(innerMs, () => sleep(5000)));
      } catch (error) {
        return `${(error as Error).message} at ${clock.now()}`;
      }
    }, { clock });
  assert.equal(nested(10, 1000), "timed out after 10 ms at 10");
  assert.equal(nested(1000, 10), "timed out after 10 ms at 20");
});

test("an inner timeout caught inside leaves the outer one running", () => {
  const clock = new VirtualClock({ autojump: true });
  const value = run(() =>
    timeout(100, function* () {
      try {
        yield* timeout(10, () => sleep(50));
      } catch (error) {
        assert.ok(error instanceof TimeoutError);
      }
      yield* sleep(20);
      return clock.now();
    }), { clock });
  assert.equal(value, 30);
});

test("deadline() takes a time of the run's clock; a past deadline fires at the first wait", () => {
  const clock = new VirtualClock({ start: 1000, autojump: true });
  assert.throws(
    () => run(() => deadline(1500, () => sleep(10_000)), { clock }),
    (error) => error instanceof TimeoutError && /1500/.test(error.message),
  );
  assert.equal(clock.now(), 1500);
  assert.throws(() => run(() => deadline(0, () => sleep(1)), { clock }), TimeoutError);
  assert.throws(() => run(() => timeout(-1, () => sleep(1))), RangeError);
});

test("sleep(0) is a plain yield point; sleep rejects bad input", () => {
  const order: string[] = [];
  run(() =>
    scope(function* (s) {
      for (const name of ["a", "b"]) {
        s.spawn(function* () {
          for (let i = 0; i < 2; i++) {
            order.push(`${name}${i}`);
            yield* sleep(0);
          }
        });
      }
    })
  );
  assert.deepEqual(order, ["a0", "b0", "a1", "b1"]);
  assert.throws(() => run(() => sleep(-1)), RangeError);
  assert.throws(() => run(() => sleep(NaN)), RangeError);
});

test("an hour of timeouts in milliseconds with an autojumping clock", () => {
  const clock = new VirtualClock({ autojump: true });
  const fired = run(function* () {
    let count = 0;
    for (let minute = 0; minute < 60; minute++) {
      try {
        yield* timeout(60_000, () => sleep(120_000));
      } catch (error) {
        if (error instanceof TimeoutError) count++;
      }
    }
    return count;
  }, { clock });
  assert.equal(fired, 60);
  assert.equal(clock.now(), 3_600_000);
});

test("without autojump, a run that only waits for virtual time deadlocks with advice", () => {
  const clock = new VirtualClock();
  assert.throws(
    () => run(() => sleep(10), { clock }),
    /VirtualClock moves only by advance\(\).*autojump/,
  );
});

test("advance() moves a hosted run's timers", async () => {
  const clock = new VirtualClock();
  const log: number[] = [];
  const task = runAsync(function* () {
    yield* sleep(100);
    log.push(clock.now());
    yield* sleep(100);
    log.push(clock.now());
    return "done";
  }, { clock });
  await Promise.resolve();
  clock.advance(99);
  await Promise.resolve();
  assert.deepEqual(log, []);
  clock.advance(1);
  await new Promise<void>((resolve) => queueMicrotask(resolve));
  assert.deepEqual(log, [100]);
  clock.advance(500);
  assert.equal(await task, "done");
  assert.deepEqual(log, [100, 600]);
  assert.throws(() => clock.advance(-1), RangeError);
});

test("a timeout around a background call cancels the call in the worker", () => {
  using loop = BackgroundLoop.start<typeof Tasks>(new URL("../fixtures/tasks.ts", import.meta.url));
  // Virtual time: the timeout fires when the call has started, never before.
  const clock = new VirtualClock();
  const { future: reason, resolve } = Future.withResolvers<string>();
  const started = Future.withResolvers<true>();
  assert.throws(
    () =>
      run(() =>
        timeout(20, function* () {
          const call = loop.api.waitForCancel(resolve, started.resolve);
          yield* started.future;
          clock.advance(20);
          yield* call;
        }), { clock }),
    TimeoutError,
  );
  assert.match(reason.wait(WAIT_MS), /^CancelledError: cancelled: timed out after 20 ms/);
});
