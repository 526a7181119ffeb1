// deno-lint-ignore-file no-import-prefix -- bench-only packages are pinned here, not in deno.json,
// so that `deno task test` and `deno task demo` never fetch them.
/**
 * The scheduler against a bare generator, native async/await and effection,
 * in one run: `deno task bench` (or `deno bench --no-check -A
 * tests/bench/scheduler_bench.ts`). Each case of the first three groups does
 * 1 000 of the thing it names, so the ratios in a group are per operation.
 */
import * as effection from "npm:effection@4.1.1";
import { Future, run, runAsync, scope, sleep } from "../../mod.ts";

const N = 1_000;
const settled = Future.resolve(1);
const resolvedPromise = Promise.resolve(1);

// ---- yield* of a settled future ----

function* forever(): Generator<number, never, unknown> {
  for (;;) yield 1;
}
const bare = forever();

Deno.bench("bare generator next()", { group: "yield* settled", baseline: true }, () => {
  let sum = 0;
  for (let i = 0; i < N; i++) sum += bare.next().value;
  if (sum !== N) throw new Error("bad sum");
});

Deno.bench("tandem yield* settled Future (in run)", { group: "yield* settled" }, () => {
  const sum = run(function* () {
    let sum = 0;
    for (let i = 0; i < N; i++) sum += yield* settled;
    return sum;
  });
  if (sum !== N) throw new Error("bad sum");
});

Deno.bench("native await of a resolved promise", { group: "yield* settled" }, async () => {
  let sum = 0;
  for (let i = 0; i < N; i++) sum += await resolvedPromise;
  if (sum !== N) throw new Error("bad sum");
});

const resolvedAction = () =>
  effection.action<number>((resolve) => {
    resolve(1);
    return () => {};
  });
Deno.bench("effection yield* resolved action", { group: "yield* settled" }, async () => {
  const sum = await effection.run(function* () {
    let sum = 0;
    for (let i = 0; i < N; i++) sum += yield* resolvedAction();
    return sum;
  });
  if (sum !== N) throw new Error("bad sum");
});

// ---- run() of a trivial body ----

function* trivial() {
  return 1;
}

Deno.bench("tandem run() ×1000", { group: "run()", baseline: true }, () => {
  for (let i = 0; i < N; i++) run(trivial);
});

Deno.bench("tandem await runAsync() ×1000", { group: "run()" }, async () => {
  for (let i = 0; i < N; i++) await runAsync(trivial);
});

Deno.bench("native async call awaited ×1000", { group: "run()" }, async () => {
  // deno-lint-ignore require-await
  const f = async () => 1;
  for (let i = 0; i < N; i++) await f();
});

Deno.bench("effection await run() ×1000", { group: "run()" }, async () => {
  for (let i = 0; i < N; i++) await effection.run(trivial);
});

// ---- spawn + join of a trivial child ----

Deno.bench("tandem spawn + join ×1000", { group: "spawn + join", baseline: true }, () => {
  run(() =>
    scope(function* (s) {
      for (let i = 0; i < N; i++) yield* s.spawn(trivial);
    })
  );
});

Deno.bench("native async child awaited ×1000", { group: "spawn + join" }, async () => {
  // deno-lint-ignore require-await
  const child = async () => 1;
  for (let i = 0; i < N; i++) await child();
});

Deno.bench("effection spawn + join ×1000", { group: "spawn + join" }, async () => {
  await effection.run(function* () {
    for (let i = 0; i < N; i++) {
      const task = yield* effection.spawn(trivial);
      yield* task;
    }
  });
});

// ---- 100 000 tasks each sleeping 1 ms ----

const MANY = 100_000;
const heavy = { group: "100k sleeps of 1 ms", n: 10, warmup: 2 };

Deno.bench("native 100k setTimeout(1) promises", { ...heavy, baseline: true }, async () => {
  await Promise.all(
    Array.from({ length: MANY }, () => new Promise((resolve) => setTimeout(resolve, 1))),
  );
});

function* manySleepers() {
  yield* scope(function* (s) {
    for (let i = 0; i < MANY; i++) s.spawn(() => sleep(1));
  });
}

Deno.bench("tandem run(): 100k tasks sleep(1) in one scope", heavy, () => {
  run(manySleepers);
});

Deno.bench("tandem runAsync(): 100k tasks sleep(1) in one scope", heavy, async () => {
  await runAsync(manySleepers);
});

Deno.bench("effection: 100k tasks sleep(1)", { ...heavy, n: 2, warmup: 0 }, async () => {
  await effection.run(function* () {
    const tasks = [];
    for (let i = 0; i < MANY; i++) tasks.push(yield* effection.spawn(() => effection.sleep(1)));
    for (const task of tasks) yield* task;
  });
});
