import assert from "node:assert/strict";
import { test, WAIT_MS, within } from "../bounded.ts";
import { BackgroundLoop, ControlHost, Future, transfer } from "../../mod.ts";
import type * as Moves from "../fixtures/moves.ts";

const MOVES = new URL("../fixtures/moves.ts", import.meta.url);
const MiB = 1 << 20;

function start(): BackgroundLoop<typeof Moves> {
  return BackgroundLoop.start<typeof Moves>(MOVES);
}

function counting(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = i & 0xff;
  return bytes;
}

function assertInverted(bytes: Uint8Array, n: number): void {
  assert.equal(bytes.length, n);
  for (const i of [0, 1, 255, n >> 1, n - 1].filter((i) => i < n)) {
    assert.equal(bytes[i], 255 - (i & 0xff), `byte ${i}`);
  }
}

async function dataCloneError(future: PromiseLike<unknown>, names: RegExp): Promise<void> {
  await assert.rejects(Promise.resolve(future), (error: unknown) => {
    assert.ok(error instanceof DOMException, String(error));
    assert.equal(error.name, "DataCloneError");
    assert.match(error.message, names);
    return true;
  });
}

test("transfer() moves a buffer to a background call and back, awaited and blocking", async () => {
  using loop = start();
  for (const n of [16, 3 * MiB]) {
    const sent = counting(n);
    const back = await loop.api.invert(transfer(sent, [sent.buffer]), true);
    assert.equal((sent.buffer as ArrayBuffer).detached, true, "the caller's buffer left");
    assertInverted(back, n);
    assert.equal(loop.api.lastReturnedDetached().wait(WAIT_MS), true, "the worker's left too");

    const again = counting(n);
    const blocked = loop.api.invert(transfer(again, [again.buffer]), true).wait(WAIT_MS);
    assert.equal((again.buffer as ArrayBuffer).detached, true);
    assertInverted(blocked, n);
  }
});

test("unmarked values are copied, large ones too, views keeping their offset and sharing", async () => {
  using loop = start();
  for (const n of [100, 5 * MiB]) {
    const sent = counting(n);
    const back = await loop.api.invert(sent, false);
    assert.equal((sent.buffer as ArrayBuffer).detached, false);
    assert.equal(sent[1], 1, "the caller's copy is untouched");
    assertInverted(back, n);
    assert.equal(loop.api.lastReturnedDetached().wait(WAIT_MS), false);
  }
  const buffer = new ArrayBuffer(MiB);
  const views = [
    new Uint8Array(buffer, 8, 16),
    new Float64Array(buffer, 64, 4),
    new DataView(buffer, 3),
  ] as const;
  views[1][0] = 1.5;
  const [bytes, floats, data] = loop.call<typeof views>("echo", views).wait(WAIT_MS);
  assert.deepEqual([bytes.byteOffset, bytes.length, floats.byteOffset, floats[0]], [
    8,
    16,
    64,
    1.5,
  ]);
  assert.equal(data.byteOffset, 3);
  assert.equal(bytes.buffer, floats.buffer, "views of one buffer still share one");
  assert.equal(data.buffer, floats.buffer);
});

test("a bad transfer fails that call with a DataCloneError naming it, and the loop serves on", async () => {
  using loop = start();
  const bytes = counting(64);
  await loop.api.invert(transfer(bytes, [bytes.buffer]), true);
  await dataCloneError(
    loop.call("echo", { moved: bytes.buffer }),
    /arguments\[0\]\.moved: its ArrayBuffer is detached/,
  );
  await dataCloneError(
    loop.api.invert(transfer(bytes, [bytes.buffer]), true),
    /arguments\[0\]'s transfer list \[0\]: the ArrayBuffer is detached/,
  );
  const twice = counting(64);
  await dataCloneError(
    loop.api.invert(transfer(twice, [twice.buffer, twice.buffer]), true),
    /arguments\[0\]'s transfer list \[1\]: it is listed twice/,
  );
  const view = counting(64);
  await dataCloneError(
    loop.call("invert", transfer({ view }, [view as unknown as ArrayBuffer]), true),
    /transfer list \[0\].*view.*\.buffer/,
  );
  const shared = new SharedArrayBuffer(8);
  await dataCloneError(
    loop.call("invert", transfer({ shared }, [shared]), true),
    /SharedArrayBuffer/,
  );
  const kept = counting(64);
  await dataCloneError(
    loop.call("invert", transfer({ kept }, [new ArrayBuffer(8)]), true),
    /listed for transfer but is not part of the value/,
  );
  assert.equal((kept.buffer as ArrayBuffer).detached, false, "nothing moved when the send failed");
  const { port1, port2 } = new MessageChannel();
  await dataCloneError(
    loop.call("greet", { port: port1 }),
    /arguments\[0\]\.port: a MessagePort cannot be copied, only moved/,
  );
  port1.close();
  port2.close();
  assert.throws(
    () => transfer({ plain: 1 }, [new ArrayBuffer(1)]),
    /holds nothing that can be moved/,
  );
  for (const how of ["twice", "view", "detached", "elsewhere"] as const) {
    await dataCloneError(loop.api.returnBadTransfer(how), /the result of returnBadTransfer\(\)/);
  }
  assert.equal(loop.api.invert(new Uint8Array([0]), false).wait(WAIT_MS)[0], 255, "still serving");
});

test("a MessagePort listed for transfer moves to the worker", async () => {
  using loop = start();
  const { port1, port2 } = new MessageChannel();
  const heard = new Promise((resolve) => (port2.onmessage = (event) => resolve(event.data)));
  assert.equal(await loop.api.greet(transfer({ port: port1 }, [port1])), "sent");
  assert.equal(await heard, "hello");
  port2.close();
});

test("a shared future settled in a worker with transfer() receives the moved bytes", async () => {
  using loop = start();
  const { future, resolve } = Future.withResolvers<Uint8Array>();
  assert.equal(await loop.api.resolveMoved(resolve, 2 * MiB), true, "the worker's copy left");
  const bytes = future.wait(WAIT_MS);
  assert.equal(bytes.length, 2 * MiB);
  assert.equal(bytes[MiB], 9);
});

test("a ControlClient call's argument and its answer move with transfer()", async () => {
  using loop = start();
  let taken: Uint8Array | undefined;
  using host = new ControlHost({
    take(bytes: Uint8Array) {
      taken = bytes;
      const answer = new Uint8Array(bytes.length).fill(7);
      return transfer(answer, [answer.buffer]);
    },
  });
  const asked = loop.api.askHost(host.client, MiB);
  while (taken === undefined) {
    host.process({ timeoutMs: WAIT_MS });
  }
  assert.equal(taken.length, MiB);
  assert.equal(taken[5], 1);
  assert.deepEqual(await asked, [true, MiB, 7]);
});

test("a large plain value crosses exactly, its every kind of value kept", async () => {
  using loop = start();
  const records = Array.from({ length: 20_000 }, (_, i) => ({
    id: i,
    name: `record ${i} \ud800`,
    score: [NaN, -0, Infinity, 1 / 3][i % 4],
    gone: undefined,
    tags: i % 2 ? ["a", "b"] : [],
  }));
  assert.deepEqual(await loop.api.echo(records), records);
  assert.deepEqual(loop.api.echo(records).wait(WAIT_MS), records);
});

test("a shared future settled with a bad transfer fails on the other side, naming it", async () => {
  using loop = start();
  const { future, resolve } = Future.withResolvers<Uint8Array>();
  assert.equal(await loop.api.resolveBadly(resolve), "resolved");
  await dataCloneError(
    within(future, "the settle"),
    /the outcome of a shared future's transfer list \[1\]: it is listed twice/,
  );
});

test("a mark is spent by the send it was made for, whether it succeeded or not", async () => {
  using loop = start();
  const holder = { bytes: counting(32) };
  await loop.call("echo", transfer(holder, [holder.bytes.buffer]));
  assert.equal((holder.bytes.buffer as ArrayBuffer).detached, true);
  holder.bytes = counting(32); // a new buffer, sent unmarked: copied
  const copied = await loop.call<typeof holder>("echo", holder);
  assert.equal(copied.bytes[31], 31);
  assert.equal((holder.bytes.buffer as ArrayBuffer).detached, false);
  const kept = { bytes: counting(8) };
  await dataCloneError(loop.call("echo", transfer(kept, [new ArrayBuffer(1)])), /not part of/);
  assert.equal((await loop.call<typeof kept>("echo", kept)).bytes[7], 7, "sent again: copied");
});

test("typed-array subclasses cross as their built-in class; a non-transferable listed moves nothing", async () => {
  using loop = start();
  class Bytes extends Uint8Array {}
  const back = await loop.call<Uint8Array>("echo", new Bytes([1, 2, 3]));
  assert.deepEqual([...back], [1, 2, 3]);
  assert.equal(Object.getPrototypeOf(back), Uint8Array.prototype);
  const buffer = new ArrayBuffer(8);
  const meta = { note: "listed by mistake" };
  await dataCloneError(
    loop.call("echo", transfer({ buffer, meta }, [buffer, meta as unknown as ArrayBuffer])),
    /transfer list \[1\]: an Object cannot be moved; tandem moves ArrayBuffers and MessagePorts/,
  );
  assert.equal(buffer.detached, false, "the caller's bytes are kept");
  const stream = new ReadableStream();
  await dataCloneError(
    loop.call("echo", transfer({ stream }, [stream as unknown as ArrayBuffer])),
    /a ReadableStream cannot be moved/,
  );
});

test("a future shared with two threads and settled with a moved value reaches both, copied", async () => {
  using a = start();
  using b = start();
  const { future, resolve } = Future.withResolvers<Uint8Array>();
  const held = [Future.withResolvers<true>(), Future.withResolvers<true>()];
  const lengths = [a, b].map((loop, i) => loop.api.lengthOf(future, held[i].resolve));
  for (const { future: holding } of held) await within(holding, "the worker to hold the future");
  const bytes = new Uint8Array(1024);
  resolve(transfer(bytes, [bytes.buffer]));
  assert.deepEqual(await within(Promise.all(lengths), "both"), ["1024 bytes", "1024 bytes"]);
  assert.equal(future.wait(0).length, 1024, "and this thread keeps its bytes");
});
