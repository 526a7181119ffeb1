// deno-lint-ignore-file no-import-prefix -- bench-only packages are pinned here, not in deno.json,
// so that `deno task test` and `deno task demo` never fetch them.
import Piscina from "npm:piscina@5.1.4";
// Piscina's worker: moves the bytes it got back.
export default (bytes) => Piscina.move(bytes);
