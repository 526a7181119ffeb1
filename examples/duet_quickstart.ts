/**
 * duet's idea in tandem: async work driven from sync code, re-entrantly.
 *
 *   deno run --allow-read examples/duet_quickstart.ts
 */
import { BackgroundLoop, pmap, run, sleep, sync, timeout, TimeoutError } from "../mod.ts";

using loop = BackgroundLoop.start<typeof import("./tasks.ts")>(
  new URL("./tasks.ts", import.meta.url),
);

// Plain synchronous code that needs async work done deep inside: sync() turns
// an operation into a blocking function, callable from anywhere, even from
// inside a running task.
const userName = sync(function* (id: number) {
  const user = yield* loop.api.fetchUser(id);
  return user.name;
});

function legacyGreeting(id: number): string {
  return `hello, ${userName(id)}`; // a blocking call: run() inside run()
}

const outcome = run(function* main() {
  console.log("1. a task waits for a blocking job on a background loop");
  const primes = yield* loop.api.countPrimes(2_000_000);
  console.log(`   countPrimes(2 000 000) = ${primes}`);

  console.log("2. the task calls sync code that calls run() again (re-entrancy)");
  console.log(`   ${legacyGreeting(7)}`);

  console.log("3. pmap over five users, at most two at a time");
  const names = yield* pmap(
    function* (id: number) {
      console.log(`   start ${id}`);
      yield* sleep(id % 2); // finish out of order
      const user = yield* loop.api.fetchUser(id);
      console.log(`   done  ${id}`);
      return user.name;
    },
    [1, 2, 3, 4, 5],
    { limit: 2 },
  );
  console.log(`   results, in input order: ${names.join(", ")}`);

  console.log("4. a timeout cancels the background job it was waiting for");
  try {
    yield* timeout(20, () => loop.api.slowReport(10_000));
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    console.log(`   ${error.name}: ${error.message}`);
  }
  return "all done, without a single await";
});
console.log(outcome);
