/**
 * The fault cases, as tables over the three ways to wait: whatever waits on
 * another thread ends in a typed error when that thread ends, however it
 * ends, whether the waiter blocks (`wait()`), awaits, or `yield*`s in a task.
 */
import assert from "node:assert/strict";
import { test, WAIT_MS } from "./bounded.ts";
import {
  BackgroundLoop,
  Event,
  Future,
  LoopClosedError,
  Queue,
  run,
  timeout,
  type Waitable,
  WorkerCrashedError,
} from "../mod.ts";
import type * as Primitives from "./fixtures/primitives.ts";

const PRIMITIVES = new URL("./fixtures/primitives.ts", import.meta.url);

/** The three ways to wait, each giving back how the wait ended. */
const WAYS: Record<string, (waitable: Waitable<unknown>) => Promise<unknown>> = {
  "wait()": (waitable) => settled(() => waitable.wait(WAIT_MS)),
  "await": async (waitable) => {
    try {
      return await waitable;
    } catch (error) {
      return error;
    }
  },
  // The scheduler's own timeout only guards against a hang.
  "yield*": (waitable) => settled(() => run(() => timeout(WAIT_MS, () => waitable))),
};

function settled(body: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(body());
  } catch (error) {
    return Promise.resolve(error);
  }
}

/** The ways a thread holding something can end, and the error its waiters get. */
const ENDS = {
  throw: WorkerCrashedError,
  reject: WorkerCrashedError,
  close: WorkerCrashedError, // self.close(): it was not asked to
  exit: WorkerCrashedError,
  "loop closed": LoopClosedError,
} as const;
type End = keyof typeof ENDS;

/** What waits on the thread that ends: made before it ends, waited on after. */
interface Case {
  /** Gives the thing to `hand`, which makes the worker hold it; returns what to wait on. */
  arrange(hand: (thing: unknown) => Promise<unknown>): Promise<() => Waitable<unknown>>;
}

const CASES: Record<string, Case> = {
  "an Event it could set": {
    async arrange(hand) {
      const event = new Event();
      await hand(event);
      return () => event;
    },
  },
  "a Queue get it could feed": {
    async arrange(hand) {
      const queue = new Queue<number>();
      await hand(queue);
      return () => queue.get();
    },
  },
  "a Queue put it could make room for": {
    async arrange(hand) {
      const queue = new Queue<number>({ capacity: 1 });
      await queue.put(1);
      await hand(queue);
      return () => queue.put(2);
    },
  },
  "a future whose resolver it holds": {
    async arrange(hand) {
      const { future, resolve } = Future.withResolvers<number>();
      await hand(resolve);
      return () => future;
    },
  },
};

for (const [what, { arrange }] of Object.entries(CASES)) {
  for (const [end, expected] of Object.entries(ENDS) as [End, typeof ENDS[End]][]) {
    test(`${what}: when the only other holder ends (${end}), every way to wait fails with ${expected.name}`, async () => {
      for (const [way, waitOn] of Object.entries(WAYS)) {
        const loop = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
        try {
          const target = await arrange((thing) =>
            end === "loop closed"
              ? loop.api.hold(thing).then(() => loop.close())
              : loop.api.holdThenDie(thing, end)
          );
          const outcome = await waitOn(target());
          assert.ok(outcome instanceof expected, `${way}: ${outcome}`);
        } finally {
          await loop.close();
        }
      }
    });
  }
}

test("a pending call fails with WorkerCrashedError however its worker dies, every way to wait", async () => {
  for (const end of ["throw", "reject", "close", "exit"] as const) {
    for (const [way, waitOn] of Object.entries(WAYS)) {
      const loop = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
      try {
        const pending = loop.api.awaitEvent(new Event()); // never set
        await loop.api.holdThenDie(null, end);
        const outcome = await waitOn(pending);
        assert.ok(outcome instanceof WorkerCrashedError, `${end}, ${way}: ${outcome}`);
      } finally {
        await loop.close();
      }
    }
  }
});

/** Values structured clone refuses (and one too deep for any thread's stack). */
function nested(levels: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}
const BAD_VALUES: [string, unknown, RegExp][] = [
  ["a function", { onDone: () => {} }, /arguments\[0\]\.onDone: it is a function/],
  ["a symbol", [1, Symbol("s")], /arguments\[0\]\[1\]: it is a symbol/],
  ["a WeakMap", { cache: new WeakMap() }, /arguments\[0\]\.cache: it is a WeakMap/],
  ["a Promise", { later: Promise.resolve(1) }, /arguments\[0\]\.later: it is a Promise/],
  ["too deep a value", nested(100_000), /nested deeper than \d+ levels/],
];

test("a bad value fails its call with DataCloneError naming it, every way to wait; the loop serves on", async () => {
  await using loop = BackgroundLoop.start<typeof Primitives>(PRIMITIVES);
  for (const [what, value, message] of BAD_VALUES) {
    for (const [way, waitOn] of Object.entries(WAYS)) {
      const outcome = await waitOn(loop.api.hold(value));
      assert.ok(
        outcome instanceof DOMException && outcome.name === "DataCloneError",
        `${what}, ${way}: ${outcome}`,
      );
      assert.match(outcome.message, message, `${what}, ${way}`);
      assert.equal(await loop.api.hold(1), "holding", `${what}, ${way}: the loop serves on`);
    }
  }
});
