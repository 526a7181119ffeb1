import assert from "node:assert/strict";
import { test, within } from "../bounded.ts";
import { CancelledError, Future, startGuestRun } from "../../mod.ts";

declare const gc: () => void;

/** Collects garbage, a turn at a time, until `done` settles (finalizers run in their own turns). */
async function collectUntil(done: Promise<unknown>): Promise<void> {
  let settled = false;
  done.then(() => settled = true, () => settled = true);
  while (!settled) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

test("a guest whose host drops its callback is noticed: warned, cancelled, cleaned up, done", async () => {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => void warnings.push(message);
  try {
    const cleanup: string[] = [];
    const outcome = Promise.withResolvers<{ ok: boolean; error?: unknown }>();
    const { future: input, resolve } = Future.withResolvers<string>();
    let queue: (() => void)[] = [];
    (() => {
      startGuestRun(function* abandonedWork() {
        try {
          const got = yield* input;
          yield* Future.from(new Promise(() => {})); // it needs one more turn, never given
          return got;
        } finally {
          cleanup.push("finally ran");
        }
      }, {
        runSyncSoon: (fn) => void queue.push(fn),
        done: (result) => outcome.resolve(result),
      });
    })();
    while (queue.length > 0) queue.shift()!(); // the host pumps the first turns
    resolve("input"); // asks for one more turn...
    assert.equal(queue.length, 1);
    queue = []; // ...which the host drops, and goes away
    await within(collectUntil(outcome.promise), "the abandoned guest to be noticed");
    const result = await outcome.promise;
    assert.equal(result.ok, false);
    assert.ok(result.error instanceof CancelledError, String(result.error));
    assert.deepEqual(cleanup, ["finally ran"]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /guest run "abandonedWork" was abandoned/);
  } finally {
    console.warn = warn;
  }
});

test("a guest whose host keeps pumping is never taken for abandoned", async () => {
  const warn = console.warn;
  const warnings: unknown[] = [];
  console.warn = (message: unknown) => void warnings.push(message);
  try {
    const { future: input, resolve } = Future.withResolvers<number>();
    const guest = startGuestRun(function* () {
      return (yield* input) + 1;
    }, { runSyncSoon: (fn) => setTimeout(fn, 0) });
    gc();
    await new Promise((r) => setTimeout(r, 1));
    gc();
    resolve(41);
    assert.equal(await within(guest, "the guest"), 42);
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 1));
    }
    assert.deepEqual(warnings, []);
  } finally {
    console.warn = warn;
  }
});

test("an abandoned guest whose host's done() is a method is finished without a crash", async () => {
  const warn = console.warn;
  const warnings: unknown[] = [];
  console.warn = (...args: unknown[]) => void warnings.push(args);
  const outcome = Promise.withResolvers<void>();
  const { future: input, resolve } = Future.withResolvers<void>();
  try {
    class Host {
      queue: (() => void)[] = [];
      runSyncSoon(fn: () => void) {
        this.queue.push(fn);
      }
      done() {
        this.queue.length; // needs `this`, which is gone with the host
      }
    }
    (() => {
      const host = new Host();
      startGuestRun(function* methodHost() {
        try {
          yield* input;
          yield* Future.from(new Promise(() => {}));
        } finally {
          outcome.resolve();
        }
      }, host);
      while (host.queue.length > 0) host.queue.shift()!();
    })();
    resolve();
    await within(collectUntil(outcome.promise), "the abandoned guest to be finished");
    // done() runs in a later turn than the finally block: give it one.
    await new Promise((r) => setTimeout(r, 1));
    assert.ok(
      warnings.some((w) => String((w as unknown[])[0]).includes('"methodHost" was abandoned')),
    );
  } finally {
    console.warn = warn;
  }
});
