/**
 * tandem quickstart, the three pillars: a background loop, futures you can
 * block on or await (timeouts that reach the work, errors that keep their
 * shape), and a re-entrant scheduler whose run() works from sync code.
 *
 *   deno task demo
 */
import { BackgroundLoop, Future, pmap, run, sleep, type TimeoutError } from "../mod.ts";
import type * as Tasks from "./tasks.ts";

await using loop = BackgroundLoop.start<typeof Tasks>(new URL("./tasks.ts", import.meta.url));

// 1. Blocking: sync code gets a result from the worker's event loop.
const sum = loop.api.add(20, 22).wait();
console.log(`blocking call     add(20, 22).wait()      -> ${sum}`);

// 2. Awaiting: the same future, consumed the async way.
const user = await loop.api.fetchUser(7);
console.log(`awaited call      await fetchUser(7)      -> ${JSON.stringify(user)}`);

// 3. A timeout fails the caller's future and fires currentSignal() in the worker.
const report = Future.withResolvers<string>();
const slow = loop.with({ timeoutMs: 50 }).api.slowReport(10_000, report.resolve);
try {
  slow.wait();
} catch (error) {
  console.log(
    `timeout           slowReport(10 s)        -> ${(error as TimeoutError).name}: ${
      (error as Error).message
    }`,
  );
  console.log(`                  in the worker           -> ${report.future.wait(1_000)}`);
}

// 4. Errors cross threads with their message, stack, cause and properties.
try {
  await loop.api.chargeQuota(12);
} catch (error) {
  const e = error as Error & { remaining: number };
  console.log(
    `error crossing    chargeQuota(12)         -> ${e.name}: ${e.message} (remaining: ${e.remaining})`,
  );
  console.log(`                  thrown at               -> ${e.stack?.split("\n")[1].trim()}`);
}

// 5. A resolver crosses too: the worker settles a future of this thread.
const { future, resolve } = Future.withResolvers<string>();
loop.api.settleSoon(resolve, "settled by the worker");
console.log(`cross-thread      future.wait()           -> ${future.wait(1_000)}`);

// 6. Waiting on what nothing else can settle fails at once instead of hanging.
try {
  Future.withResolvers<void>().future.wait();
} catch (error) {
  console.log(`no hang           local future.wait()     -> ${(error as Error).name}`);
}

// 7. The scheduler: tasks are generator functions, run() drives them from sync
//    code, and a task may call run() again (re-entrancy).
const names = run(function* () {
  const inner = run(function* () {
    yield* sleep(1);
    return "inner run";
  });
  const fetched = yield* pmap((id: number) => loop.api.fetchUser(id), [1, 2, 3], { limit: 2 });
  return [inner, ...fetched.map((u) => u.name)];
});
console.log(`scheduler         run(pmap(fetchUser))    -> ${names.join(", ")}`);
