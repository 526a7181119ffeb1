import assert from "node:assert/strict";
import { test, WAIT_MS } from "../bounded.ts";
import { BackgroundLoop, DeadlockError, Event, run, timeout, TimeoutError } from "../../mod.ts";
import type * as Primitives from "../fixtures/primitives.ts";

const PRIMITIVES = new URL("../fixtures/primitives.ts", import.meta.url);
const start = () => BackgroundLoop.start<typeof Primitives>(PRIMITIVES);

test("an Event set by a worker wakes wait(), await and yield* on this thread", async () => {
  using loop = start();
  const blocking = new Event();
  loop.api.setSoon(blocking, 2);
  blocking.wait(WAIT_MS);
  assert.ok(blocking.isSet);

  const awaited = new Event();
  loop.api.setSoon(awaited, 2);
  await awaited;
  assert.ok(awaited.isSet);

  const yielded = new Event();
  loop.api.setSoon(yielded, 2);
  run(function* () {
    yield* yielded;
  });
  assert.ok(yielded.isSet);
});

test("this thread's set() wakes a worker blocked in wait() or awaiting; copies are one event", async () => {
  using loop = start();
  const event = new Event();
  const blocked = loop.api.waitEvent(event, 5_000);
  const awaiting = loop.api.awaitEvent(event);
  event.set();
  assert.equal(await blocked, "woken");
  assert.equal(await awaiting, "woken");
  const other = new Event();
  assert.equal(loop.api.setNow(other).wait(WAIT_MS), true);
  assert.ok(other.isSet); // the worker's copy is this event
  other.clear();
  assert.equal(other.isSet, false);
});

test("a wait on an event only this thread could set throws DeadlockError; timeouts work", () => {
  const local = new Event();
  assert.throws(() => local.wait(), DeadlockError); // unbounded: throws at once
  assert.throws(() =>
    run(function* () {
      yield* local;
    }), DeadlockError);
  using loop = start();
  const shared = new Event();
  loop.api.setNow; // (the event crosses below)
  loop.api.waitEvent(shared, 1).then(() => {}, () => {}); // shared now, but never set
  assert.throws(() => shared.wait(5), TimeoutError);
  assert.throws(() =>
    run(() =>
      timeout(5, function* () {
        yield* shared;
      })
    ), TimeoutError);
  shared.set();
  shared.wait(); // unbounded: set
  local.set();
  local.wait(); // unbounded: set
});
