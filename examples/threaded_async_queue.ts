/**
 * threaded_async's ideas: cross-thread queues, and control inversion.
 *
 *   deno run --allow-read examples/threaded_async_queue.ts
 */
import { BackgroundLoop, ControlHost, Queue } from "../mod.ts";
import type * as Tasks from "./tasks.ts";

await using loop = BackgroundLoop.start<typeof Tasks>(new URL("./tasks.ts", import.meta.url));

// 1. The increment worker: main -> worker -> main over two shared queues.
const input = new Queue<number>({ capacity: 4 });
const output = new Queue<number>();
const worker = loop.api.incrementAll(input, output);
for (const n of [1, 10, 100]) {
  input.put(n).wait(); // blocking put (room for 4)
  console.log(`put ${n}, got back ${output.get().wait(1_000)}`); // blocking get
}
input.close();
console.log(`the worker incremented ${await worker} numbers and closed its output`);

// 2. Control inversion: the agent in the worker asks; the main thread answers
//    only when it steps the simulation.
const orders = ["go north", "pick up the key", "open the door"];
using host = new ControlHost<Tasks.SimulationHandlers>({
  nextOrder: (step) => orders[step - 1],
});
const agent = loop.api.agent(host.client, 3);
for (let tick = 1; tick <= 3; tick++) {
  const answered = host.process({ timeoutMs: 1_000 }); // blocks until the agent asks
  console.log(`tick ${tick}: the host answered ${answered} request`);
}
for (const line of await agent) console.log(`agent ${line}`);
