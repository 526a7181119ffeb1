import assert from "node:assert/strict";
import { test, WAIT_MS } from "../bounded.ts";
import {
  BackgroundLoop,
  type ControlClient,
  ControlHost,
  Future,
  LoopClosedError,
} from "../../mod.ts";
import type * as Primitives from "../fixtures/primitives.ts";

const PRIMITIVES = new URL("../fixtures/primitives.ts", import.meta.url);

test("control inversion: a worker's calls wait until the host thread processes them", async () => {
  using loop = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
  const steps: number[] = [];
  using host = new ControlHost({
    step: (i: number) => {
      steps.push(i);
      return i * 10;
    },
  });
  const client = loop.api.stepClient(host.client, 3);
  for (let i = 0; i < 3; i++) {
    assert.equal(host.process({ timeoutMs: 5_000 }), 1); // blocks for the request
    assert.deepEqual(steps, Array.from({ length: i + 1 }, (_, k) => k));
  }
  assert.deepEqual(await client, [0, 10, 20]);
  assert.equal(host.process({ timeoutMs: 5 }), 0); // nothing came
});

test("handlers may throw or answer later with a Future; max limits one process()", async () => {
  const { future: later, resolve } = Future.withResolvers<string>();
  using host = new ControlHost({
    fail: () => {
      throw new RangeError("no");
    },
    later: () => later,
    now: () => "now",
  });
  const failed = host.client.call("fail");
  const delayed = host.client.call("later");
  const now = host.client.call("now");
  const unknown = (host.client as ControlClient<Record<string, () => unknown>>).call("missing");
  assert.equal(host.process({ max: 2 }), 2);
  assert.equal(host.waiting, 2);
  assert.equal(host.process(), 2);
  await assert.rejects(() => Promise.resolve(failed), RangeError);
  await assert.rejects(() => Promise.resolve(unknown), /no handler named "missing"/);
  assert.equal(await now, "now");
  assert.equal(delayed.state, "pending");
  resolve("later");
  assert.equal(await delayed, "later");
});

test("closing the host fails pending and later client calls with LoopClosedError", async () => {
  using loop = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
  const host = new ControlHost({ step: () => 1 });
  const pending = loop.api.callHost(host.client, "step");
  assert.equal(host.process({ timeoutMs: WAIT_MS, max: 0 }), 0); // waits for it, answers none
  assert.equal(host.waiting, 1);
  host.close();
  assert.match(await pending, /^LoopClosedError/);
  assert.match(await loop.api.callHost(host.client, "step"), /^LoopClosedError/);
  await assert.rejects(() => Promise.resolve(host.client.call("step")), LoopClosedError);
  assert.throws(() => host.process(), LoopClosedError);
});

test("closing the host fails a call whose handler's Future is still pending", async () => {
  using loop = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
  const { future: never } = Future.withResolvers<number>();
  const host = new ControlHost({ step: () => never });
  const pending = loop.api.callHost(host.client, "step");
  assert.equal(host.process({ timeoutMs: WAIT_MS }), 1); // the handler answers "later"
  host.close();
  assert.match(await pending, /^LoopClosedError/);
});

test("process() with no timeout, on a thread that never awaits, sees the requests waiting", () => {
  using loop = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
  using host = new ControlHost({ step: () => 1 });
  const pending = loop.api.callHost(host.client, "step");
  // Poll as a game loop would, never giving the event loop a turn.
  const bound = performance.now() + WAIT_MS; // against a hang, not a timing assertion
  let answered = 0;
  while (answered === 0 && performance.now() < bound) answered = host.process();
  assert.equal(answered, 1);
  assert.equal(pending.wait(WAIT_MS), "ok: 1");
});
