/**
 * Tests that cannot hang the suite.
 *
 * - {@linkcode test} registers a `Deno.test` whose body must end within
 *   {@linkcode TEST_BOUND_MS}: past it the test fails with its own name, so a
 *   stuck await costs a minute, not CI's whole budget.
 * - A blocking wait cannot be interrupted by a timer of its own thread, so
 *   every `wait()` on another thread in a test (and in the fixtures workers
 *   run) passes a bound: {@linkcode WAIT_MS}. `bounded_test.ts` fails on any
 *   unbounded `.wait()` that is not marked as one that throws at once.
 *
 * @module
 */

/** The bound of one wait on another thread, in a test or a fixture. */
export const WAIT_MS = 10_000;

/** The bound of a whole test (several waits, a worker start under load). */
export const TEST_BOUND_MS = 60_000;

/** The body of a test. */
export type TestBody = (t: Deno.TestContext) => void | Promise<void>;

/** `Deno.test(name, body)`, failing by name if the body has not ended within `boundMs`. */
export function test(name: string, body: TestBody, boundMs: number = TEST_BOUND_MS): void {
  Deno.test(name, (t) => bounded(name, body, t, boundMs));
}

async function bounded(
  name: string,
  body: TestBody,
  t: Deno.TestContext,
  boundMs: number,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `test "${name}" did not end within ${boundMs} ms: it waits for something that never came`,
          ),
        ),
      boundMs,
    );
  });
  try {
    await Promise.race([(async () => await body(t))(), overdue]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Settles with `future`'s outcome, or fails naming `what` once `ms` passed:
 * for awaits inside a test that must not take the whole test's bound.
 */
export async function within<T>(
  future: PromiseLike<T>,
  what: string,
  ms: number = WAIT_MS,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([future, overdue]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a `deno` subprocess did. */
export interface DenoRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs this `deno` with `args`, killed if it has not ended after `ms`: a
 * program that hangs fails the test that ran it.
 */
export async function runDeno(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
  ms: number = 3 * WAIT_MS,
): Promise<DenoRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill(), ms);
  try {
    const { code, stdout, stderr } = await child.output();
    const text = new TextDecoder();
    return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
  } finally {
    clearTimeout(timer);
  }
}
