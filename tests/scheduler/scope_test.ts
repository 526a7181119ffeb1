import assert from "node:assert/strict";
import { test } from "../bounded.ts";
import {
  CancelledError,
  Future,
  laterErrors,
  type Operation,
  pmap,
  Queue,
  run,
  scope,
  sleep,
  type Task,
  timeout,
  TimeoutError,
  VirtualClock,
} from "../../mod.ts";

const never = <T = void>(): Future<T> => Future.withResolvers<T>().future;

/** Waits forever; reports the error that ends the wait, and lets it go on. */
function* waitReporting(report: (error: unknown) => void): Operation<void> {
  try {
    yield* never();
  } catch (error) {
    report(error);
    throw error;
  }
}

test("the first failure cancels the siblings and is rethrown unchanged; later ones are attached", () => {
  const first = new Error("first");
  const second = new Error("second");
  const cleaned: string[] = [];
  let thrown: unknown;
  try {
    run(() =>
      scope(function* (s) {
        s.spawn(function* () {
          yield* sleep(1);
          throw first;
        });
        s.spawn(function* () {
          try {
            yield* never();
          } finally {
            // Cleanup may wait, and may fail too: that failure is kept.
            yield* sleep(1);
            cleaned.push("sibling");
            // deno-lint-ignore no-unsafe-finally
            throw second;
          }
        });
        try {
          yield* never();
        } finally {
          cleaned.push("body");
        }
      })
    );
  } catch (error) {
    thrown = error;
  }
  assert.equal(thrown, first);
  assert.deepEqual(laterErrors(first), [second]);
  assert.deepEqual(cleaned.sort(), ["body", "sibling"]);
  assert.deepEqual(laterErrors(new Error("other")), []);
});

test("a body failure cancels the spawned tasks", () => {
  const failure = new RangeError("body");
  let childError: unknown;
  assert.throws(
    () =>
      run(() =>
        scope(function* (s) {
          s.spawn(() => waitReporting((error) => childError = error));
          yield* sleep(0);
          throw failure;
        })
      ),
    (error) => error === failure,
  );
  assert.ok(childError instanceof CancelledError);
  assert.equal((childError as CancelledError).cause, failure);
});

test("no task outlives its scope, and a task is a future", () => {
  const tasks: Task<number>[] = [];
  const value = run(function* () {
    yield* scope(function* (s) {
      for (let i = 1; i <= 3; i++) {
        tasks.push(s.spawn(function* () {
          yield* sleep(i);
          return i;
        }));
      }
      // The body returns at once; the scope still waits for its tasks.
    });
    return tasks.map((task) => task.state);
  });
  assert.deepEqual(value, ["fulfilled", "fulfilled", "fulfilled"]);
  assert.deepEqual(tasks.map((task) => task.wait()), [1, 2, 3]); // unbounded: settled
});

test("task.cancel() throws CancelledError at its yield*; finally blocks may yield* to clean up", () => {
  const log: string[] = [];
  run(() =>
    scope(function* (s) {
      const task = s.spawn(function* worker() {
        try {
          yield* never();
        } finally {
          yield* sleep(2);
          log.push("cleaned up");
        }
      });
      yield* sleep(1);
      task.cancel("stop");
      try {
        yield* task;
      } catch (error) {
        log.push(`${(error as Error).name}: ${(error as CancelledError).reason}`);
      }
      assert.equal(task.state, "cancelled");
    })
  );
  assert.deepEqual(log, ["cleaned up", "CancelledError: stop"]);
});

test("a task that catches its cancellation and returns ends fulfilled; the scope does not fail", () => {
  const value = run(() =>
    scope(function* (s) {
      const task = s.spawn(function* () {
        try {
          yield* never();
          return "never";
        } catch {
          return "caught";
        }
      });
      yield* sleep(0);
      task.cancel();
      return yield* task;
    })
  );
  assert.equal(value, "caught");
});

test("a scope body that cancels its own scope, then waits on what never completes, still ends", () => {
  let childCancelled = false;
  assert.throws(
    () =>
      run(() =>
        scope(function* (s) {
          s.spawn(() => waitReporting((error) => childCancelled = error instanceof CancelledError));
          yield* sleep(0); // the task starts and waits
          s.cancel("enough");
          s.cancel("twice is fine");
          yield* never(); // duet hangs here
        })
      ),
    (error) => error instanceof CancelledError && error.reason === "enough",
  );
  assert.ok(childCancelled);
});

test("a body that returns before its cancel takes effect keeps its value", () => {
  const value = run(() =>
    scope(function* (s) {
      s.spawn(() => never());
      s.cancel();
      return "kept";
    })
  );
  assert.equal(value, "kept");
});

test("a scope's timeout reaches every task; finally cleanup is bounded by it", () => {
  const clock = new VirtualClock({ autojump: true });
  const seen: string[] = [];
  assert.throws(
    () =>
      run(() =>
        scope(function* (s) {
          for (const name of ["a", "b"]) {
            s.spawn(function* () {
              try {
                yield* sleep(10_000);
              } catch (error) {
                seen.push(`${name}: ${(error as Error).name}`);
                throw error;
              }
            });
          }
          yield* sleep(10_000);
        }, { timeoutMs: 100 }), { clock }),
    (error) => error instanceof TimeoutError && /100 ms/.test(error.message),
  );
  assert.deepEqual(seen.sort(), ["a: TimeoutError", "b: TimeoutError"]);
  assert.equal(clock.now(), 100);
});

test("a timeout firing while a finally block cleans up does not lose the original error", () => {
  const clock = new VirtualClock({ autojump: true });
  const original = new Error("original");
  let cleanupInterrupted: unknown;
  assert.throws(
    () =>
      run(() =>
        scope(function* (s) {
          s.spawn(function* () {
            yield* sleep(10);
            throw original;
          });
          s.spawn(function* () {
            try {
              yield* never();
            } finally {
              try {
                yield* sleep(1_000_000); // a cleanup slower than the deadline
              } catch (error) {
                cleanupInterrupted = error;
              }
            }
          });
        }, { timeoutMs: 50 }), { clock }),
    (error) => error === original,
  );
  assert.ok(cleanupInterrupted instanceof TimeoutError);
  assert.equal(clock.now(), 50);
});

test("spawn after the scope ended, or of a non-function, is a TypeError", () => {
  let leaked: { spawn(body: () => Operation<unknown>): unknown } | undefined;
  run(() =>
    scope(function* (s) {
      leaked = s;
      assert.throws(() => s.spawn(42 as never), TypeError);
    })
  );
  assert.throws(() => leaked!.spawn(() => sleep(0)), /the scope has ended|this scope has ended/);
});

test("a task spawned into a cancelled scope never runs", () => {
  let ran = false;
  assert.throws(() =>
    run(() =>
      scope(function* (s) {
        s.cancel();
        const late = s.spawn(function* () {
          ran = true;
        });
        yield* sleep(0);
        assert.equal(late.state, "cancelled");
      })
    ), CancelledError);
  assert.equal(ran, false);
});

test("nested scopes: an inner failure travels out through the outer scope", () => {
  const inner = new Error("inner");
  let outerSiblingCancelled = false;
  assert.throws(
    () =>
      run(() =>
        scope(function* (outer) {
          outer.spawn(() =>
            waitReporting((error) => outerSiblingCancelled = error instanceof CancelledError)
          );
          yield* scope(function* (s) {
            s.spawn(function* () {
              yield* sleep(1);
              throw inner;
            });
          });
        })
      ),
    (error) => error === inner,
  );
  assert.ok(outerSiblingCancelled);
});

test("trio's rule: a CancelledError not caused by the scope fails it like any other error", () => {
  const { future: owned } = Future.withResolvers<number>();
  let ended: Task<number> | undefined;
  assert.throws(
    () =>
      run(() =>
        scope(function* (s) {
          ended = s.spawn(() => owned); // waits on a future its owner cancels
          s.spawn(() => never());
          yield* sleep(0);
          owned.cancel("the owner gave up");
        })
      ),
    (error) => error instanceof CancelledError && error.reason === "the owner gave up",
  );
  assert.equal(ended!.state, "rejected", "it failed: the cancel was not delivered to it");
});

test("a scope whose deadline passes before it ended throws TimeoutError, even if its body returned", () => {
  const clock = new VirtualClock({ autojump: true });
  let childInterrupted = false;
  assert.throws(
    () =>
      run(() =>
        scope(function* (s) {
          s.spawn(function* () {
            try {
              yield* sleep(1_000);
            } catch (error) {
              childInterrupted = error instanceof TimeoutError;
              throw error;
            }
          });
          return "the body's value"; // returned, but the child's work is cut short
        }, { timeoutMs: 100 }), { clock }),
    (error) => error instanceof TimeoutError && /100 ms/.test(error.message),
  );
  assert.ok(childInterrupted);
  assert.equal(clock.now(), 100);
  // A body that catches its own timeout does not hide it either.
  assert.throws(
    () =>
      run(() =>
        timeout(10, function* () {
          try {
            yield* sleep(50);
          } catch {
            return "caught";
          }
        }), { clock }),
    TimeoutError,
  );
  // A scope that ended before its deadline keeps its value.
  assert.equal(run(() => scope(() => sleep(5), { timeoutMs: 100 }), { clock }), undefined);
});

test("a deadline that passes once the work is done cuts nothing short: no TimeoutError, nothing lost", () => {
  const clock = new VirtualClock();
  const queue = new Queue<number>({ capacity: 1 });
  queue.put(1).wait(0); // full
  const value = run(() =>
    scope(function* (s) {
      const putter = s.spawn(() => timeout(10, () => queue.put(2)));
      yield* sleep(0); // it waits for room
      queue.get().wait(0); // room: its put is done...
      clock.advance(10); // ...and its deadline passes before it runs again
      yield* putter; // it took its put (a done put cannot be undone), and cut nothing short
      return "done";
    }), { clock });
  assert.equal(value, "done");
  assert.equal(queue.size, 1);
  assert.equal(queue.get().wait(0), 2);
});

test("cancellations that arrive together are all delivered, in turn; a scope drops only its own", () => {
  const clock = new VirtualClock();
  // Two deadlines pass in the step that ends the wait they cut short: the
  // inner one ends with its scope, the outer one reaches the next wait.
  const { future, resolve } = Future.withResolvers<number>();
  assert.throws(
    () =>
      run(() =>
        scope(function* (s) {
          s.spawn(function* () {
            yield* sleep(0);
            resolve(1);
            clock.advance(20); // both deadlines pass now
          });
          return yield* timeout(20, function* () {
            yield* timeout(10, () => future); // its wait had ended: it keeps the value
            yield* sleep(400); // the outer deadline is delivered here
            return "late";
          });
        }), { clock }),
    (error) => error instanceof TimeoutError && /after 20 ms/.test(error.message),
  );
});

test("a task's own cancel outlives the scope it was in when it came", () => {
  const { future, resolve } = Future.withResolvers<number>();
  const steps: string[] = [];
  let state = "";
  run(() =>
    scope(function* (s) {
      const task = s.spawn(function* () {
        try {
          yield* scope(function* () {
            steps.push(`got ${yield* future}`); // its wait ended before the cancel
          }); // the scope's end is where the cancel is delivered
          yield* sleep(300);
          steps.push("finished");
        } catch (error) {
          steps.push((error as Error).name);
          throw error;
        }
      });
      yield* sleep(0);
      resolve(1);
      task.cancel();
      task.cancel(); // twice is once
      yield* sleep(0);
      state = task.state;
    })
  );
  assert.deepEqual(steps, ["got 1", "CancelledError"]);
  assert.equal(state, "cancelled");
});

test("a cleanup after a task's cancel is still cut short by a deadline that came with it", () => {
  const clock = new VirtualClock({ autojump: true });
  const { future, resolve } = Future.withResolvers<number>();
  let cleanedUpTo = -1;
  assert.throws(
    () =>
      run(() =>
        scope(function* (s) {
          const task = s.spawn(function* () {
            yield* future;
            try {
              yield* sleep(1); // its own cancel, here
            } finally {
              try {
                yield* sleep(1000); // the deadline, here
              } finally {
                cleanedUpTo = clock.now();
              }
            }
          });
          yield* sleep(0);
          resolve(1);
          task.cancel();
          clock.advance(10); // the scope's deadline passes too
          yield* task;
        }, { timeoutMs: 10 }), { clock }),
    TimeoutError,
  );
  assert.equal(cleanedUpTo, 10);
});

test("a deadline around pmap that cuts its items short fails it: no short result", () => {
  const clock = new VirtualClock({ autojump: true });
  let seen: unknown;
  assert.throws(
    () =>
      run(() =>
        timeout(20, function* () {
          seen = yield* pmap(function* (n: number) {
            yield* sleep(n);
            return n;
          }, [5, 1000]);
          yield* sleep(300);
        }), { clock }),
    (error) => error instanceof TimeoutError && /after 20 ms/.test(error.message),
  );
  assert.equal(seen, undefined, "pmap gave no short result");
  assert.equal(clock.now(), 20, "and nothing ran past the deadline");
});

test("a cancellation that also ends the future two tasks wait on is delivered to each once", () => {
  const clock = new VirtualClock({ autojump: true });
  const tasks: Task<void>[] = [];
  let cleanedUp = 0;
  let thrown: unknown;
  try {
    run(() =>
      timeout(10, function* () {
        const ready = Future.withResolvers<number>().future;
        yield* scope(function* (s) {
          for (let i = 0; i < 2; i++) {
            tasks.push(s.spawn(function* () {
              try {
                yield* ready; // the first one's cancel cancels this future for both
              } finally {
                yield* sleep(1); // a cleanup: not cut short by the same cancel again
                cleanedUp++;
              }
            }));
          }
        });
      }), { clock });
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof TimeoutError, String(thrown));
  assert.equal(cleanedUp, 2);
  for (const task of tasks) assert.throws(() => task.wait(0), (e) => e === thrown);
});

test("pmap never gives a short result: an item's inner scope cancelled, or the scope around it", () => {
  // An item whose own scope was cancelled throws, and fails pmap.
  assert.throws(
    () =>
      run(() =>
        pmap(function* (n: number) {
          yield* scope(function* (s) {
            s.spawn(() => sleep(5));
            if (n === 1) {
              s.cancel("enough");
              yield* sleep(1);
            }
          });
          return n * 10;
        }, [0, 1, 2])
      ),
    (error) => error instanceof CancelledError && error.reason === "enough",
  );
  // A scope around pmap cancelled while its last item was about to return.
  const { future, resolve } = Future.withResolvers<number>();
  assert.throws(
    () =>
      run(() =>
        scope(function* (outer) {
          outer.spawn(function* () {
            yield* sleep(0);
            yield* sleep(0);
            outer.cancel("stop");
          });
          return yield* pmap(
            function* (n: number) {
              if (n === 0) {
                yield* sleep(0);
                resolve(10); // item 1's wait ends...
                return 0;
              }
              const v = yield* future;
              yield* sleep(1); // ...and it is cancelled here
              return v;
            },
            [0, 1],
            { limit: 2 },
          );
        })
      ),
    (error) => error instanceof CancelledError && error.reason === "stop",
  );
});

test("a task's cancel does not hide a real failure of its scope's tasks; a reused cause is delivered again", () => {
  const failure = new Error("cleanup failed");
  assert.throws(
    () =>
      run(() =>
        scope(function* (outer) {
          const task = outer.spawn(function* () {
            yield* scope(function* (inner) {
              inner.spawn(function* () {
                try {
                  yield* sleep(100);
                } finally {
                  // deno-lint-ignore no-unsafe-finally
                  throw failure;
                }
              });
              yield* sleep(100);
            });
          });
          yield* sleep(1);
          task.cancel();
        })
      ),
    (error) => error === failure,
  );
  const stop = new CancelledError("stop");
  const clock = new VirtualClock({ autojump: true });
  run(function* () {
    for (let i = 0; i < 2; i++) {
      assert.throws(() =>
        run(() =>
          scope(function* (s) {
            s.spawn(function* () {
              yield* sleep(1);
              s.cancel(stop);
            });
            yield* sleep(300); // cut short at 1, both times
          }), { clock }), (error) => error === stop);
    }
    yield* sleep(0);
  });
  assert.equal(clock.now(), 2);
});

test("a cancellation from outside that comes while a scope that already threw waits for its tasks is delivered next", () => {
  const clock = new VirtualClock({ autojump: true });
  let ranOn = false;
  assert.throws(
    () =>
      run(() =>
        timeout(15, function* () {
          try {
            yield* timeout(10, function* () {
              yield* scope(function* (s) {
                s.spawn(function* () {
                  try {
                    yield* sleep(100);
                  } finally {
                    yield* sleep(20); // a cleanup past the outer deadline
                  }
                });
                yield* sleep(100);
              });
            });
          } catch (error) {
            if (!(error instanceof TimeoutError)) throw error; // the inner timeout, handled
          }
          yield* sleep(1000); // the outer deadline, which passed meanwhile, comes here
          ranOn = true;
        }), { clock }),
    (error) => error instanceof TimeoutError && /after 15 ms/.test(error.message),
  );
  assert.equal(ranOn, false);
  assert.equal(clock.now(), 15);
});
