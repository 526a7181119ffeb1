/**
 * Duck's loop manager: named loops, inherited by child loops, and a
 * task-type guard.
 *
 *   deno run --allow-read examples/duck_named_loops.ts
 */
import { BackgroundLoop, getLoop, LoopNotFoundError, UnknownTaskTypeError } from "../mod.ts";
import type * as Tasks from "./tasks.ts";

const TASKS = new URL("./tasks.ts", import.meta.url);

// A named loop that only takes "query" tasks.
await using _db = BackgroundLoop.start<typeof Tasks>(TASKS, { name: "db", taskTypes: ["query"] });
const db = getLoop("db");
console.log(`getLoop("db") -> the loop "${db.name}", guarding ${db.taskTypes}`);
console.log(
  `a "query" task -> ${
    JSON.stringify(await db.with({ taskType: "query" }).call("query", "SELECT * FROM users"))
  }`,
);

// The guard refuses a call without the right task type, before it reaches the worker.
try {
  await db.call("query", "DROP TABLE users");
} catch (error) {
  console.log(`an untyped task -> ${(error as Error).name}: ${(error as Error).message}`);
}
try {
  await db.with({ taskType: "admin" }).call("query", "DROP TABLE users");
} catch (error) {
  console.log(`an "admin" task -> ${error instanceof UnknownTaskTypeError ? "refused" : error}`);
}

// A child loop inherits the names of the thread that started it.
await using child = BackgroundLoop.start<typeof Tasks>(TASKS, { name: "child" });
console.log(await child.api.reportFromChild());

// An unknown name fails clearly; create: true starts it.
try {
  getLoop("cache");
} catch (error) {
  console.log(`getLoop("cache") -> ${error instanceof LoopNotFoundError ? error.message : error}`);
}
await using cache = getLoop("cache", { module: TASKS, create: true });
console.log(
  `getLoop("cache", { create: true }) -> "${cache.name}", add(2, 2) = ${await cache.call(
    "add",
    2,
    2,
  )}`,
);
