import assert from "node:assert/strict";
import { test, WAIT_MS } from "../bounded.ts";
import { BackgroundLoop, Event, run, Semaphore, TimeoutError } from "../../mod.ts";
import type * as Primitives from "../fixtures/primitives.ts";

const PRIMITIVES = new URL("../fixtures/primitives.ts", import.meta.url);

test("a Semaphore limits holders across threads; permits are Disposable", async () => {
  using loop = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
  const sem = new Semaphore(1);
  const held = new Event();
  const release = new Event();
  const holder = loop.api.holdPermit(sem, held, release);
  held.wait(WAIT_MS);
  assert.equal(sem.available, 0);
  assert.throws(() => sem.acquire().wait(5), TimeoutError);
  const waiting = sem.acquire();
  release.set();
  {
    using _permit = await waiting;
    assert.equal(sem.available, 0);
  }
  assert.equal(await holder, "released");
  assert.equal(sem.available, 1);
  run(function* () {
    using _permit = yield* sem.acquire();
    assert.equal(sem.available, 0);
  });
  assert.equal(sem.available, 1);
  assert.throws(() => new Semaphore(-1), RangeError);
});

test("the permits of a thread that dies come back", async () => {
  const loop = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
  const sem = new Semaphore(1);
  assert.equal(await loop.api.holdPermitAndCrash(sem), "holding");
  assert.equal(sem.available, 0);
  using _permit = sem.acquire().wait(WAIT_MS); // woken when the worker dies
  assert.equal(sem.available, 0);
  loop.close();
});
