/**
 * The documentation's examples run, and say what they show (issue #12):
 *
 * - every `@example` of `mod.ts` and `src/` is run by the `test` task
 *   (`deno test --doc`), and asserts what it shows with
 *   `node:assert/strict` rather than printing it;
 * - it imports tandem as a user does (`@tandem/tandem`), and nothing
 *   relative: a doc test's `import.meta.url` is its source file's URL (with
 *   a `#line-line.ts` fragment), so no `./tasks.ts` sits beside it. A loop in
 *   an example serves an inline `data:` module instead;
 * - a loop it starts is closed (`using`, `await using`, `close()`,
 *   `shutdown()`): its workers would keep the test alive;
 * - one that cannot run is fenced ```` ```ts ignore ```` and says why in
 *   the prose above the fence;
 * - every TypeScript block of the README is one `readme_test.ts` runs.
 */
import assert from "node:assert/strict";
import { test } from "./bounded.ts";

const ROOT = new URL("../", import.meta.url);

interface Example {
  /** `src/loop/executor.ts:26`: where its `@example` tag is. */
  at: string;
  /** The fence's info string: `ts`, `ts ignore`... */
  info: string;
  /** The prose between the tag and the fence. */
  prose: string;
  code: string;
}

async function* sourceFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) yield* sourceFiles(new URL(`${entry.name}/`, dir));
    else if (entry.isFile && entry.name.endsWith(".ts")) yield new URL(entry.name, dir);
  }
}

/** The `@example` blocks of a file's JSDoc comments. */
function examplesOf(path: string, text: string): Example[] {
  const lines = text.split("\n").map((line) => line.replace(/^\s*\*( |$)/, ""));
  const examples: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^@example\b/.test(lines[i].trim())) continue;
    let j = i + 1;
    const prose: string[] = [];
    while (j < lines.length && !lines[j].startsWith("```")) {
      if (lines[j].trim().startsWith("@") || lines[j].trim() === "/") break;
      prose.push(lines[j]);
      j++;
    }
    if (j >= lines.length || !lines[j].startsWith("```")) {
      examples.push({ at: `${path}:${i + 1}`, info: "(no fence)", prose: "", code: "" });
      continue;
    }
    const info = lines[j].slice(3).trim();
    const code: string[] = [];
    for (j++; j < lines.length && !lines[j].startsWith("```"); j++) code.push(lines[j]);
    examples.push({
      at: `${path}:${i + 1}`,
      info,
      prose: prose.join("\n").trim(),
      code: code.join("\n"),
    });
    i = j;
  }
  return examples;
}

async function allExamples(): Promise<Example[]> {
  const files = [new URL("mod.ts", ROOT)];
  for await (const file of sourceFiles(new URL("src/", ROOT))) files.push(file);
  const examples: Example[] = [];
  for (const file of files) {
    const path = file.pathname.slice(ROOT.pathname.length);
    examples.push(...examplesOf(path, await Deno.readTextFile(file)));
  }
  return examples;
}

/** What is wrong with an example, if anything. */
function problems(example: Example): string[] {
  const found: string[] = [];
  if (example.info === "ts ignore") {
    if (example.prose === "") found.push("ignored without a reason in the prose above its fence");
    return found;
  }
  if (example.info !== "ts") {
    found.push(
      `fenced \`\`\`${example.info}: \`\`\`ts runs, \`\`\`ts ignore (with a reason) does not`,
    );
    return found;
  }
  const code = example.code.replace(/(^|\s)\/\/\s.*$/gm, ""); // (comments may name ./tasks.ts)
  if (!code.includes('import assert from "node:assert/strict";')) {
    found.push('does not import assert from "node:assert/strict"');
  }
  if (!/\bassert(\.\w+)?\(/.test(code)) found.push("asserts nothing");
  if (/\bconsole\.(log|info|debug)\(/.test(code)) found.push("prints instead of asserting");
  for (const [, from, dynamic] of code.matchAll(/\bfrom\s+"([^"]+)"|\bimport\("([^"]+)"\)/g)) {
    const specifier = from ?? dynamic;
    if (specifier !== "@tandem/tandem" && !specifier.startsWith("node:")) {
      found.push(`imports "${specifier}" (import "@tandem/tandem"; serve an inline data: module)`);
    }
  }
  if (code.includes("import.meta.url")) {
    found.push("names a file beside itself by import.meta.url (a doc test has none)");
  }
  if (/BackgroundLoop\.start\(|BackgroundLoop\.start</.test(code)) {
    const closed = /\busing\s/.test(code) || /\.(close|shutdown)\(/.test(code);
    if (!closed) found.push("starts a loop it never closes (using, close(), shutdown())");
  }
  return found;
}

test("every @example of mod.ts and src/ runs, asserts what it shows, and imports @tandem/tandem", async () => {
  const examples = await allExamples();
  assert.ok(examples.length >= 50, `found ${examples.length} examples`);
  const report = examples.flatMap((example) =>
    problems(example).map((problem) => `${example.at}: ${problem}`)
  );
  assert.deepEqual(report, []);
});

test("the test task runs the examples of mod.ts and all of src/, and type-checks them", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const task: string = config.tasks.test;
  const [check, run] = task.split("&&").map((part) => part.trim().split(/\s+/));
  assert.deepEqual(check.slice(0, 3), ["deno", "check", "--doc"], task);
  for (const path of ["mod.ts", "src/"]) assert.ok(check.includes(path), `deno check ${path}`);
  assert.deepEqual(run.slice(0, 2), ["deno", "test"], task);
  assert.ok(run.includes("--doc"), task);
  for (const path of ["mod.ts", "src/", "tests/"]) {
    assert.ok(run.includes(path), `deno test ${path}`);
  }
});

test("every TypeScript block of the README is one readme_test.ts runs (```ts)", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const fences = [...readme.matchAll(/^```(.*)$/gm)].map((match) => match[1].trim());
  // Fences alternate: an opening one (with its language), then a closing one.
  const languages = fences.filter((_, i) => i % 2 === 0);
  assert.equal(fences.length % 2, 0, "every fence of the README is closed");
  const script = languages.filter((language) =>
    /^(ts|typescript|tsx|js|javascript|jsx)\b/.test(language)
  );
  assert.ok(script.length >= 5, `found ${script.length} blocks`);
  assert.deepEqual(script.filter((language) => language !== "ts"), []);
});
