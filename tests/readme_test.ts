/**
 * The README's TypeScript blocks run as written: each is written to a
 * folder (a block whose first line names a file, `// tasks.ts — ...`, under
 * that name), type-checked, and each but the named modules it imports is
 * run as a program there, with `@tandem/tandem` mapped to this copy.
 */
import assert from "node:assert/strict";
import { runDeno, test } from "./bounded.ts";

const ROOT = new URL("../", import.meta.url);

interface Block {
  file: string;
  code: string;
  /** A module other blocks import (not run on its own). */
  imported: boolean;
}

async function readmeBlocks(): Promise<Block[]> {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const blocks: Block[] = [];
  for (const match of readme.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const code = match[1];
    const named = /^\/\/ ([\w.-]+\.ts)\b/.exec(code)?.[1];
    const file = named ?? `block${blocks.length + 1}.ts`;
    blocks.push({ file, code, imported: false });
  }
  for (const block of blocks) {
    block.imported = blocks.some((other) => other.code.includes(`"./${block.file}"`)) &&
      block.file !== "main.ts";
  }
  return blocks;
}

test("every TypeScript block of the README type-checks and runs as written", async () => {
  const blocks = await readmeBlocks();
  assert.ok(blocks.length >= 5, `found ${blocks.length} blocks`);
  const dir = await Deno.makeTempDir({ prefix: "tandem-readme-" });
  try {
    const map = `${dir}/import_map.json`;
    await Deno.writeTextFile(
      map,
      JSON.stringify({ imports: { "@tandem/tandem": new URL("mod.ts", ROOT).href } }),
    );
    for (const block of blocks) await Deno.writeTextFile(`${dir}/${block.file}`, block.code);
    const files = blocks.map((block) => block.file);
    const checked = await runDeno(["check", `--import-map=${map}`, ...files], { cwd: dir });
    assert.equal(checked.code, 0, `deno check:\n${checked.stdout}${checked.stderr}`);
    for (const block of blocks.filter((block) => !block.imported)) {
      const args = ["run", "--no-check", "-A", `--import-map=${map}`, block.file];
      const ran = await runDeno(args, { cwd: dir });
      assert.equal(ran.code, 0, `${block.file}:\n${block.code}\n---\n${ran.stdout}${ran.stderr}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, 4 * 60_000);
