import assert from "node:assert/strict";
import { test, WAIT_MS } from "../bounded.ts";
import {
  BackgroundLoop,
  deadline,
  run,
  scope,
  sleep,
  timeLeft,
  timeout,
  TimeoutError,
  VirtualClock,
} from "../../mod.ts";
import type * as Tasks from "../fixtures/tasks.ts";

test("timeLeft() in a task: the nearest deadline of its scopes, in virtual ms", () => {
  const clock = new VirtualClock({ start: 1000, autojump: true });
  const seen: number[] = [];
  run(function* () {
    seen.push(timeLeft()); // no deadline
    yield* timeout(500, function* () {
      seen.push(timeLeft());
      yield* sleep(100);
      seen.push(timeLeft());
      yield* deadline(1300, function* () {
        seen.push(timeLeft()); // the inner one is nearer
        yield* timeout(10_000, function* () {
          seen.push(timeLeft()); // the outer one is nearer
        });
      });
      yield* scope(function* (s) {
        const task = s.spawn(function* () {
          yield* sleep(50);
          return timeLeft(); // a spawned task is in its scope's scopes
        });
        seen.push(yield* task);
      }, { timeoutMs: 20_000 });
    });
  }, { clock });
  assert.deepEqual(seen, [Infinity, 500, 400, 200, 200, 350]);
  assert.equal(timeLeft(), Infinity, "outside any task or call");
});

test("timeLeft() is 0 once the deadline passed (in the cleanup it cut short)", () => {
  const clock = new VirtualClock({ autojump: true });
  let inCleanup = -1;
  assert.throws(
    () =>
      run(() =>
        timeout(100, function* () {
          try {
            yield* sleep(1000);
          } finally {
            inCleanup = timeLeft();
          }
        }), { clock }),
    TimeoutError,
  );
  assert.equal(inCleanup, 0);
});

test("timeLeft() in a background call: what is left of its timeout; in a task there, the smaller", () => {
  using loop = BackgroundLoop.start<typeof Tasks>(new URL("../fixtures/tasks.ts", import.meta.url));
  const [unbounded, inTask] = loop.api.budget().wait(WAIT_MS);
  assert.equal(unbounded, Infinity);
  assert.ok(inTask > 50_000 && inTask <= 60_000, `${inTask}`);
  const [left, bounded] = loop.with({ timeoutMs: 30_000 }).api.budget().wait(WAIT_MS);
  assert.ok(left > 0 && left <= 30_000, `${left}`);
  assert.ok(bounded <= left, `${bounded} <= ${left}`);
});
