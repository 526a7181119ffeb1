/** Every example runs as its header says (`deno run --allow-read examples/<name>.ts`) and ends well. */
import assert from "node:assert/strict";
import { runDeno, test } from "./bounded.ts";

const EXAMPLES = new URL("../examples/", import.meta.url);
/** What each example must print, at least (the one line that shows it worked). */
const SHOWS: Record<string, RegExp> = {
  "batching.ts": /100 tasks got their records through 1 background call/,
  "transfer_image.ts": /moved with transfer\(\): [\d.]+ ms[\s\S]*copied both ways: +[\d.]+ ms/,
};

for (const entry of Deno.readDirSync(EXAMPLES)) {
  const name = entry.name;
  if (!name.endsWith(".ts") || name === "tasks.ts") continue;
  test(`examples/${name} runs and shows what it says`, async () => {
    const ran = await runDeno([
      "run",
      "--no-check",
      "--allow-read",
      new URL(name, EXAMPLES).pathname,
    ]);
    assert.equal(ran.code, 0, `${ran.stdout}${ran.stderr}`);
    assert.ok(ran.stdout.length > 0, "it prints what it shows");
    if (SHOWS[name]) assert.match(ran.stdout, SHOWS[name]);
  });
}
