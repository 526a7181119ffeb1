/**
 * The house's rules, checked on every file of `src/` and on `mod.ts`:
 *
 * - Layers: a folder imports only itself and the layers below it (the order
 *   is {@linkcode LAYERS}, lowest first). Type-only imports count too.
 * - No cycles: no file imports a file that imports it back, directly or
 *   through others.
 * - The runtime seam: `Deno.` and the global `Worker` appear only in
 *   `src/platform/`, and no file imports a `node:` module (the Deno platform
 *   reaches the built-ins it needs with `process.getBuiltinModule`), so a
 *   browser can load every file.
 */
import assert from "node:assert/strict";
import { test } from "./bounded.ts";

const ROOT = new URL("../", import.meta.url);

/** Lowest first: each may import those before it, never those after. */
const LAYERS = [
  "src/errors.ts",
  "src/release_once.ts",
  "src/validate.ts",
  "src/platform",
  "src/future",
  "src/scheduler",
  "src/thread",
  "src/wire",
  "src/loop",
  "src/primitives",
  "src/worker.ts",
  "mod.ts",
];

interface Import {
  target: string;
  dynamic: boolean;
}

function layerOf(file: string): number {
  const at = LAYERS.findIndex((layer) => file === layer || file.startsWith(`${layer}/`));
  if (at < 0) throw new Error(`${file} is in no layer: add its folder to LAYERS`);
  return at;
}

/** The code without its comments (strings kept: a URL's `//` is not a comment). */
function code(text: string): string {
  return text.replace(
    /("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g,
    (_match, literal) => literal ?? "",
  );
}

function importsOf(file: string, text: string): Import[] {
  const found: Import[] = [];
  const pattern =
    /(?:^|[;\n}])\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (const match of code(text).matchAll(pattern)) {
    const specifier = match[1] ?? match[2];
    const dynamic = match[2] !== undefined;
    if (specifier.startsWith(".")) {
      const url = new URL(specifier, new URL(file, ROOT));
      found.push({ target: url.pathname.slice(ROOT.pathname.length), dynamic });
    } else found.push({ target: specifier, dynamic });
  }
  return found;
}

async function sources(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  files.set("mod.ts", await Deno.readTextFile(new URL("mod.ts", ROOT)));
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) {
        files.set(path, await Deno.readTextFile(new URL(path, ROOT)));
      }
    }
  };
  await walk("src");
  return files;
}

const files = await sources();
const graph = new Map([...files].map(([file, text]) => [file, importsOf(file, text)]));

test("every import in src/ goes to its own layer or one below it", () => {
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    for (const { target } of imports) {
      if (!files.has(target)) continue;
      const [from, to] = [layerOf(file), layerOf(target)];
      const sameFolder = file.slice(0, file.lastIndexOf("/")) ===
        target.slice(0, target.lastIndexOf("/"));
      if (to > from || (to === from && !sameFolder && LAYERS[from].endsWith(".ts"))) {
        wrong.push(`${file} imports ${target} (${LAYERS[to]} is above ${LAYERS[from]})`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test("no file imports a file that imports it back", () => {
  const cycles: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "visiting");
    path.push(file);
    for (const { target } of graph.get(file) ?? []) {
      if (!files.has(target)) continue;
      if (state.get(target) === "visiting") {
        cycles.push([...path.slice(path.indexOf(target)), target].join(" → "));
      } else if (!state.has(target)) visit(target);
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of files.keys()) if (!state.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});

test("only src/platform/ knows the runtime: Deno., node: and Worker appear nowhere else", () => {
  const wrong: string[] = [];
  for (const [file, text] of files) {
    if (file.startsWith("src/platform/")) continue;
    const body = code(text);
    if (/\bDeno\./.test(body)) wrong.push(`${file} uses Deno.`);
    if (/\bnew\s+Worker\b/.test(body)) wrong.push(`${file} starts a Worker`);
    for (const { target } of graph.get(file)!) {
      if (target.startsWith("node:")) wrong.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("no file imports a node: module, not even src/platform/ (a browser could not load it)", () => {
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    for (const { target } of imports) {
      if (target.startsWith("node:")) wrong.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("no top-level await in src/: a worker's first message would arrive before its onmessage", () => {
  const wrong: string[] = [];
  for (const [file, text] of files) {
    // (deno fmt indents every line inside a function: a line at column 0 is top level.)
    for (const line of code(text).split("\n")) {
      if (/^\S.*\bawait\b/.test(line)) wrong.push(`${file}: ${line.trim()}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("the rules catch what they forbid", () => {
  const sample = 'import { a } from "./x.ts";\n// import "node:fs";\nconst u = "http://x";\n' +
    'export type { B } from "../y.ts";\nawait import("./z.ts");\nDeno.exit();';
  const found = importsOf("src/loop/f.ts", sample);
  assert.deepEqual(found, [
    { target: "src/loop/x.ts", dynamic: false },
    { target: "src/y.ts", dynamic: false },
    { target: "src/loop/z.ts", dynamic: true },
  ]);
  assert.match(code(sample), /Deno\.exit/);
  assert.doesNotMatch(code(sample), /node:fs/);
  assert.ok(layerOf("src/scheduler/run.ts") < layerOf("src/thread/hub.ts"));
});
