import assert from "node:assert/strict";
import { test, WAIT_MS } from "../bounded.ts";
import { BackgroundLoop, Event, LoopClosedError, Queue, Semaphore } from "../../mod.ts";
import { Directory, slotOf, SLOTS, threadId, threads } from "../../src/thread/threads.ts";
import type * as Primitives from "../fixtures/primitives.ts";

const PRIMITIVES = new URL("../fixtures/primitives.ts", import.meta.url);

test("slots are reused when threads end; ids never are; a full directory says so", () => {
  const directory = Directory.create();
  const ids = Array.from({ length: SLOTS }, () => directory.allocate(0));
  assert.equal(new Set(ids.map(slotOf)).size, SLOTS);
  assert.throws(
    () => directory.allocate(0),
    (error) => error instanceof RangeError && /1024 threads are alive/.test(error.message),
  );
  directory.release(ids[7], true);
  directory.release(ids[9], false);
  assert.equal(directory.state(ids[7]), "crashed");
  assert.equal(directory.state(ids[9]), "closed");
  const again = directory.allocate(0);
  assert.equal(slotOf(again), slotOf(ids[7]), "the freed slot is taken again");
  assert.notEqual(again, ids[7], "by a new id");
  assert.equal(directory.alive(ids[7]), false);
  assert.equal(directory.alive(again), true);
  const ends = directory.ends;
  directory.release(again, false);
  directory.release(again, false); // twice is once
  assert.equal(directory.ends, ends + 1);
});

test("a process starts and ends threads past the directory's size; shared waits still wake", async () => {
  const directory = threads();
  threadId(); // this thread's own slot first
  // Take every free slot: a loop cannot start, and says why.
  const taken: number[] = [];
  for (;;) {
    try {
      taken.push(directory.allocate(0));
    } catch {
      break;
    }
  }
  assert.throws(() => BackgroundLoop.start(PRIMITIVES), /threads are alive/);
  // Many thread lives later (the slots' generations move on)...
  for (let round = 0; round < 2; round++) {
    for (const id of taken.splice(0)) directory.release(id, false);
    for (let i = 0; i < SLOTS / 2; i++) taken.push(directory.allocate(0));
  }
  for (const id of taken.splice(0)) directory.release(id, false);
  // ...new workers, in reused slots, are woken by shared primitives.
  for (let i = 0; i < 3; i++) {
    await using loop = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
    const event = new Event(), queue = new Queue<number>(), sem = new Semaphore(1);
    const permit = sem.acquire().wait(WAIT_MS); // this thread holds the only permit
    const woken = loop.api.awaitEvent(event);
    const got = loop.api.getOne(queue);
    const acquired = loop.api.acquireOnce(sem);
    assert.equal(loop.api.setNow(new Event()).wait(WAIT_MS), true); // the three wait by now
    event.set();
    await queue.put(42);
    permit[Symbol.dispose]();
    assert.equal(await woken, "woken");
    assert.equal(await got, 42);
    assert.equal(await acquired, "acquired");
  }
});

test("the workers a worker started end with it: waits on what they held end too", async () => {
  const event = new Event();
  const outer = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
  assert.equal(await outer.api.childHolds(event), "holding"); // a grandchild holds it
  const live = threads().live;
  await outer.close(); // Deno ends the grandchild with its parent
  assert.equal(threads().live, live - 2, "both slots are free");
  const outcome = await Promise.resolve(event).then(() => "set", (error) => error);
  assert.ok(outcome instanceof LoopClosedError, String(outcome));
});

test("a start() that fails leaves no thread and no slot behind", () => {
  const live = threads().live;
  for (let i = 0; i < 3; i++) {
    assert.throws(
      // More than this program may (it runs with --allow-net=127.0.0.1 only).
      () => BackgroundLoop.start(PRIMITIVES, { workers: 2, permissions: { net: true } }),
      (error) => error instanceof Error && error.name === "NotCapable",
    );
  }
  assert.equal(threads().live, live);
});
