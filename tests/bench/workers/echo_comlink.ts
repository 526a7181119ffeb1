/// <reference lib="deno.worker" />
// deno-lint-ignore-file no-import-prefix -- bench-only packages are pinned here, not in deno.json,
// so that `deno task test` and `deno task demo` never fetch them.
import * as Comlink from "npm:comlink@4.4.2";
Comlink.expose({
  echoMoved: (bytes: Uint8Array) => Comlink.transfer(bytes, [bytes.buffer as ArrayBuffer]),
});
