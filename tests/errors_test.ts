import assert from "node:assert/strict";
import { test } from "./bounded.ts";
import * as errors from "../src/errors.ts";

const NAMES = [
  "CancelledError",
  "TimeoutError",
  "DeadlockError",
  "WorkerCrashedError",
  "LoopClosedError",
  "UnknownTaskTypeError",
  "LoopNotFoundError",
  "QueueClosedError",
] as const;

test("every error class extends Error and carries a matching name", () => {
  for (const name of NAMES) {
    const error = new errors[name]("message", { cause: 1 });
    assert.ok(error instanceof Error);
    assert.ok(error instanceof errors[name]);
    assert.equal(error.name, name);
    assert.equal(error.message, "message");
    assert.equal(error.cause, 1);
    assert.match(String(error), new RegExp(`^${name}: message`));
  }
});

test("instanceof works across two copies of the module, and not across classes", async () => {
  // A different specifier is a separate module instance: a second copy.
  const copy = await import("../src/errors.ts?second-copy") as typeof errors;
  assert.notEqual(copy.TimeoutError, errors.TimeoutError);
  for (const name of NAMES) {
    assert.ok(new copy[name]() instanceof errors[name], name);
    assert.ok(new errors[name]() instanceof copy[name], name);
  }
  assert.ok(!(new errors.TimeoutError() instanceof errors.CancelledError));
  assert.ok(!(new Error() instanceof errors.TimeoutError));
  assert.ok(!((null as unknown as object) instanceof errors.TimeoutError));
});

test("CancelledError keeps its reason", () => {
  assert.equal(new errors.CancelledError("x", { reason: "why" }).reason, "why");
});
