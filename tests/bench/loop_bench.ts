// deno-lint-ignore-file no-import-prefix -- bench-only packages are pinned here, not in deno.json,
// so that `deno task test` and `deno task demo` never fetch them.
/**
 * BackgroundLoop against the raw mechanisms and the peers, in one run.
 *
 *   deno task bench                 (threads placed by the OS)
 *   taskset -c 0 deno task bench    (both threads on one CPU)
 *
 * Each group's baseline is the mechanism tandem is held against; Deno prints
 * the ratios.
 */
import { receiveMessageOnPort } from "node:worker_threads";
import * as Comlink from "npm:comlink@4.4.2";
import { createSyncFn } from "npm:synckit@0.11.8";
import { BackgroundLoop } from "../../mod.ts";
import type * as Add from "./workers/add.ts";

const here = (path: string) => new URL(path, import.meta.url);
const moduleWorker = (path: string) => new Worker(here(path), { type: "module" });

// ---- tandem ----
const loop = BackgroundLoop.start<typeof Add>(here("./workers/add.ts"));
loop.api.add(0, 0).wait();

// ---- the floor: Atomics.wait on both sides ----
const floorWords = new Int32Array(new SharedArrayBuffer(16));
const floorWorker = moduleWorker("./workers/raw_atomics.ts");
floorWorker.postMessage(floorWords.buffer);
function floorCall(x: number): number {
  const replies = Atomics.load(floorWords, 1);
  floorWords[2] = x;
  Atomics.add(floorWords, 0, 1);
  Atomics.notify(floorWords, 0);
  Atomics.wait(floorWords, 1, replies);
  return floorWords[2];
}

// ---- synckit's technique, by hand ----
const handWords = new Int32Array(new SharedArrayBuffer(4));
const handChannel = new MessageChannel();
const handWorker = moduleWorker("./workers/synckit_by_hand.ts");
handWorker.postMessage({ port: handChannel.port2, words: handWords.buffer }, [handChannel.port2]);
function handCall(x: number): number {
  const replies = Atomics.load(handWords, 0);
  handChannel.port1.postMessage(x);
  Atomics.wait(handWords, 0, replies);
  return receiveMessageOnPort(handChannel.port1 as never)!.message as number;
}

// ---- awaited postMessage ----
const postWorker = moduleWorker("./workers/post_message.ts");
const postPending = new Map<number, (value: number) => void>();
let postId = 0;
postWorker.onmessage = ({ data }: MessageEvent<[number, number]>) => {
  postPending.get(data[0])!(data[1]);
  postPending.delete(data[0]);
};
function postCall(x: number): Promise<number> {
  const id = postId++;
  return new Promise((resolve) => {
    postPending.set(id, resolve);
    postWorker.postMessage([id, x]);
  });
}

// ---- peers ----
const comlinkWorker = moduleWorker("./workers/comlink_worker.ts");
const comlink = Comlink.wrap<{ add(a: number, b: number): number }>(comlinkWorker);
const synckitAdd = createSyncFn<(a: number, b: number) => number>(
  here("./workers/synckit_worker.mjs").pathname,
);

// Warm every path up before measuring, long enough for V8 to finish
// optimizing it: on one CPU its compiler threads compete with the threads
// measured, and the first bench of a run used to pay for that (a blocking
// call measured 4.5 µs first, 3.6 µs when measured again).
for (let i = 0; i < 20_000; i++) {
  floorCall(i);
  handCall(i);
  synckitAdd(i, 1);
  loop.api.add(i, 1).wait();
}
for (let i = 0; i < 2_000; i++) {
  await postCall(i);
  await comlink.add(i, 1);
  await loop.api.add(i, 1);
}

let sink = 0;

Deno.bench(
  "raw Atomics.wait/notify ping-pong (floor)",
  { group: "blocking", baseline: true },
  () => {
    sink += floorCall(1);
  },
);
Deno.bench("tandem loop.api.add(1, 2).wait()", { group: "blocking" }, () => {
  sink += loop.api.add(1, 2).wait();
});
Deno.bench("synckit technique by hand (postMessage + Atomics.wait + receiveMessageOnPort)", {
  group: "blocking",
}, () => {
  sink += handCall(1);
});
Deno.bench("synckit createSyncFn (npm)", { group: "blocking" }, () => {
  sink += synckitAdd(1, 2);
});

Deno.bench("raw awaited postMessage", { group: "awaited", baseline: true }, async () => {
  sink += await postCall(1);
});
Deno.bench("tandem await loop.api.add(1, 2)", { group: "awaited" }, async () => {
  sink += await loop.api.add(1, 2);
});
Deno.bench("Comlink await api.add(1, 2) (npm)", { group: "awaited" }, async () => {
  sink += await comlink.add(1, 2);
});

const BATCH = 64;
Deno.bench(`raw awaited postMessage, ${BATCH} one at a time`, {
  group: "throughput",
  baseline: true,
}, async () => {
  for (let i = 0; i < BATCH; i++) sink += await postCall(i);
});
Deno.bench(`tandem, ${BATCH} calls in flight`, { group: "throughput" }, async () => {
  const calls = [];
  for (let i = 0; i < BATCH; i++) calls.push(loop.api.add(i, 1));
  for (const call of calls) sink += await call;
});
Deno.bench(`raw postMessage, ${BATCH} in flight`, { group: "throughput" }, async () => {
  const calls = [];
  for (let i = 0; i < BATCH; i++) calls.push(postCall(i));
  for (const call of calls) sink += await call;
});
Deno.bench(`Comlink, ${BATCH} in flight (npm)`, { group: "throughput" }, async () => {
  const calls = [];
  for (let i = 0; i < BATCH; i++) calls.push(comlink.add(i, 1));
  for (const call of calls) sink += await call;
});

// Deno runs the benches after this module's top level: close everything once
// they are done, so that the process can exit.
globalThis.addEventListener("unload", () => {
  floorWords[3] = -1;
  Atomics.add(floorWords, 0, 1);
  Atomics.notify(floorWords, 0);
  for (const worker of [floorWorker, handWorker, postWorker, comlinkWorker]) worker.terminate();
  handChannel.port1.close();
  loop[Symbol.dispose]();
  if (sink === -1) console.log(sink);
});
