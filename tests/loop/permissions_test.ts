import assert from "node:assert/strict";
import { runDeno, test } from "../bounded.ts";
import { BackgroundLoop } from "../../mod.ts";
import type * as Tasks from "../fixtures/tasks.ts";

const TASKS = new URL("../fixtures/tasks.ts", import.meta.url);

test("start({ permissions }) runs the workers with fewer permissions than the program", async () => {
  // (deno task test runs with --unstable-worker-options and --allow-env.)
  await using narrow = BackgroundLoop.start<typeof Tasks>(TASKS, { permissions: { env: false } });
  const refused = await narrow.api.readEnv("HOME").then(() => undefined, (error) => error);
  assert.ok(refused instanceof Error);
  assert.equal((refused as Error).name, "NotCapable");
  assert.equal(await narrow.api.add(1, 2), 3, "its own module still loads");
  await using inheriting = BackgroundLoop.start<typeof Tasks>(TASKS);
  assert.equal(await inheriting.api.readEnv("HOME"), Deno.env.get("HOME"));
});

test("without --unstable-worker-options, start({ permissions }) fails with an error that says so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tandem-permissions-" });
  try {
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { BackgroundLoop } from "${new URL("../../mod.ts", import.meta.url).href}";\n` +
        `try {\n` +
        `  BackgroundLoop.start("${TASKS.href}", { permissions: "none" });\n` +
        `} catch (error) {\n` +
        `  console.log(String(error));\n` +
        `}\n`,
    );
    const { code, stdout, stderr } = await runDeno(
      // (tandem can tell that the flag is missing from the command line,
      // which Deno lets a program read only with --allow-all.)
      ["run", "--no-check", "--allow-all", `${dir}/main.ts`],
      { cwd: dir },
    );
    assert.match(stdout, /TypeError: .*needs Deno's --unstable-worker-options flag/, stderr);
    assert.equal(code, 0, "the program went on (Deno would have ended it)");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
