// deno-lint-ignore-file no-import-prefix -- bench-only packages are pinned here, not in deno.json,
// so that `deno task test` and `deno task demo` never fetch them.
import { runAsWorker } from "npm:synckit@0.11.8";
runAsWorker((a, b) => a + b);
