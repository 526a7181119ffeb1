import assert from "node:assert/strict";
import { test } from "./bounded.ts";

/**
 * A blocking wait cannot be cut short by its own thread's timers: one that
 * waits on another thread without a bound could hang the suite. Every
 * `.wait()` without a bound in the tests and fixtures must say (`// unbounded: why`) why it ends
 * at once (a settled future, or a deadlock that throws).
 */
const UNBOUNDED = "// unbounded:";

test("every wait on another thread in the tests and fixtures has a bound", async () => {
  const root = new URL("./", import.meta.url);
  const offenders: string[] = [];
  for await (const path of walk(root)) {
    const lines = (await Deno.readTextFile(path)).split("\n");
    lines.forEach((line, i) => {
      if (/\.wait\(\)/.test(line) && !line.includes(UNBOUNDED)) {
        offenders.push(`${path.pathname.slice(root.pathname.length)}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, [], `unbounded waits (bound them, or mark "${UNBOUNDED}")`);
});

async function* walk(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory && entry.name !== "bench") yield* walk(new URL(`${entry.name}/`, dir));
    else if (entry.isFile && entry.name.endsWith(".ts") && !entry.name.startsWith("bounded")) {
      yield new URL(entry.name, dir);
    }
  }
}
