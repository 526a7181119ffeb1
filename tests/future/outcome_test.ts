import assert from "node:assert/strict";
import { test } from "../bounded.ts";
import { CancelledError, Future } from "../../mod.ts";
import { adopt, err, ok, outcomeOf, settleWith } from "../../src/future/outcome.ts";

test("outcomeOf: undefined while pending, then ok/err (a cancel is an err)", () => {
  const { future, resolve } = Future.withResolvers<number>();
  assert.equal(outcomeOf(future), undefined);
  resolve(3);
  assert.deepEqual(outcomeOf(future), ok(3));
  const boom = new Error("boom");
  assert.deepEqual(outcomeOf(Future.reject(boom)), err(boom));
  const cancelled = new Future<number>();
  cancelled.cancel("why");
  const outcome = outcomeOf(cancelled)!;
  assert.equal(outcome.ok, false);
  assert.ok(!outcome.ok && outcome.error instanceof CancelledError);
});

test("settleWith: first settle wins", () => {
  const future = new Future<string>();
  assert.equal(settleWith(future, ok("a")), true);
  assert.equal(settleWith(future, err(new Error("late"))), false);
  assert.equal(future.wait(), "a"); // unbounded: settled
  const failed = new Future<string>();
  settleWith(failed, err(new Error("no")));
  assert.throws(() => failed.wait(), /no/); // unbounded: settled
});

test("adopt copies the state as it is: a cancelled source gives a cancelled target", () => {
  const source = new Future<number>();
  source.cancel();
  const target = new Future<number>();
  assert.equal(adopt(target as Future<unknown>, source as Future<unknown>), true);
  assert.equal(target.state, "cancelled");
  const fulfilled = new Future<number>();
  adopt(fulfilled as Future<unknown>, Future.resolve(5) as Future<unknown>);
  assert.equal(fulfilled.wait(), 5); // unbounded: settled
  assert.throws(() => adopt(new Future(), new Future()), /pending/);
});
