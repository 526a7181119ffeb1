import assert from "node:assert/strict";
import { test } from "../bounded.ts";
import { CancelledError, Future } from "../../mod.ts";
import { adopt, outcomeOf } from "../../src/future/outcome.ts";

test("outcomeOf: undefined while pending, then ok/err (a cancel is an err)", () => {
  const { future, resolve } = Future.withResolvers<number>();
  assert.equal(outcomeOf(future), undefined);
  resolve(3);
  assert.deepEqual(outcomeOf(future), { ok: true, value: 3 });
  const boom = new Error("boom");
  assert.deepEqual(outcomeOf(Future.reject(boom)), { ok: false, error: boom });
  const cancelled = new Future<number>();
  cancelled.cancel("why");
  const outcome = outcomeOf(cancelled)!;
  assert.equal(outcome.ok, false);
  assert.ok(!outcome.ok && outcome.error instanceof CancelledError);
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
