import assert from "node:assert/strict";
import { runDeno, test, WAIT_MS } from "../bounded.ts";

const ROOT = new URL("../../", import.meta.url);

/**
 * Serves this repository over HTTP on loopback, as a registry would serve
 * the published module.
 */
function serveRepository(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    try {
      const body = await Deno.readFile(new URL(`.${path}`, ROOT));
      return new Response(body, { headers: { "content-type": "application/typescript" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

test("a program importing tandem from a server, cache empty, gets its first blocking call answered", async () => {
  await using server = serveRepository();
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const dir = await Deno.makeTempDir({ prefix: "tandem-remote-" });
  try {
    await Deno.writeTextFile(
      `${dir}/tasks.ts`,
      "export function add(a: number, b: number) { return a + b; }\n",
    );
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { BackgroundLoop } from "${origin}/mod.ts";\n` +
        `const loop = BackgroundLoop.start(new URL("./tasks.ts", import.meta.url));\n` +
        `console.log(loop.call("add", 1, 2).wait(${WAIT_MS}));\n` +
        `await loop.close();\n`,
    );
    const { code, stdout, stderr } = await runDeno(
      [
        "run",
        "--no-check",
        `--allow-import=127.0.0.1:${server.addr.port}`,
        `--allow-read=${dir}`,
        `${dir}/main.ts`,
      ],
      { env: { DENO_DIR: `${dir}/cache` } }, // an empty module cache
    );
    assert.equal(stdout.trim(), "3", `exit ${code}; stderr:\n${stderr}`);
    assert.equal(code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
