import assert from "node:assert/strict";
import { test } from "../bounded.ts";
import {
  BackgroundLoop,
  defaultExecutor,
  getLoop,
  LoopClosedError,
  LoopNotFoundError,
  UnknownTaskTypeError,
} from "../../mod.ts";
import type * as Named from "../fixtures/named.ts";

const TASKS = new URL("../fixtures/tasks.ts", import.meta.url);
const NAMED = new URL("../fixtures/named.ts", import.meta.url);

test("named loops: register, look up, create on demand, unregister on close", async () => {
  const io = BackgroundLoop.start(TASKS, { name: "io" });
  assert.equal(getLoop("io"), io);
  assert.throws(() => BackgroundLoop.start(TASKS, { name: "io" }), /already registered/);
  assert.throws(
    () => getLoop("nope"),
    (error) => error instanceof LoopNotFoundError && /"nope".*io/.test(error.message),
  );
  const made = getLoop("made", { module: TASKS, create: true });
  assert.equal(getLoop("made"), made);
  assert.equal(await made.call("add", 1, 2), 3);
  await io.close();
  await made.close();
  assert.throws(() => getLoop("io"), LoopNotFoundError);
  assert.throws(() => getLoop("x", { create: true }), TypeError);
});

test("a worker reaches the loops its ancestors registered; calls reach the same loop", async () => {
  await using _shared = BackgroundLoop.start(TASKS, { name: "shared", taskTypes: ["cpu"] });
  await using child = BackgroundLoop.start<typeof Named>(NAMED);
  assert.equal(await child.api.lookUp("shared"), "shared");
  assert.equal(await child.api.lookUp("unknown"), "LoopNotFoundError");
  assert.equal(await child.api.callTyped("shared", "cpu", "whoami"), "shared"); // its worker
  // The guard travels with the loop.
  await assert.rejects(
    () => Promise.resolve(child.api.callNamed("shared", "whoami")),
    UnknownTaskTypeError,
  );
  await assert.rejects(
    () => Promise.resolve(child.api.callTyped("shared", "io", "whoami")),
    UnknownTaskTypeError,
  );
});

test("inheritance reaches grandchildren; a worker's own name shadows the inherited one", async () => {
  await using top = BackgroundLoop.start(TASKS, { name: "top" });
  await using child = BackgroundLoop.start<typeof Named>(NAMED);
  assert.equal(await child.api.viaGrandchild("top", "whoami"), "top");
  assert.equal(await child.api.callNamed("top", "add", 2, 2), 4);
  assert.equal(await child.api.shadow("top"), true);
  await top.close();
  await assert.rejects(
    () => Promise.resolve(child.api.callNamed("top", "whoami")),
    (error) => error instanceof LoopNotFoundError || error instanceof LoopClosedError,
  );
});

test("defaultExecutor and getLoop() serve URL#export; toThread keeps a worker serving", async () => {
  const add = new URL("../fixtures/tasks.ts#add", import.meta.url);
  assert.equal(await defaultExecutor().submit(add, 2, 3), 5);
  assert.deepEqual(await defaultExecutor().map(add, [1, 2, 3]), [NaN, NaN, NaN]);
  assert.equal(getLoop().name, "default");
  await using worker = BackgroundLoop.start<typeof Named>(NAMED);
  const slow = worker.api.offThread(50);
  assert.equal(await worker.api.ping(), "pong"); // answered while the spin runs elsewhere
  assert.equal(typeof (await slow), "number");
  await defaultExecutor().shutdown();
});
