// The module the quickstart's background loop serves: plain exported functions.
import { currentSignal } from "../mod.ts";

export function add(a: number, b: number): number {
  return a + b;
}

export async function fetchUser(id: number): Promise<{ id: number; name: string }> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { id, name: `user-${id}` };
}

/** Slow on purpose; stops early when the caller gives up. */
export async function slowReport(ms: number): Promise<string> {
  const signal = currentSignal();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return signal.aborted ? "stopped early" : "finished";
}

export class QuotaError extends Error {
  override name = "QuotaError";
  constructor(readonly remaining: number) {
    super(`quota exceeded, ${remaining} left`);
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
