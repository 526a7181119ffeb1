// The module the quickstart's background loop serves: plain exported functions.
import {
  type ControlClient,
  type ControlHandlers,
  currentSignal,
  getLoop,
  type Queue,
  toThread,
  transfer,
} from "../mod.ts";

export function add(a: number, b: number): number {
  return a + b;
}

export async function fetchUser(id: number): Promise<{ id: number; name: string }> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { id, name: `user-${id}` };
}

/** Slow on purpose; stops early when the caller gives up. */
export async function slowReport(ms: number, report?: (how: string) => void): Promise<string> {
  const signal = currentSignal();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const how = signal.aborted ? `stopped early (${(signal.reason as Error).name})` : "finished";
  report?.(how);
  return how;
}

export class QuotaError extends Error {
  override name = "QuotaError";
  constructor(readonly remaining: number) {
    super(`quota exceeded by ${-remaining}`);
  }
}

export function chargeQuota(amount: number): never {
  throw new QuotaError(10 - amount);
}

/** Settles the caller's future from this thread, a little later. */
export function settleSoon(resolve: (value: string) => void, value: string): void {
  setTimeout(() => resolve(value), 5);
}

/** A blocking, CPU-bound job: counts the primes below `n`. */
export function countPrimes(n: number): number {
  const composite = new Uint8Array(n);
  let count = 0;
  for (let i = 2; i < n; i++) {
    if (composite[i]) continue;
    count++;
    for (let j = i * i; j < n; j += i) composite[j] = 1;
  }
  return count;
}

// ---- for threaded_async_queue.ts ----

/** The increment worker: takes numbers from `input`, puts each + 1 in `output`, until closed. */
export async function incrementAll(input: Queue<number>, output: Queue<number>): Promise<number> {
  let count = 0;
  for await (const n of input) {
    await output.put(n + 1);
    count++;
  }
  output.close();
  return count;
}

/** A simulated agent: each step asks the host (the main thread) what to do. */
export async function agent(
  client: ControlClient<SimulationHandlers>,
  steps: number,
): Promise<string[]> {
  const log: string[] = [];
  for (let step = 1; step <= steps; step++) {
    const order = await client.call("nextOrder", step);
    log.push(`step ${step}: ${order}`);
  }
  return log;
}

/** What the main thread answers the agent. */
export interface SimulationHandlers extends ControlHandlers {
  nextOrder(step: number): string;
}

// ---- for duck_named_loops.ts and aiofutures_executor.ts ----

/** Runs in a child loop: reaches the loop its parent registered as "db". */
export async function reportFromChild(): Promise<string> {
  const db = getLoop("db");
  const rows = await db.with({ taskType: "query" }).call("query", "SELECT 1");
  return `child reached "${db.name}": ${JSON.stringify(rows)}`;
}

export function query(sql: string): { sql: string; rows: number } {
  return { sql, rows: 1 };
}

/** A served async function that pushes a blocking job off its own worker. */
export async function hashBoth(a: string, b: string): Promise<string[]> {
  const slowHash = new URL("./tasks.ts#slowHash", import.meta.url);
  return await Promise.all([toThread<string>(slowHash, a), toThread<string>(slowHash, b)]);
}

/** Blocking on purpose. */
export function slowHash(text: string): string {
  let h = 2166136261;
  for (let round = 0; round < 20_000; round++) {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  }
  return (h >>> 0).toString(16);
}

/** A batch endpoint: many records in one call. */
export function getRecords(ids: number[]): { id: number; title: string }[] {
  return ids.map((id) => ({ id, title: `record ${id}` }));
}

/** Inverts an image's pixels in place; hands them back moved (`move`) or copied. */
export function invertImage(pixels: Uint8Array, move: boolean): Uint8Array {
  for (let i = 0; i < pixels.length; i++) pixels[i] = 255 - pixels[i];
  return move ? transfer(pixels, [pixels.buffer]) : pixels;
}
