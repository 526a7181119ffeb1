import assert from "node:assert/strict";
import { test } from "../bounded.ts";
import { Limiter, Queue, run, scope, Semaphore, sleep, VirtualClock } from "../../mod.ts";

test("a Limiter hands out slots in FIFO order and takes them back on dispose", () => {
  const limiter = new Limiter(1);
  const order: string[] = [];
  run(() =>
    scope(function* (s) {
      for (const name of ["a", "b", "c"]) {
        s.spawn(function* () {
          using _slot = yield* limiter.acquire();
          order.push(`${name} in`);
          yield* sleep(1);
          order.push(`${name} out`);
        });
      }
    })
  );
  assert.deepEqual(order, ["a in", "a out", "b in", "b out", "c in", "c out"]);
  assert.equal(limiter.held, 0);
  assert.throws(() => new Limiter(-1), RangeError);
  assert.throws(() => new Limiter(1.5), RangeError);
});

test("a waiter cancelled while queued never takes a slot", () => {
  const clock = new VirtualClock({ autojump: true });
  const limiter = new Limiter(1);
  const got: string[] = [];
  run(() =>
    scope(function* (s) {
      const holder = s.spawn(function* () {
        using _slot = yield* limiter.acquire();
        yield* sleep(5);
      });
      yield* sleep(0);
      const quitter = s.spawn(function* () {
        using _slot = yield* limiter.acquire();
        got.push("quitter");
      });
      const patient = s.spawn(function* () {
        using _slot = yield* limiter.acquire();
        got.push("patient");
      });
      yield* sleep(1);
      assert.equal(limiter.waiting, 2);
      quitter.cancel();
      yield* sleep(0);
      assert.equal(limiter.waiting, 1);
      yield* holder;
      yield* patient;
    }), { clock });
  assert.deepEqual(got, ["patient"]);
  assert.equal(limiter.held, 0);
});

test("a waiter cancelled after it was handed a slot, before it resumed, passes it on", () => {
  const limiter = new Limiter(1);
  const got: string[] = [];
  run(() =>
    scope(function* (s) {
      let release!: Disposable;
      const first = s.spawn(function* () {
        release = yield* limiter.acquire();
      });
      yield* first;
      const handed = s.spawn(function* () {
        using _slot = yield* limiter.acquire();
        got.push("handed");
        yield* sleep(1000);
      });
      const next = s.spawn(function* () {
        using _slot = yield* limiter.acquire();
        got.push("next");
      });
      yield* sleep(0);
      release[Symbol.dispose](); // the slot goes to `handed`, which has not run yet...
      handed.cancel(); // ...and is cancelled before it does: the cancel came first
      release[Symbol.dispose](); // disposing twice gives back nothing more
      yield* next;
      assert.equal(handed.state, "cancelled");
      assert.equal(limiter.held, 0);
    })
  );
  // `handed` never went on holding the slot (duet #87); `next` got it.
  assert.deepEqual(got, ["next"]);
});

test("capacity may change while slots are held", () => {
  const clock = new VirtualClock({ autojump: true });
  const limiter = new Limiter(2);
  let inside = 0;
  let most = 0;
  run(() =>
    scope(function* (s) {
      for (let i = 0; i < 6; i++) {
        s.spawn(function* () {
          using _slot = yield* limiter.acquire();
          inside++;
          most = Math.max(most, inside);
          yield* sleep(10);
          inside--;
        });
      }
      yield* sleep(1);
      assert.equal(limiter.held, 2);
      limiter.capacity = 1; // holders keep their slots
      assert.equal(limiter.held, 2);
      yield* sleep(15);
      assert.equal(limiter.held, 1);
      limiter.capacity = 4; // waiters get slots at once
      assert.equal(limiter.held, 4);
    }), { clock });
  assert.equal(most, 4);
  assert.equal(limiter.held, 0);
});

test("a task cancelled after it was handed a permit or a queue item keeps it: nothing is lost", () => {
  const sem = new Semaphore(1);
  const queue = new Queue<number>();
  const permit = sem.acquire().wait(0); // this thread holds the only permit at once
  const got: unknown[] = [];
  const ended: string[] = [];
  run(() =>
    scope(function* (s) {
      const waiter = s.spawn(function* () {
        using _permit = yield* sem.acquire();
        got.push("permit");
        try {
          yield* sleep(0); // the cancel comes here, at its next wait
        } finally {
          ended.push("waiter");
        }
      });
      const getter = s.spawn(function* () {
        got.push(yield* queue.get());
        try {
          yield* sleep(0);
        } finally {
          ended.push("getter");
        }
      });
      yield* sleep(0); // both wait
      permit[Symbol.dispose](); // the waiter is handed the permit...
      queue.put(42); // ...and the getter the item...
      waiter.cancel(); // ...and both are cancelled before they run: others may see
      getter.cancel(); // those futures too, so what they hold is theirs to keep
      yield* sleep(0);
      assert.equal(waiter.state, "cancelled");
      assert.equal(getter.state, "cancelled");
    })
  );
  assert.deepEqual(got, ["permit", 42], "both took what they were handed");
  assert.deepEqual(ended.sort(), ["getter", "waiter"]);
  assert.equal(sem.available, 1, "the permit came back when its holder unwound");
  assert.equal(queue.size, 0, "the item was taken once");
});
