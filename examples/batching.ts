/**
 * Batching with onAllWaiting() (duet's BufferedFuture): 100 tasks each ask
 * a client for one record; the client buffers the requests and, once every
 * task waits, sends them all in one background call.
 *
 *   deno run --allow-read examples/batching.ts
 */
import { BackgroundLoop, Future, onAllWaiting, pmap, run } from "../mod.ts";
import type * as Tasks from "./tasks.ts";

type Item = { id: number; title: string };

/** A client that gathers the requests of many tasks into one batch call. */
class RecordClient {
  batches = 0;
  #buffered: { id: number; resolve(record: Item): void; reject(error: unknown): void }[] = [];

  constructor(readonly loop: BackgroundLoop<typeof Tasks>) {}

  get(id: number): Future<Item> {
    const { future, resolve, reject } = Future.withResolvers<Item>();
    if (this.#buffered.length === 0) onAllWaiting(() => this.#flush());
    this.#buffered.push({ id, resolve, reject });
    return future;
  }

  #flush(): Future<Item[]> {
    const requests = this.#buffered.splice(0);
    this.batches++;
    const batch = this.loop.api.getRecords(requests.map((request) => request.id));
    // Settled through onDone, which runs as the batch settles: a Promise
    // reaction (then, catch) could not run while a blocking run() waits.
    batch.onDone(() => {
      let records: Item[];
      try {
        records = batch.wait(); // settled already: its value, or its error thrown
      } catch (error) {
        for (const request of requests) request.reject(error);
        return;
      }
      requests.forEach((request, i) => request.resolve(records[i]));
    });
    return batch; // the run waits on it as it would for a task
  }
}

using loop = BackgroundLoop.start<typeof Tasks>(new URL("./tasks.ts", import.meta.url));
const client = new RecordClient(loop);

const ids = Array.from({ length: 100 }, (_, i) => i + 1);
const records = run(() =>
  pmap(function* fetchOne(id: number) {
    const record = yield* client.get(id); // each task asks for one
    return record.title;
  }, ids)
);

console.log(`${records.length} tasks got their records through ${client.batches} background call`);
console.log(`first: ${records[0]}, last: ${records[records.length - 1]}`);
if (client.batches !== 1 || records[99] !== "record 100") throw new Error("batching failed");
