import assert from "node:assert/strict";
import { test, WAIT_MS } from "../bounded.ts";
import { BackgroundLoop } from "../../mod.ts";
import { decode, encode, MAX_NESTING } from "../../src/wire/codec.ts";
import { isPlain } from "../../src/wire/plain.ts";
import type { Route } from "../../src/future/shared.ts";
import { RecordWriter } from "../../src/wire/record.ts";
import { nest } from "../fixtures/tasks.ts";
import type * as Tasks from "../fixtures/tasks.ts";

const TASKS = new URL("../fixtures/tasks.ts", import.meta.url);

function start(): BackgroundLoop<typeof Tasks> {
  return BackgroundLoop.start<typeof Tasks>(TASKS);
}

/** The route of values without futures: nothing here may use it. */
const noRoute: Route = {
  peer: 0,
  get blocker(): never {
    throw new Error("these values hold no futures");
  },
  alive: true,
  goneError: () => new Error("these values hold no futures"),
  sendSettle: () => {
    throw new Error("these values hold no futures");
  },
};

/** What the other side gets: encoded, structured-cloned (as postMessage does), decoded. */
function roundTrip(value: unknown): unknown {
  const { data, special } = encode(value, noRoute);
  return decode(structuredClone(data), special, noRoute);
}

/** Checks for a `DataCloneError` whose message starts with `start` (and matches `rest`). */
function dataCloneError(start: string, rest?: RegExp): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof DOMException, `not a DOMException: ${error}`);
    assert.equal(error.name, "DataCloneError");
    assert.ok(error.message.startsWith(start), `"${error.message}" should start "${start}"`);
    if (rest) assert.match(error.message, rest);
    return true;
  };
}

// ---- objects of built-in classes ----

class Cache extends WeakMap<object, unknown> {}

class Point {
  constructor(readonly x: number, readonly y: number) {}
  get length(): number {
    return Math.hypot(this.x, this.y);
  }
}

test("objects of built-in classes structured clone refuses fail with DataCloneError naming the path", () => {
  const refused: [unknown, string][] = [
    [new WeakMap(), "a WeakMap"],
    [new WeakSet(), "a WeakSet"],
    [new WeakRef({}), "a WeakRef"],
    [new FinalizationRegistry(() => {}), "a FinalizationRegistry"],
    [Promise.resolve(1), "a Promise"],
    [new Cache(), "a WeakMap"],
    [new Map().keys(), "a Map Iterator"],
    [new Intl.NumberFormat(), "an Intl.NumberFormat"],
  ];
  for (const [value, what] of refused) {
    assert.throws(() => structuredClone(value), { name: "DataCloneError" });
    assert.throws(
      () => encode([{ cache: value }], noRoute, "echo() arguments"),
      dataCloneError(
        `cannot send echo() arguments[0].cache: it is ${what}, which structured clone cannot copy; `,
      ),
    );
  }
});

test("class instances and other objects structured clone copies cross as it copies them", () => {
  const values = [
    new Point(3, 4),
    Object.assign(Object.create(null), { a: 1 }),
    Object.create(WeakMap.prototype), // no WeakMap inside: structured clone copies it as {}
    new EventTarget(),
    { points: [new Point(1, 2)], when: new Date(0) },
  ];
  for (const value of values) assert.deepEqual(roundTrip(value), structuredClone(value));
});

test("a WeakMap or a Promise sent to a worker fails the call naming it, and the loop goes on", () => {
  using loop = start();
  assert.throws(
    () => loop.api.echo({ cache: new WeakMap() }).wait(WAIT_MS),
    dataCloneError(
      "cannot send echo() arguments[0].cache: it is a WeakMap, which structured clone cannot copy",
    ),
  );
  assert.throws(
    () => loop.api.echo([1, Promise.resolve(2)]).wait(WAIT_MS),
    dataCloneError("cannot send echo() arguments[0][1]: it is a Promise", /send a Future/),
  );
  assert.deepEqual(loop.api.echo(new Point(3, 4)).wait(WAIT_MS), { x: 3, y: 4 });
});

// ---- sparse arrays ----

/** `a[2 ** 32 - 2] = last`: the longest array there is, with one element. */
function longest(last: unknown): unknown[] {
  const array: unknown[] = [];
  array[2 ** 32 - 2] = last;
  return array;
}

/** `array`, failing the test when more than `limit` of its properties are looked at. */
function watched<T extends object>(array: T, limit = 100): T {
  let looks = 0;
  const look = () => {
    if (++looks > limit) {
      throw new Error(`looked at more than ${limit} properties of a sparse array`);
    }
  };
  return new Proxy(array, {
    has: (target, key) => (look(), Reflect.has(target, key)),
    get: (target, key) => (look(), Reflect.get(target, key)),
    set: (target, key, value) => (look(), Reflect.set(target, key, value)),
  });
}

test("sparse arrays cost their elements, not their length, in every path", () => {
  assert.equal(isPlain(watched(longest(1))), false);
  const writer = new RecordWriter();
  writer.begin(0);
  assert.equal(writer.append(watched(longest(1))), false, "holes are not plain data");

  // An error as the element: the encoded array holds a marker to decode.
  const { data, special } = encode(watched(longest(new RangeError("last"))), noRoute);
  assert.equal(special, true);
  const back = decode(watched(structuredClone(data) as unknown[]), special, noRoute) as unknown[];
  assert.equal(back.length, 2 ** 32 - 1);
  assert.deepEqual(Object.keys(back), [String(2 ** 32 - 2)]);
  assert.ok(back[2 ** 32 - 2] instanceof RangeError);
});

test("holes stay holes, and elements past a hole are encoded like the others", () => {
  const array: unknown[] = [new Map([[1, 2]]), undefined];
  array[5] = new TypeError("past the hole");
  array[7] = [1, , 3];
  array.length = 10;
  const back = roundTrip(array) as unknown[];
  assert.equal(back.length, 10);
  assert.deepEqual(Object.keys(back), ["0", "1", "5", "7"]);
  assert.deepEqual(back[0], new Map([[1, 2]]));
  assert.ok(back[5] instanceof TypeError);
  assert.equal((back[5] as Error).message, "past the hole");
  assert.deepEqual(back[7], [1, , 3]);
  assert.deepEqual(roundTrip(longest(1)), longest(1));
});

test("the longest sparse array crosses to a worker and back, holes and all", () => {
  using loop = start();
  const plain = loop.api.echo(longest("last")).wait(WAIT_MS) as unknown[];
  assert.equal(plain.length, 2 ** 32 - 1);
  assert.deepEqual(Object.keys(plain), [String(2 ** 32 - 2)]);
  assert.equal(plain[2 ** 32 - 2], "last");
  // With an error beside it, both sides decode the whole value, the array too.
  const marked = loop.api.echo({ array: longest(1), error: new Error("decode me") })
    .wait(WAIT_MS) as { array: unknown[]; error: unknown };
  assert.deepEqual(Object.keys(marked.array), [String(2 ** 32 - 2)]);
  assert.ok(marked.error instanceof Error);
});

// ---- nesting ----

/** `levels` values of one kind nested in one another, around `leaf`. */
function nestKind(kind: string, levels: number, leaf: unknown = 0): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) {
    if (kind === "array") value = [value];
    else if (kind === "map") value = new Map([["a", value]]);
    else if (kind === "set") value = new Set([value]);
    else if (kind === "error") value = new Error("link", { cause: value });
    else value = { a: value };
  }
  return value;
}

test(`values nest up to ${MAX_NESTING} levels; deeper fails with DataCloneError, never a stack overflow`, () => {
  for (const kind of ["object", "array", "map", "set", "error"]) {
    const deepest = nestKind(kind, MAX_NESTING);
    assert.deepEqual(roundTrip(deepest), structuredClone(deepest), kind);
    for (const levels of [MAX_NESTING + 1, 100_000]) {
      assert.throws(
        () => encode(nestKind(kind, levels), noRoute, "echo() arguments"),
        dataCloneError("cannot send echo() arguments", /: nested deeper than 500 levels; flatten/),
        `${kind}, ${levels} levels`,
      );
    }
  }
});

test("the message of a value nested too deep shows the start of its path, and stays short", () => {
  assert.throws(
    () => encode([nest(MAX_NESTING)], noRoute, "echo() arguments"),
    (error) => {
      assert.match(
        (error as Error).message,
        /^cannot send echo\(\) arguments\[0\](\.a)+\.?…: nested/,
      );
      assert.ok((error as Error).message.length < 200);
      return true;
    },
  );
});

test(`${MAX_NESTING} levels cross to a worker and back; deeper fails the call, either way`, () => {
  using loop = start();
  // The arguments are a level, and so is the error at the bottom, which makes
  // both sides decode.
  const deepest = nest(MAX_NESTING - 2, new Error("bottom"));
  let back = loop.api.echo(deepest).wait(WAIT_MS);
  for (let i = 0; i < MAX_NESTING - 2; i++) back = (back as { a: unknown }).a;
  assert.ok(back instanceof Error);
  assert.equal(back.message, "bottom");
  const errors = nestKind("error", MAX_NESTING - 1);
  assert.deepEqual(loop.api.echo(errors).wait(WAIT_MS), errors);

  for (const levels of [MAX_NESTING, 100_000]) {
    assert.throws(
      () => loop.api.echo(nest(levels)).wait(WAIT_MS),
      dataCloneError("cannot send echo() arguments[0].a.a", /nested deeper than 500 levels/),
    );
  }
  assert.throws(
    () => loop.api.nest(MAX_NESTING + 1).wait(WAIT_MS),
    dataCloneError("cannot send the result of nest().a.a", /nested deeper than 500 levels/),
  );
  assert.deepEqual(loop.api.nest(MAX_NESTING).wait(WAIT_MS), nest(MAX_NESTING));
});
