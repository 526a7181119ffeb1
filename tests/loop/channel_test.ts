import assert from "node:assert/strict";
import { WorkerCrashedError } from "../../src/errors.ts";
import { Channel } from "../../src/loop/channel.ts";
import { Hub } from "../../src/loop/hub.ts";

const bell = () => ({ buffer: new SharedArrayBuffer(4), offset: 0 });

Deno.test("a blocking wait gives up on a worker that never starts, with WorkerCrashedError", () => {
  const { port1, port2 } = new MessageChannel();
  const { channel } = Channel.open(new Hub(bell()), port1, port2, bell(), 20);
  assert.throws(
    () => channel.call("add", [1, 2], "add()", 0).wait(),
    (error) =>
      error instanceof WorkerCrashedError && /did not start within 0.02 s/.test(error.message),
  );
  assert.equal(channel.alive, false);
  channel.close();
  port2.close();
});

Deno.test("a channel carries calls, their replies and its close", () => {
  const { port1, port2 } = new MessageChannel();
  const parentHub = new Hub(bell()), workerHub = new Hub(bell());
  const { channel, ends } = Channel.open(parentHub, port1, port2, workerHub.bell);
  const worker = Channel.accept(workerHub, ends);
  worker.handler = {
    call: (from, id, fn, args) => from.reply(id, true, `${fn}:${args.join("+")}`, fn),
    cancel: () => {},
  };
  worker.markReady();
  const first = channel.call("add", [1, 2], "add()", 0);
  const second = channel.call("mul", [3, 4], "mul()", 0);
  workerHub.pump();
  assert.equal(second.wait(), "mul:3+4");
  assert.equal(first.wait(), "add:1+2");
  channel.close();
  workerHub.pump();
  assert.equal(worker.alive, false, "the worker side hears of the close");
  port2.close();
});

Deno.test("a message the port's serializer fails on (a RangeError for depth) fails the call with DataCloneError naming it", () => {
  const { port2 } = new MessageChannel();
  const overflowing = {
    postMessage() {
      throw new RangeError("Maximum call stack size exceeded");
    },
    close() {},
  } as unknown as MessagePort;
  const { channel } = Channel.open(new Hub(bell()), overflowing, port2, bell());
  // A Map is not plain data: it goes through the port.
  assert.throws(
    () => channel.call("echo", [new Map()], "echo()", 0).wait(1_000),
    (error) =>
      error instanceof DOMException && error.name === "DataCloneError" &&
      error.message === "cannot send echo() arguments: Maximum call stack size exceeded",
  );
  channel.close();
  port2.close();
});
