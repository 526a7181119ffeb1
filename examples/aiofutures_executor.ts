/**
 * aiofutures' ideas: the Executor interface over a background loop, the
 * default executor, and toThread (sync_to_async).
 *
 *   deno run --allow-read examples/aiofutures_executor.ts
 */
import { BackgroundLoop, defaultExecutor, type Executor, LoopClosedError } from "../mod.ts";

const tasks = (name: string) => new URL(`./tasks.ts#${name}`, import.meta.url);

// Any Executor: submit, map (input order, bounded), shutdown.
async function useExecutor(executor: Executor, label: string): Promise<void> {
  const sum = await executor.submit<number>(tasks("add"), 20, 22);
  console.log(`${label}: submit(add, 20, 22) -> ${sum}`);
  const users = await executor.map<{ name: string }>(tasks("fetchUser"), [3, 1, 2], { limit: 2 });
  console.log(
    `${label}: map(fetchUser, [3, 1, 2], limit 2) -> ${users.map((u) => u.name).join(", ")}`,
  );
}

const loop = BackgroundLoop.start(undefined, { workers: 2 });
await useExecutor(loop, "a BackgroundLoop");

// toThread: a served async function moves blocking work off its own worker.
const hashes = await loop.call<string[]>(tasks("hashBoth"), "left", "right");
console.log(`toThread: hashBoth -> ${hashes.join(", ")} (the worker kept serving meanwhile)`);

// shutdown: idempotent; later submits fail.
await loop.shutdown();
await loop.shutdown();
try {
  await loop.submit(tasks("add"), 1, 1);
} catch (error) {
  console.log(`after shutdown: ${(error as Error).name} (${error instanceof LoopClosedError})`);
}

// The default executor starts on first use and never keeps the program alive.
await useExecutor(defaultExecutor(), "defaultExecutor()");
