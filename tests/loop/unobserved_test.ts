import assert from "node:assert/strict";
import { test, WAIT_MS, within } from "../bounded.ts";
import { BackgroundLoop, defaultExecutor, Future, run } from "../../mod.ts";
import { internals } from "../../src/future/future.ts";
import type * as Moves from "../fixtures/moves.ts";
import type * as Tasks from "../fixtures/tasks.ts";

const TASKS = new URL("../fixtures/tasks.ts", import.meta.url);

function start(): BackgroundLoop<typeof Tasks> {
  return BackgroundLoop.start<typeof Tasks>(TASKS);
}

/** Catches the unhandled rejections reported while `body` runs, and one turn after. */
async function reportedDuring(body: () => Promise<void> | void): Promise<unknown[]> {
  const reported: unknown[] = [];
  const listener = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    reported.push(event.reason);
  };
  globalThis.addEventListener("unhandledrejection", listener);
  try {
    await body();
    // The host reports a rejection at the end of the turn it was left
    // unhandled in: one more task (a timer) comes after that check.
    await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    globalThis.removeEventListener("unhandledrejection", listener);
  }
  return reported;
}

test("a failed call nobody looked at is reported as an unhandled rejection after its turn", async () => {
  using loop = start();
  const reported = await reportedDuring(async () => {
    const unobserved = loop.api.fail("nobody looks");
    // Settled in a later turn (a reply), with nobody looking at it:
    await within(loop.api.add(1, 2), "the failure to arrive");
    assert.equal(unobserved.state, "rejected");
  });
  assert.equal(reported.length, 1);
  assert.ok(reported[0] instanceof RangeError);
  assert.equal((reported[0] as Error).message, "nobody looks");
});

test("a failure looked at in the turn it settled in, in any way, is not reported", async () => {
  using loop = start();
  const ways: [string, (future: Future<number>) => void][] = [
    ["wait()", (f) => assert.throws(() => f.wait(WAIT_MS), RangeError)],
    ["then", (f) => void f.then(undefined, () => {})],
    ["catch", (f) => void f.catch(() => {})],
    ["onDone", (f) => f.onDone(() => {})],
    ["yield*", (f) =>
      assert.throws(() =>
        run(function* () {
          yield* f;
        }), RangeError)],
  ];
  for (const [way, look] of ways) {
    const reported = await reportedDuring(() => {
      const failing = loop.api.fail(way) as unknown as Future<number>;
      loop.api.add(1, 2).wait(WAIT_MS); // the failure arrives during this wait (calls run in order)
      assert.equal(failing.state, "rejected");
      look(failing);
    });
    assert.deepEqual(reported, [], way);
  }
  const early = await reportedDuring(async () => {
    const failing = loop.api.fail("awaited first");
    await assert.rejects(Promise.resolve(failing), RangeError);
  });
  assert.deepEqual(early, []);
});

test("close() fails with an AggregateError of the calls that failed unobserved", async () => {
  const loop = start();
  const reported = await reportedDuring(() => {
    loop.api.fail("one");
    loop.api.failLater("two");
    loop.api.add(1, 2);
    assert.throws(() => loop.close().wait(WAIT_MS), (error: unknown) => {
      assert.ok(error instanceof AggregateError);
      assert.deepEqual(error.errors.map((e: Error) => e.message), ["one", "two"]);
      assert.match(error.message, /2 calls of the loop .* failed and nobody looked/);
      return true;
    });
  });
  assert.deepEqual(reported, [], "taken by close(), they are not reported again");
});

test("a failure reported as unhandled is not reported again by close()", async () => {
  const loop = start();
  const reported = await reportedDuring(async () => {
    loop.api.fail("once");
    await within(loop.api.add(1, 2), "the failure to arrive");
  });
  assert.equal(reported.length, 1);
  await within(loop.close(), "the close");
});

test("a future made to report its failure reports it when nobody looks (close() futures are)", async () => {
  const { future, reject } = Future.withResolvers<void>();
  internals.reportUnobserved(future as Future<unknown>);
  const reported = await reportedDuring(() => reject(new RangeError("closing failed")));
  assert.equal((reported[0] as Error)?.message, "closing failed");
  const looked = Future.withResolvers<void>();
  internals.reportUnobserved(looked.future as Future<unknown>);
  assert.deepEqual(
    await reportedDuring(() => {
      looked.reject(new RangeError("seen"));
      looked.future.onDone(() => {});
    }),
    [],
  );
});

test("a map() that fails with nobody looking is reported once, not once per call", async () => {
  using loop = start();
  const reported = await reportedDuring(async () => {
    const mapped = loop.map("fail", ["first", "second"], { limit: 1 });
    await within(loop.api.add(1, 2), "the failure to arrive");
    assert.equal(mapped.state, "rejected");
  });
  assert.equal(reported.length, 1);
  assert.equal((reported[0] as Error).message, "first");
});

test("a lone failing call nobody looks at is reported in its own turn, with nothing else going on", async () => {
  using loop = start();
  await within(loop.api.add(0, 0), "the worker to start");
  const gate = Promise.withResolvers<void>();
  const reported: unknown[] = [];
  const listener = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    reported.push(event.reason);
    gate.resolve();
  };
  globalThis.addEventListener("unhandledrejection", listener);
  try {
    loop.api.fail("alone"); // nothing waits for any call of the loop
    await within(gate.promise, "the failure to be reported");
  } finally {
    globalThis.removeEventListener("unhandledrejection", listener);
  }
  assert.equal((reported[0] as Error).message, "alone");
});

test("a call that fails while close() waits for it fails the close, not the program", async () => {
  const loop = start();
  const reported = await reportedDuring(async () => {
    loop.api.failLater("during close");
    await assert.rejects(within(loop.close(), "the close"), (error: unknown) => {
      assert.ok(error instanceof AggregateError);
      assert.deepEqual(error.errors.map((e: Error) => e.message), ["during close"]);
      return true;
    });
  });
  assert.deepEqual(reported, []);
});

test("a failing call's future handed to another thread is that thread's to look at", async () => {
  using loop = start();
  using other = BackgroundLoop.start<typeof Moves>(
    new URL("../fixtures/moves.ts", import.meta.url),
  );
  const reported = await reportedDuring(async () => {
    const failing = loop.api.failLater("handed on") as unknown as Future<unknown>;
    assert.equal(await within(other.api.catchIt(failing), "the other call"), "caught: handed on");
  });
  assert.deepEqual(reported, []);
});

test("a failed defaultExecutor().submit() nobody looked at is reported too", async () => {
  const reported = await reportedDuring(async () => {
    const failing = defaultExecutor().submit(new URL("#fail", TASKS), "dropped");
    await within(defaultExecutor().submit(new URL("#add", TASKS), 1, 2), "a later call");
    assert.equal(failing.state, "rejected");
  });
  assert.equal((reported[0] as Error)?.message, "dropped");
  await within(defaultExecutor().shutdown(), "the default loop to close");
});
