/**
 * Soak: 1 000 000 calls through a pool of two workers, half blocked on
 * (`wait()`) one at a time, half awaited in flights of 500; 1 % cancelled at
 * once, 1 % given a 1 ms timeout on work that takes 50 ms. Counts every
 * outcome against what it must be, and prints the calls lost (never
 * settled), settled twice, and settled wrong (all must be 0), and the live
 * heap before and after.
 *
 *   deno task soak              (SOAK_CALLS=100000 deno task soak for a shorter one)
 */
import { BackgroundLoop, CancelledError, type Future, TimeoutError } from "../mod.ts";
import type * as Tasks from "./fixtures/tasks.ts";

const CALLS = Number(Deno.env.get("SOAK_CALLS") ?? 1_000_000);
const FLIGHT = 500;
const WAIT_MS = 30_000;

await using pool = BackgroundLoop.start<typeof Tasks>(
  new URL("./fixtures/tasks.ts", import.meta.url),
  { workers: 2 },
);
const late = pool.with({ timeoutMs: 1 });

const settled = new Uint8Array(CALLS);
let wrong = 0;
const wrongSamples: string[] = [];
function judge(i: number, future: Future<unknown>, expect: "value" | "cancelled" | "timeout") {
  future.onDone(() => {
    settled[i]++;
    let outcome: unknown;
    let ok = true;
    try {
      outcome = future.wait(0);
    } catch (error) {
      outcome = error;
      ok = false;
    }
    const right = expect === "value"
      ? ok && outcome === i
      : expect === "cancelled"
      ? (!ok && outcome instanceof CancelledError) || (ok && outcome === i)
      : !ok && outcome instanceof TimeoutError;
    if (!right) {
      wrong++;
      if (wrongSamples.length < 5) wrongSamples.push(`call ${i} (${expect}): ${String(outcome)}`);
    }
  });
}

/** Makes call `i`: 1 % cancelled at once, 1 % timing out, the rest plain. */
function call(i: number): Future<unknown> {
  const kind = i % 100;
  if (kind === 7) {
    const future = pool.api.echo(i);
    judge(i, future, "cancelled");
    future.cancel("soak"); // too late if it was answered already: then its value
    return future;
  }
  if (kind === 42) {
    const future = late.api.delayEcho(i, 50);
    judge(i, future, "timeout");
    return future;
  }
  const future = pool.api.echo(i);
  judge(i, future, "value");
  return future;
}

const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  gc?.();
  return Deno.memoryUsage().heapUsed;
};
for (let i = 0; i < 1000; i++) pool.api.echo(i).wait(WAIT_MS); // warm up
const heapBefore = heap();
const started = performance.now();

for (let round = 0, i = 0; i < CALLS; round++) {
  const end = Math.min(CALLS, i + FLIGHT);
  if (round % 2 === 0) {
    // Blocking, one at a time.
    for (; i < end; i++) {
      const future = call(i);
      try {
        future.wait(WAIT_MS);
      } catch { /* judged by its onDone */ }
    }
  } else {
    // Awaited, a flight at a time.
    const flight: Future<unknown>[] = [];
    for (; i < end; i++) flight.push(call(i));
    await Promise.allSettled(flight);
  }
}
const seconds = (performance.now() - started) / 1000;

let lost = 0, duplicated = 0;
for (let i = 0; i < CALLS; i++) {
  if (settled[i] === 0) lost++;
  else if (settled[i] > 1) duplicated++;
}
const stillServing = pool.api.add(2, 2).wait(WAIT_MS) === 4;
const heapAfter = heap();
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

console.log(
  `calls:          ${CALLS} in ${seconds.toFixed(1)} s (${(CALLS / seconds).toFixed(0)}/s)`,
);
console.log(`lost:           ${lost}`);
console.log(`duplicated:     ${duplicated}`);
console.log(
  `wrong:          ${wrong}${wrongSamples.length ? ` (${wrongSamples.join("; ")})` : ""}`,
);
console.log(`still serving:  ${stillServing}`);
console.log(
  `live heap:      ${mib(heapBefore)} MiB before, ${mib(heapAfter)} MiB after${
    gc ? "" : " (run with --v8-flags=--expose-gc for live figures)"
  }`,
);
if (lost || duplicated || wrong || !stillServing) Deno.exit(1);
