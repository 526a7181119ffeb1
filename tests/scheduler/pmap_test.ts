import assert from "node:assert/strict";
import { test } from "../bounded.ts";
import { CancelledError, Future, pmap, pstarmap, run, sleep, VirtualClock } from "../../mod.ts";

test("pmap returns results in input order, whatever order they finish in", () => {
  const clock = new VirtualClock({ autojump: true });
  const results = run(() =>
    pmap(function* (n: number) {
      yield* sleep(100 - n);
      return n * 10;
    }, [1, 2, 3, 4, 5]), { clock });
  assert.deepEqual(results, [10, 20, 30, 40, 50]);
  assert.equal(clock.now(), 99); // all ran at once
  assert.deepEqual(
    run(() =>
      pmap(function* (n: number) {
        return n;
      }, [])
    ),
    [],
  );
});

test("pmap consumes the iterable lazily and never has more than limit in flight", () => {
  const clock = new VirtualClock({ autojump: true });
  let inFlight = 0;
  let most = 0;
  let pulled = 0;
  let finished = 0;
  function* items() {
    for (let i = 0; i < 20; i++) {
      pulled++;
      assert.ok(pulled - finished <= 3, `pulled ${pulled} with ${finished} finished`);
      yield i;
    }
  }
  const results = run(() =>
    pmap(
      function* (n: number) {
        inFlight++;
        most = Math.max(most, inFlight);
        yield* sleep(1 + (n % 4));
        inFlight--;
        finished++;
        return n;
      },
      items(),
      { limit: 3 },
    ), { clock });
  assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(most, 3);
  assert.throws(() => run(() => pmap(function* () {}, [1], { limit: 0 })), RangeError);
  assert.throws(() => run(() => pmap(function* () {}, [1], { limit: 1.5 })), RangeError);
});

test("the first pmap error cancels the rest, is rethrown, and closes the iterable", () => {
  const clock = new VirtualClock({ autojump: true });
  const failure = new Error("item 2");
  const cancelled: number[] = [];
  let closed = false;
  function* items() {
    try {
      for (let i = 0; i < 100; i++) yield i;
    } finally {
      closed = true;
    }
  }
  assert.throws(
    () =>
      run(() =>
        pmap(
          function* (n: number) {
            try {
              yield* sleep(n === 2 ? 1 : 1000);
            } catch (error) {
              if (error instanceof CancelledError) cancelled.push(n);
              throw error;
            }
            if (n === 2) throw failure;
            return n;
          },
          items(),
          { limit: 4 },
        ), { clock }),
    (error) => error === failure,
  );
  assert.deepEqual(cancelled.sort(), [0, 1, 3]);
  assert.ok(closed);
});

test("pstarmap spreads each item as arguments", () => {
  const results = run(() =>
    pstarmap(
      function* (a: number, b: string) {
        yield* sleep(0);
        return `${b}${a}`;
      },
      [[1, "x"], [2, "y"]] as [number, string][],
      { limit: 1 },
    )
  );
  assert.deepEqual(results, ["x1", "y2"]);
  assert.throws(() => run(() => pstarmap(null as never, [])), TypeError);
});

test("pmap gives a result for every item or throws: an item cancelled by its owner fails it", () => {
  const clock = new VirtualClock({ autojump: true });
  const futures = Array.from({ length: 8 }, () => Future.withResolvers<number>());
  assert.throws(
    () =>
      run(() =>
        pmap(function* (i: number) {
          if (i === 3) futures[i].future.cancel("aborted by its owner");
          else if (i < 3) futures[i].resolve(i);
          yield* sleep(i);
          return yield* futures[i].future;
        }, [0, 1, 2, 3, 4, 5, 6, 7]), { clock }),
    (error) => error instanceof CancelledError && error.reason === "aborted by its owner",
  );
});
