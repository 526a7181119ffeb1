/**
 * Cross-thread primitives against the raw mechanisms, in one run:
 * `deno task bench` (or `deno bench --no-check -A tests/bench/primitives_bench.ts`;
 * prefix `taskset -c 0` for both threads on one CPU).
 */
import { BackgroundLoop, Event, Queue } from "../../mod.ts";
import type * as Primitives from "../fixtures/primitives.ts";

const here = (path: string) => new URL(path, import.meta.url);
// One loop per group: a blocking ping-pong would hold up the echo's worker.
const queueLoop = BackgroundLoop.start<typeof Primitives>(here("../fixtures/primitives.ts"));
const eventLoop = BackgroundLoop.start<typeof Primitives>(here("../fixtures/primitives.ts"));

// ---- queue throughput, main -> worker -> main, 1 000 small items ----
const ITEMS = 1_000;
const input = new Queue<number>();
const output = new Queue<number>();
const echoing = queueLoop.api.echoUntilClosed(input, output);

Deno.bench(
  "tandem Queue: 1000 items through a worker",
  { group: "queue", baseline: true },
  async () => {
    for (let i = 0; i < ITEMS; i++) input.put(i);
    let sum = 0;
    for (let i = 0; i < ITEMS; i++) sum += await output.get();
    if (sum !== (ITEMS * (ITEMS + 1)) / 2) throw new Error(`bad sum ${sum}`);
  },
);

const postWorker = new Worker(here("./workers/post_message.ts"), { type: "module" });
Deno.bench("MessageChannel: 1000 items through a worker", { group: "queue" }, async () => {
  let left = ITEMS;
  let sum = 0;
  const done = Promise.withResolvers<void>();
  postWorker.onmessage = ({ data }: MessageEvent<[number, number]>) => {
    sum += data[1];
    if (--left === 0) done.resolve();
  };
  for (let i = 0; i < ITEMS; i++) postWorker.postMessage([i, i]);
  await done.promise;
  if (sum !== (ITEMS * (ITEMS + 1)) / 2) throw new Error(`bad sum ${sum}`);
});

// ---- Event set -> wake, blocking, as a round trip (two wakes) ----
const ping = new Event();
const pong = new Event();
const ponging = eventLoop.api.pingPong(ping, pong, 1e9);

Deno.bench(
  "tandem Event round trip (set -> wait, both ways)",
  { group: "event", baseline: true },
  () => {
    ping.set();
    pong.wait(10_000);
    pong.clear();
  },
);

const floorWords = new Int32Array(new SharedArrayBuffer(16));
const floorWorker = new Worker(here("./workers/raw_atomics.ts"), { type: "module" });
floorWorker.postMessage(floorWords.buffer);
Deno.bench("raw Atomics.notify/wait round trip (the floor)", { group: "event" }, () => {
  const replies = Atomics.load(floorWords, 1);
  Atomics.add(floorWords, 0, 1);
  Atomics.notify(floorWords, 0);
  Atomics.wait(floorWords, 1, replies);
});

globalThis.addEventListener("unload", () => {
  floorWords[3] = -1;
  Atomics.add(floorWords, 0, 1);
  Atomics.notify(floorWords, 0);
  floorWorker.terminate();
  postWorker.terminate();
  input.close();
  void echoing;
  void ponging;
  queueLoop[Symbol.dispose]();
  eventLoop[Symbol.dispose]();
});
