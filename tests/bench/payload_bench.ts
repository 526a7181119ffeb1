// deno-lint-ignore-file no-import-prefix -- bench-only packages are pinned here, not in deno.json,
// so that `deno task test` and `deno task demo` never fetch them.
/**
 * Large values through BackgroundLoop against a raw module worker echoing
 * with `postMessage`, and the peers' zero-copy moves, in one run:
 *
 *   deno task bench:payload              (threads placed by the OS)
 *   taskset -c 0 deno task bench:payload (both threads on one CPU)
 *
 * Every round trip goes main → worker → main. Each group's baseline is the
 * raw mechanism; Deno prints the ratios.
 */
import * as Comlink from "npm:comlink@4.4.2";
import { Piscina } from "npm:piscina@5.1.4";
import { BackgroundLoop, transfer } from "../../mod.ts";
import type * as Echo from "./workers/echo.ts";

const here = (path: string) => new URL(path, import.meta.url);
const MiB = 1 << 20;

// ---- the raw mechanism: a module worker echoing with postMessage ----
const rawWorker = new Worker(here("./workers/echo_raw.ts"), { type: "module" });
const rawPending = new Map<number, (value: unknown) => void>();
let rawId = 0;
rawWorker.onmessage = ({ data }: MessageEvent<[number, unknown]>) => {
  rawPending.get(data[0])!(data[1]);
  rawPending.delete(data[0]);
};
function rawCall<T>(value: T, move = false): Promise<T> {
  const id = rawId++;
  return new Promise((resolve) => {
    rawPending.set(id, resolve as (value: unknown) => void);
    rawWorker.postMessage(
      [id, value, move],
      move ? [(value as Uint8Array).buffer as ArrayBuffer] : [],
    );
  });
}

// ---- tandem and the peers ----
const loop = BackgroundLoop.start<typeof Echo>(here("./workers/echo.ts"));
const comlinkWorker = new Worker(here("./workers/echo_comlink.ts"), { type: "module" });
const comlink = Comlink.wrap<{ echoMoved(bytes: Uint8Array): Uint8Array }>(comlinkWorker);
const piscina = new Piscina({
  filename: here("./workers/echo_piscina.mjs").href,
  minThreads: 1,
  maxThreads: 1,
});

// ---- the values ----
/** 16 MiB, moved both ways: each side gets the other's buffer back. */
const moving: Record<string, Uint8Array> = {
  raw: new Uint8Array(16 * MiB),
  tandemAwaited: new Uint8Array(16 * MiB),
  tandemBlocking: new Uint8Array(16 * MiB),
  comlink: new Uint8Array(16 * MiB),
  piscina: new Uint8Array(16 * MiB),
};
/** 16 MiB, copied both ways. */
const bytes = new Uint8Array(16 * MiB).fill(7);
/** About 1 MiB of JSON: 10 000 small records. */
const records = Array.from({ length: 10_000 }, (_, i) => ({
  id: i,
  name: `record ${i}`,
  active: i % 2 === 0,
  score: i / 7,
}));

// Warm every path up (V8 optimizes the code measured; workers start).
for (let i = 0; i < 200; i++) {
  await rawCall(records);
  await loop.api.echo(records);
  loop.api.echo(records).wait();
  await rawCall(1);
  await loop.api.add(i, 1);
}
for (let i = 0; i < 20; i++) {
  moving.raw = await rawCall(moving.raw, true);
  moving.tandemAwaited = await loop.api.echoMoved(
    transfer(moving.tandemAwaited, [moving.tandemAwaited.buffer]),
  );
  moving.tandemBlocking = loop.api.echoMoved(
    transfer(moving.tandemBlocking, [moving.tandemBlocking.buffer]),
  ).wait();
  moving.comlink = await comlink.echoMoved(
    Comlink.transfer(moving.comlink, [moving.comlink.buffer as ArrayBuffer]),
  );
  await rawCall(bytes);
  await loop.api.echo(bytes);
}

let sink = 0;

Deno.bench("raw postMessage + transfer, 16 MiB moved both ways", {
  group: "16 MiB moved",
  baseline: true,
}, async () => {
  moving.raw = await rawCall(moving.raw, true);
  sink += moving.raw.length;
});
Deno.bench("tandem await, transfer() both ways", { group: "16 MiB moved" }, async () => {
  const sent = moving.tandemAwaited;
  moving.tandemAwaited = await loop.api.echoMoved(transfer(sent, [sent.buffer]));
  sink += moving.tandemAwaited.length;
});
Deno.bench("tandem wait(), transfer() both ways", { group: "16 MiB moved" }, () => {
  const sent = moving.tandemBlocking;
  moving.tandemBlocking = loop.api.echoMoved(transfer(sent, [sent.buffer])).wait();
  sink += moving.tandemBlocking.length;
});
Deno.bench("Comlink transfer() both ways (npm)", { group: "16 MiB moved" }, async () => {
  const sent = moving.comlink;
  moving.comlink = await comlink.echoMoved(Comlink.transfer(sent, [sent.buffer as ArrayBuffer]));
  sink += moving.comlink.length;
});
// Piscina's pool under Deno's node:worker_threads takes seconds for this
// (a moved typed array arrives as slowly as a copy there): a few rounds show it.
Deno.bench("piscina Piscina.move() both ways (npm)", {
  group: "16 MiB moved",
  n: 3,
  warmup: 1,
}, async () => {
  moving.piscina = await piscina.run(Piscina.move(moving.piscina));
  sink += moving.piscina.length;
});

// A copy's time swings with the allocator and the garbage collector (3 to
// 100 ms here, for both): many rounds, so that the averages settle.
const COPY_ROUNDS = { n: 500, warmup: 30 };
Deno.bench("raw postMessage, 16 MiB cloned both ways", {
  group: "16 MiB copied",
  baseline: true,
  ...COPY_ROUNDS,
}, async () => {
  sink += (await rawCall(bytes)).length;
});
Deno.bench(
  "tandem await, copied both ways",
  { group: "16 MiB copied", ...COPY_ROUNDS },
  async () => {
    sink += (await loop.api.echo(bytes) as Uint8Array).length;
  },
);
Deno.bench("tandem wait(), copied both ways", { group: "16 MiB copied", ...COPY_ROUNDS }, () => {
  sink += (loop.api.echo(bytes).wait() as Uint8Array).length;
});

Deno.bench("raw postMessage, 10 000 records cloned both ways", {
  group: "1 MiB of records",
  baseline: true,
}, async () => {
  sink += (await rawCall(records)).length;
});
Deno.bench("tandem await, 10 000 records both ways", { group: "1 MiB of records" }, async () => {
  sink += (await loop.api.echo(records) as unknown[]).length;
});
Deno.bench("tandem wait(), 10 000 records both ways", { group: "1 MiB of records" }, () => {
  sink += (loop.api.echo(records).wait() as unknown[]).length;
});

Deno.bench("raw awaited postMessage, a number", { group: "tiny", baseline: true }, async () => {
  sink += await rawCall(1);
});
Deno.bench("tandem await loop.api.add(1, 2)", { group: "tiny" }, async () => {
  sink += await loop.api.add(1, 2);
});

// Deno runs the benches after this module's top level: close everything once
// they are done, so that the process can exit.
globalThis.addEventListener("unload", () => {
  rawWorker.terminate();
  comlinkWorker.terminate();
  loop[Symbol.dispose]();
  void piscina.destroy();
  if (sink === -1) console.log(sink);
});
