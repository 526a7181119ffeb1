import assert from "node:assert/strict";
import { test, WAIT_MS } from "../bounded.ts";
import { WorkerCrashedError } from "../../src/errors.ts";
import { Channel } from "../../src/wire/channel.ts";
import { Hub } from "../../src/thread/hub.ts";
import { shareables } from "../../src/wire/codec.ts";

const bell = () => ({ buffer: new SharedArrayBuffer(4), offset: 0 });

/** Both sides of a channel, on this thread; the worker's side answers with `answer`. */
function connected(answer: (fn: string, args: unknown[]) => unknown) {
  const { port1, port2 } = new MessageChannel();
  const parentHub = new Hub(bell()), workerHub = new Hub(bell());
  const { channel, ends } = Channel.open(parentHub, port1, port2, workerHub.bell);
  const worker = Channel.accept(workerHub, ends);
  worker.handler = {
    call: (from, id, fn, args) => from.reply(id, true, answer(fn, args), fn),
    cancel: () => {},
  };
  worker.markReady();
  return { channel, worker, parentHub, workerHub, port2 };
}

test("a blocking wait gives up on a worker that never starts, with WorkerCrashedError", () => {
  const { port1, port2 } = new MessageChannel();
  const { channel } = Channel.open(new Hub(bell()), port1, port2, bell(), 20);
  assert.throws(
    () => channel.call("add", [1, 2], "add()", 0).wait(WAIT_MS),
    (error) =>
      error instanceof WorkerCrashedError && /did not start within 0.02 s/.test(error.message),
  );
  assert.equal(channel.alive, false);
  channel.close(() => {});
  channel.forsake(); // nobody there to say it stopped
  port2.close();
});

test("a channel carries calls, their replies, and a close the worker acknowledges", () => {
  const { channel, worker, parentHub, workerHub, port2 } = connected((fn, args) =>
    `${fn}:${args.join("+")}`
  );
  const first = channel.call("add", [1, 2], "add()", 0);
  const second = channel.call("mul", [3, 4], "mul()", 0);
  workerHub.pump();
  assert.equal(second.wait(WAIT_MS), "mul:3+4");
  assert.equal(first.wait(WAIT_MS), "add:1+2");
  const steps: string[] = [];
  worker.onGone = () => {
    steps.push("the worker hears of the close");
    worker.markStopped();
  };
  channel.close(() => steps.push("the parent hears it stopped"));
  assert.deepEqual(steps, []);
  workerHub.pump();
  assert.equal(worker.alive, false, "the worker side sends nothing more");
  parentHub.pump();
  assert.deepEqual(steps, ["the worker hears of the close", "the parent hears it stopped"]);
  port2.close();
});

test("a message the port's serializer fails on (a RangeError for depth) fails the call with DataCloneError naming it", () => {
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
    () => channel.call("echo", [new Map()], "echo()", 0).wait(WAIT_MS),
    (error) =>
      error instanceof DOMException && error.name === "DataCloneError" &&
      error.message === "cannot send echo() arguments: Maximum call stack size exceeded",
  );
  channel.close(() => {});
  channel.forsake(); // no worker to say it stopped
  port2.close();
});

test("a value the receiver cannot rebuild fails its call with DataCloneError, and the channel goes on", () => {
  const { channel, workerHub, port2 } = connected((_fn, args) => args.length);
  // A shared object of a kind no thread knows how to revive.
  const stranger = new (class Stranger {})();
  shareables.set(stranger, () => ({ kind: "Stranger", buffer: new SharedArrayBuffer(4) }));
  const refused = channel.call("echo", [stranger], "echo()", 0);
  workerHub.pump();
  assert.throws(
    () => refused.wait(WAIT_MS),
    (error) =>
      error instanceof DOMException && error.name === "DataCloneError" &&
      /cannot receive echo\(\) arguments: .*no reviver for shared Stranger/.test(error.message),
  );
  const next = channel.call("echo", [1, 2], "echo()", 0);
  workerHub.pump();
  assert.equal(next.wait(WAIT_MS), 2);
  channel.close(() => {});
  channel.forsake();
  port2.close();
});
