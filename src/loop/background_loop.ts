/**
 * `BackgroundLoop`: Web Workers whose event loops serve the exported
 * functions of a module, reached through futures.
 *
 * @module
 */

import {
  CancelledError,
  LoopClosedError,
  UnknownTaskTypeError,
  WorkerCrashedError,
} from "../errors.ts";
import { Future, internals, REJECTED } from "../future/future.ts";
import { BoundedCache } from "./bounded_cache.ts";
import { Channel } from "./channel.ts";
import type { Executor, FunctionRef } from "./executor.ts";
import { hub } from "./hub.ts";
import { threadId, threads } from "./threads.ts";
import { type InheritedLoop, loopsToInherit, registerLoop, unregisterLoop } from "./get_loop.ts";
import { callUp, forwardingHandler } from "./upstream.ts";
import type { WorkerInit } from "./worker_host.ts";
import "./worker_host.ts";

/** Makes a handle on a loop an ancestor thread registered (see `getLoop`). @internal */
export let inheritedLoop: (info: InheritedLoop) => BackgroundLoop;

/** Options of {@linkcode BackgroundLoop.start}. */
export interface LoopOptions {
  /** A name for the loop (and its workers, as debuggers show them). */
  name?: string;
  /** How many workers serve the module; calls go to the least busy. Default 1. */
  workers?: number;
  /** A guard: every call must carry one of these task types (`loop.with({ taskType })`). */
  taskTypes?: string[];
  /** The default timeout of every call, in milliseconds. Default: none. */
  timeoutMs?: number;
  /**
   * Other modules whose exports calls may name by `URL#export` (paths are
   * resolved against the working directory). A loop serves its own module's
   * exports only, and refuses every other module, unless it is listed here:
   * a function name may come from anywhere, and importing a module runs its
   * code. A loop started without a module serves any module by design, or
   * the listed ones only if there is a list; `data:` and `blob:` modules are
   * served only when listed.
   */
  modules?: (string | URL)[];
  /**
   * The workers' Deno permissions, fewer than this program's (Deno's worker
   * `permissions` option, e.g. `{ net: false, read: ["./data"] }`). Needs
   * the program to run with `--unstable-worker-options`. tandem adds read
   * access to its own files and the modules the loop serves, which the
   * workers must load. Without it, workers have this program's permissions.
   */
  permissions?: Deno.PermissionOptions;
}

/** Per-call options, given to {@linkcode BackgroundLoop.with}. */
export interface CallOptions {
  /** The task type the call carries (see `taskTypes`). */
  taskType?: string;
  /** This call's timeout in milliseconds (overrides the loop's; 0: none). */
  timeoutMs?: number;
  /** Cancels the call when it aborts. */
  signal?: AbortSignal;
}

/** The functions of module `M`, each returning a `Future` of its result. */
export type LoopApi<M> = {
  [K in keyof M]: M[K] extends (...args: infer A) => infer R ? (...args: A) => Future<Awaited<R>>
    : never;
};

// The static import makes the worker's entry part of the module graph, so
// that `deno run`, `deno cache` and JSR fetch it with the rest: a worker
// started while this thread blocks cannot wait for a download (it would
// need this thread's event loop). Imported here, it does nothing.
const HOST_URL = new URL("./worker_host.ts", import.meta.url);
/** Where tandem's files are (a worker with fewer permissions must still read them). */
const TANDEM_ROOT = new URL("../../", import.meta.url);

/**
 * How long a closed loop's workers may take to stop after their calls are
 * cancelled (their abort handlers run, their async calls settle) before
 * they are terminated.
 */
export const CLOSE_GRACE_MS = 1000;

/** A function as it is named on the wire and in messages. */
interface Target {
  wire: string;
  label: string;
}

/** What the rejections that report unobserved failures stand for (see `LoopCore.unobserved`). */
let reports:
  | WeakMap<Promise<unknown>, { unobserved: Set<Future<unknown>>; call: Future<unknown> }>
  | undefined;

class LoopCore {
  readonly channels: Channel[] = [];
  readonly workers: Worker[] = [];
  closing: Future<void> | undefined = undefined;
  /**
   * Calls that failed while nobody looked at their future, and that the host
   * has not reported yet as unhandled rejections (it does at the end of the
   * turn they failed in): `close()` fails with those (once each).
   */
  readonly unobserved = new Set<Future<unknown>>();
  readonly noteUnobserved = (call: Future<unknown>): void => {
    const unobserved = this.unobserved;
    // (Pruned as it grows: a look taken later takes a failure out.)
    if (unobserved.size >= 64 && (unobserved.size & (unobserved.size - 1)) === 0) {
      for (const old of unobserved) if (internals.observed(old)) unobserved.delete(old);
    }
    unobserved.add(call);
    const report = internals.report(call);
    if (report === undefined) return;
    if (reports === undefined) {
      reports = new WeakMap();
      globalThis.addEventListener("unhandledrejection", (event) => {
        const reported = reports!.get(event.promise);
        reported?.unobserved.delete(reported.call);
      });
    }
    reports.set(report, { unobserved, call });
  };
  /** For a loop an ancestor thread registered: its name, and calls go up. */
  via: string | undefined = undefined;
  /** Export names already resolved (the blocking path is too short for a RegExp per call). */
  readonly #targets = new BoundedCache<Target>();
  readonly #resolve = (fn: FunctionRef): Target => functionTarget(fn, this.module);

  constructor(
    readonly module: URL | undefined,
    readonly name: string,
    readonly taskTypes: ReadonlySet<string> | undefined,
    readonly timeoutMs: number,
  ) {}

  target(fn: FunctionRef): Target {
    return typeof fn === "string" ? this.#targets.get(fn, this.#resolve) : this.#resolve(fn);
  }

  /** The alive channel with the fewest calls in flight (a lone one as is: its call fails if it is gone). */
  pick(): Channel | undefined {
    if (this.channels.length === 1) return this.channels[0];
    let best: Channel | undefined;
    for (const channel of this.channels) {
      if (channel.alive && (best === undefined || channel.waiting < best.waiting)) best = channel;
    }
    return best;
  }

  pending(): Future<unknown>[] {
    return this.channels.flatMap((channel) => channel.pendingFutures());
  }
}

/**
 * Web Workers whose event loops serve the exported functions of a module.
 * `loop.api.fn(...args)` (typed from `typeof import("./tasks.ts")`) and
 * `loop.call("fn", ...args)` return a {@linkcode Future}: await it, block on
 * it with `wait()`, or `yield*` it in a task. The served module needs no glue
 * code; inside a served function, `currentSignal()` tells when the caller gave
 * up. A loop must be closed (`close()`, `using`, `await using`): its workers
 * keep the process alive.
 *
 * @example
 * ```ts
 * import { BackgroundLoop } from "@tandem/tandem";
 * // tasks.ts: export function add(a: number, b: number) { return a + b; }
 * using loop = BackgroundLoop.start<typeof import("./tasks.ts")>(
 *   new URL("./tasks.ts", import.meta.url),
 * );
 * console.log(loop.api.add(1, 2).wait()); // 3, blocking
 * console.log(await loop.api.add(3, 4)); // 7, awaited
 * ```
 */
export class BackgroundLoop<M = unknown> implements Executor, Disposable, AsyncDisposable {
  readonly #core: LoopCore;
  readonly #options: CallOptions;
  #api: LoopApi<M> | undefined = undefined;

  private constructor(core: LoopCore, options: CallOptions) {
    this.#core = core;
    this.#options = options;
  }

  static {
    inheritedLoop = (info) => {
      const core = new LoopCore(
        info.module === undefined ? undefined : new URL(info.module),
        info.name,
        info.taskTypes && new Set(info.taskTypes),
        0,
      );
      core.via = info.name;
      return new BackgroundLoop(core, {});
    };
  }

  /**
   * Starts the workers and returns at once; the first call waits for them to
   * be ready. `module` is a URL, or a path resolved against the working
   * directory; without it, functions are named by `URL#export`.
   * Needs `--allow-read` for the module's files (the workers load them).
   *
   * @example
   * ```ts
   * import { BackgroundLoop } from "@tandem/tandem";
   * await using pool = BackgroundLoop.start(new URL("./tasks.ts", import.meta.url), {
   *   workers: 2,
   *   timeoutMs: 5_000,
   * });
   * ```
   */
  static start<M = unknown>(module?: string | URL, options: LoopOptions = {}): BackgroundLoop<M> {
    if (typeof Worker === "undefined") {
      throw new TypeError("BackgroundLoop needs Web Workers, which this runtime does not offer");
    }
    const workers = options.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new RangeError(`workers must be a positive integer, got ${workers}`);
    }
    const timeoutMs = checkTimeout(options.timeoutMs, "timeoutMs");
    if (options.taskTypes !== undefined && !Array.isArray(options.taskTypes)) {
      throw new TypeError("taskTypes must be an array of strings");
    }
    const url = module === undefined ? undefined : toModuleUrl(module);
    if (options.modules !== undefined && !Array.isArray(options.modules)) {
      throw new TypeError("modules must be an array of module URLs or paths");
    }
    const served = options.modules?.map((m) => toModuleUrl(m));
    const permissions = options.permissions === undefined
      ? undefined
      : workerPermissions(options.permissions, [
        TANDEM_ROOT,
        ...(url ? [url] : []),
        ...(served ?? []),
      ]);
    checkReadable(HOST_URL, "tandem's worker host");
    if (url) checkReadable(url, "the loop's module");
    const name = options.name ?? (url ? url.pathname.split("/").pop()! : "tandem");
    const core = new LoopCore(
      url,
      name,
      options.taskTypes && new Set(options.taskTypes),
      timeoutMs,
    );
    const threadHub = hub();
    const directory = threads();
    const parent = threadId();
    const ids: number[] = [];
    try {
      for (let i = 0; i < workers; i++) ids.push(directory.allocate(parent));
      ids.forEach((id, i) => {
        const worker = new Worker(HOST_URL, {
          type: "module",
          name: workers > 1 ? `${name}#${i}` : name,
          ...(permissions && { deno: { permissions } }),
        });
        core.workers.push(worker);
        const { port1, port2 } = new MessageChannel();
        const bell = directory.bell(id);
        const { channel, ends } = Channel.open(threadHub, port1, port2, bell);
        core.channels.push(channel);
        channel.peer = id;
        // Once it is gone (it died, it stopped after close, or it is given up
        // on), it is ended for good, and its slot freed: its semaphore
        // permits come back, and waits on what only it could do end.
        channel.onGone = () => {
          worker.terminate();
          directory.release(id, channel.crashed);
        };
        channel.handler = forwardingHandler();
        worker.onerror = (event) => {
          event.preventDefault();
          channel.drain(); // what it sent before it died still counts
          channel.peerGone(
            new WorkerCrashedError(`the worker crashed: ${event.message}`),
            event.error ?? event.message,
          );
        };
        const init: WorkerInit = {
          ends,
          directory: directory.buffer,
          id,
          parent,
          bell,
          module: url?.href,
          modules: served?.map((m) => m.href),
          loops: loopsToInherit(),
        };
        worker.postMessage(init, [port2]);
      });
    } catch (error) {
      // (A Worker the permissions refuse, say: nothing may stay behind.)
      for (const worker of core.workers) worker.terminate();
      for (const channel of core.channels) channel.forsake();
      for (const id of ids) directory.release(id, false);
      throw error;
    }
    const loop = new BackgroundLoop<M>(core, {});
    if (options.name !== undefined) registerLoop(options.name, loop as BackgroundLoop);
    return loop;
  }

  /** The loop's name (given, or the module's file name). */
  get name(): string {
    return this.#core.name;
  }

  /** The module it serves, if it was started with one. */
  get module(): URL | undefined {
    return this.#core.module;
  }

  /** The task types its guard takes, if it has a guard. */
  get taskTypes(): string[] | undefined {
    return this.#core.taskTypes && [...this.#core.taskTypes];
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#core.closing !== undefined;
  }

  /**
   * The served module's functions, typed from `M`: `loop.api.add(1, 2)` is
   * `loop.call("add", 1, 2)`.
   */
  get api(): LoopApi<M> {
    // The proxy is the prototype of the object handed out: the first use of a
    // name defines it on that object, so later uses are plain property reads.
    return this.#api ??= Object.create(
      new Proxy({}, {
        get: (_, name, api) => {
          if (typeof name !== "string" || name === "then") return undefined;
          const fn = (...args: unknown[]) => this.#send(name, args);
          Object.defineProperty(api, name, { value: fn, configurable: true, writable: true });
          return fn;
        },
      }),
    );
  }

  /**
   * Calls `fn(...args)` in a worker. The future fails with `TimeoutError` when
   * the call's timeout passes, `CancelledError` when cancelled (the worker's
   * `currentSignal()` fires in both cases), `UnknownTaskTypeError` when the
   * loop's guard refuses it, `LoopClosedError` after `close()`, and
   * `WorkerCrashedError` when the worker dies; otherwise with the function's
   * own result or error.
   */
  call<R = unknown>(fn: FunctionRef, ...args: unknown[]): Future<R> {
    return this.#send(fn, args) as Future<R>;
  }

  #send(fn: FunctionRef, args: unknown[]): Future<unknown> {
    const call = this.#call(fn, args);
    internals.reportUnobserved(call, this.#core.noteUnobserved);
    return call;
  }

  #call(fn: FunctionRef, args: unknown[]): Future<unknown> {
    const core = this.#core;
    if (core.closing) {
      return Future.reject(new LoopClosedError(`the loop "${core.name}" is closed`));
    }
    let target: Target;
    try {
      target = core.target(fn);
    } catch (error) {
      return Future.reject(error);
    }
    const { taskType, signal } = this.#options;
    if (core.taskTypes && (taskType === undefined || !core.taskTypes.has(taskType))) {
      const allowed = [...core.taskTypes].join(", ");
      return Future.reject(
        new UnknownTaskTypeError(
          taskType === undefined
            ? `${target.label} carries no task type, and the loop "${core.name}" only takes: ${allowed} (use loop.with({ taskType }))`
            : `task type "${taskType}" of ${target.label} is not one the loop "${core.name}" takes: ${allowed}`,
        ),
      );
    }
    const timeoutMs = this.#options.timeoutMs ?? core.timeoutMs;
    if (core.via !== undefined) {
      const rest = `${taskType ?? ""}\u0001${target.wire}`;
      return callUp("loop", core.via, rest, args, target.label, timeoutMs, signal);
    }
    const channel = core.pick();
    if (channel === undefined) {
      return Future.reject(core.channels[0].goneError());
    }
    return channel.call(target.wire, args, target.label, timeoutMs, signal);
  }

  /**
   * A view of this loop whose calls carry `options` (merged over this view's).
   *
   * @example
   * ```ts
   * import { BackgroundLoop } from "@tandem/tandem";
   * using loop = BackgroundLoop.start(new URL("./tasks.ts", import.meta.url), { taskTypes: ["io"] });
   * const io = loop.with({ taskType: "io", timeoutMs: 1_000 });
   * await io.call("fetchUser", 1);
   * ```
   */
  with(options: CallOptions): BackgroundLoop<M> {
    if (options.timeoutMs !== undefined) checkTimeout(options.timeoutMs, "timeoutMs");
    return new BackgroundLoop<M>(this.#core, { ...this.#options, ...options });
  }

  /** The same as {@linkcode BackgroundLoop.call} (the `Executor` interface). */
  submit<R = unknown>(fn: FunctionRef, ...args: unknown[]): Future<R> {
    return this.#send(fn, args) as Future<R>;
  }

  /**
   * Calls `fn(item)` for every item, at most `limit` at a time (default: all
   * at once), results in input order. The first failure cancels the calls
   * still running and fails the whole; items after it are not pulled.
   */
  map<R = unknown>(
    fn: FunctionRef,
    items: Iterable<unknown>,
    options: { limit?: number } = {},
  ): Future<R[]> {
    const limit = options.limit ?? Infinity;
    if (!(limit >= 1)) {
      return Future.reject(new RangeError(`limit must be at least 1, got ${limit}`));
    }
    const { future, resolve, reject } = Future.withResolvers<R[]>();
    const running = new Set<Future<R>>();
    internals.setLink(future as Future<unknown>, {
      blocker: hub(),
      stalled: () => undefined,
      cancelled: () => {
        for (const call of running) call.cancel();
      },
    });
    const iterator = items[Symbol.iterator]();
    const results: R[] = [];
    let index = 0, exhausted = false, failed = false;
    const fill = (): void => {
      while (!failed && !exhausted && running.size < limit) {
        let next: IteratorResult<unknown>;
        try {
          next = iterator.next();
        } catch (error) {
          failed = true;
          reject(error);
          for (const call of running) call.cancel();
          return;
        }
        if (next.done) {
          exhausted = true;
          break;
        }
        const at = index++;
        const call = this.#send(fn, [next.value]) as Future<R>;
        running.add(call);
        call.onDone(() => {
          running.delete(call);
          const outcome = internals.outcome(call as Future<unknown>)!;
          if (failed || future.state !== "pending") return;
          if (outcome.state !== REJECTED && call.state === "fulfilled") {
            results[at] = outcome.value as R;
            fill();
          } else {
            failed = true;
            for (const other of running) other.cancel();
            reject(outcome.value);
          }
        });
      }
      if (exhausted && running.size === 0 && !failed) resolve(results);
    };
    fill();
    return future;
  }

  /**
   * Closes the loop: later calls fail with `LoopClosedError`. Without
   * `cancelPending`, calls already made finish first; with it, they fail with
   * `CancelledError`. Then each worker is told to stop: what it still runs
   * is cancelled (`currentSignal()` fires, abort handlers run) and its async
   * calls may settle, for up to {@linkcode CLOSE_GRACE_MS}; then it is
   * woken (should it block in `wait()`) and terminated. Idempotent; the
   * future settles when the workers are gone.
   */
  close(options: { cancelPending?: boolean } = {}): Future<void> {
    const core = this.#core;
    if (options.cancelPending) {
      for (const call of core.pending()) {
        call.cancel(new CancelledError(`the loop "${core.name}" was closed`));
      }
    }
    if (core.closing) return core.closing;
    if (core.via !== undefined) {
      // A handle on an ancestor's loop: closing it here only drops the handle.
      return core.closing = Future.resolve(undefined);
    }
    unregisterLoop(core.name, this as BackgroundLoop);
    const { future, resolve, reject } = Future.withResolvers<void>();
    core.closing = future;
    internals.reportUnobserved(future as Future<unknown>);
    // The loop is gone: failures nobody looked at never will be; they fail the close.
    const closed = (): void => {
      const failures = [...core.unobserved].filter((call) => !internals.observed(call));
      core.unobserved.clear();
      if (failures.length === 0) return resolve();
      const errors = failures.map((call) => {
        internals.observe(call);
        return internals.outcome(call)!.value;
      });
      reject(
        new AggregateError(
          errors,
          `${errors.length} call${errors.length > 1 ? "s" : ""} of the loop "${core.name}" ` +
            `failed and nobody looked at ${errors.length > 1 ? "their futures" : "its future"} ` +
            "(await, wait(), yield* or onDone)",
        ),
      );
    };
    let graceEnd = Infinity;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = core.channels.length;
    // The grace is over: the workers still running are given up on (each
    // channel's `onGone` terminates its worker), which ends their closes.
    const terminate = (): void => {
      for (const channel of core.channels) channel.forsake();
    };
    const stop = (): void => {
      graceEnd = performance.now() + CLOSE_GRACE_MS;
      // (Unref'd: a program may end meanwhile; the grace only bounds a close.)
      timer = setTimeout(terminate, CLOSE_GRACE_MS);
      Deno.unrefTimer(timer as unknown as number);
      for (const channel of core.channels) {
        channel.close(() => {
          if (--running > 0) return;
          clearTimeout(timer);
          closed();
        });
      }
    };
    internals.setLink(future as Future<unknown>, {
      blocker: hub(),
      // A blocking wait on the close ends the grace itself (timers cannot fire meanwhile).
      get deadline() {
        return graceEnd;
      },
      expire: terminate,
      stalled: () => undefined,
    });
    const pending = core.pending();
    let remaining = pending.length;
    if (remaining === 0) stop();
    else for (const call of pending) internals.whenDone(call, () => --remaining === 0 && stop());
    return future;
  }

  /** The same as {@linkcode BackgroundLoop.close} (the `Executor` interface). */
  shutdown(options?: { cancelPending?: boolean }): Future<void> {
    return this.close(options);
  }

  /**
   * `using loop = ...`: cancels what is pending and closes, blocking until
   * the workers are gone (at most {@linkcode CLOSE_GRACE_MS}, most often
   * far less: a worker stops as soon as its calls are cancelled).
   */
  [Symbol.dispose](): void {
    this.close({ cancelPending: true }).wait();
  }

  /** `await using loop = ...`: lets running calls finish, then closes. */
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve(this.close());
  }
}

function checkTimeout(value: number | undefined, what: string): number {
  if (value === undefined) return 0;
  if (typeof value !== "number" || !(value >= 0)) {
    throw new RangeError(`${what} must be a number of milliseconds >= 0, got ${String(value)}`);
  }
  return value === Infinity ? 0 : value;
}

/** A module's URL, without its fragment (`module` may be a path, against the working directory). */
function toModuleUrl(module: string | URL): URL {
  const url = absoluteUrl(module);
  return url.hash === "" ? url : new URL(url.href.slice(0, url.href.indexOf("#")));
}

function absoluteUrl(module: string | URL): URL {
  if (module instanceof URL) return module;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) return new URL(module);
  const cwd = Deno.cwd().replaceAll("\\", "/");
  return new URL(module, `file://${cwd.startsWith("/") ? "" : "/"}${cwd}/`);
}

function functionTarget(fn: FunctionRef, module: URL | undefined): Target {
  if (fn instanceof URL || /^[a-z][a-z0-9+.-]*:/i.test(fn)) {
    const url = fn instanceof URL ? fn : new URL(fn);
    if (url.hash.length < 2) {
      throw new TypeError(`${url.href} names no function: add the export as its fragment (#name)`);
    }
    return { wire: url.href, label: `${decodeURIComponent(url.hash.slice(1))}()` };
  }
  if (typeof fn !== "string" || fn === "") {
    throw new TypeError(`a function is named by a URL#export or an export name, got ${String(fn)}`);
  }
  if (module === undefined) {
    throw new TypeError(
      `cannot call "${fn}": the loop was started without a module, so name the function by URL, e.g. new URL("./tasks.ts#${fn}", import.meta.url)`,
    );
  }
  return { wire: fn, label: `${fn}()` };
}

/** Fails early, and clearly, where a worker could not load its module. */
function checkReadable(url: URL, what: string): void {
  if (url.protocol !== "file:" || typeof Deno?.permissions?.querySync !== "function") return;
  const { state } = Deno.permissions.querySync({ name: "read", path: url });
  if (state !== "granted") {
    throw new Deno.errors.NotCapable(
      `BackgroundLoop needs read access to ${what} (${url.pathname}): run with --allow-read`,
    );
  }
}

/**
 * The worker permissions for `asked`, plus read access to the local
 * `modules` the worker must load. Deno ends the process (exit code 70, with
 * a message naming the flag) rather than throw when
 * `--unstable-worker-options` is missing: where tandem can tell, it throws
 * first.
 */
function workerPermissions(asked: Deno.PermissionOptions, modules: URL[]): Deno.PermissionOptions {
  if (workerOptionsEnabled() === false) {
    throw new TypeError(
      "BackgroundLoop.start({ permissions }) needs Deno's --unstable-worker-options flag " +
        '(or "unstable": ["worker-options"] in deno.json): run with it, or leave permissions out',
    );
  }
  if (asked === "inherit") return asked;
  // "none", and a permission an object leaves out, mean none to Deno.
  const object: Exclude<Deno.PermissionOptions, string> = asked === "none" ? {} : asked;
  const read = object.read;
  if (read === true || read === "inherit") return object;
  const files = modules.filter((m) => m.protocol === "file:");
  const paths = (Array.isArray(read) ? read : []) as (string | URL)[];
  return { ...object, read: [...paths, ...files] };
}

/**
 * Whether this process runs with `--unstable-worker-options`: Deno tells no
 * program, so its configuration (`deno.json`, `"unstable"`) and command line
 * are read where they can be (the command line needs `--allow-all`, on
 * Linux); undefined when it cannot tell.
 */
function workerOptionsEnabled(): boolean | undefined {
  let dir: string;
  try {
    dir = Deno.cwd();
  } catch {
    return undefined;
  }
  for (;; dir = dir.slice(0, dir.lastIndexOf("/")) || "/") {
    for (const name of ["deno.json", "deno.jsonc"]) {
      try {
        if (/"worker-options"/.test(Deno.readTextFileSync(`${dir}/${name}`))) return true;
      } catch { /* not there, or not readable */ }
    }
    if (dir === "/") break;
  }
  try {
    return Deno.readTextFileSync("/proc/self/cmdline").split("\0").includes(
      "--unstable-worker-options",
    );
  } catch {
    return undefined;
  }
}
