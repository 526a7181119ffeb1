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
import { Future, internals, takeOver } from "../future/future.ts";
import { outcomeOf } from "../future/outcome.ts";
import { BoundedCache } from "../thread/bounded_cache.ts";
import { Channel } from "../wire/channel.ts";
import type { Executor, FunctionRef } from "./executor.ts";
import { hub, onHub } from "../thread/hub.ts";
import { threadId, threads } from "../thread/threads.ts";
import {
  loopsToInherit,
  provideInheritedLoops,
  registerLoop,
  unregisterLoop,
} from "./named_loops.ts";
import { callUp, forwardingHandler } from "./upstream.ts";
import { functionTarget, type Target } from "./function_ref.ts";
import { isWholeAtLeast } from "../validate.ts";
import type { WorkerInit } from "./worker_init.ts";
import { platform, type WorkerPermissions } from "../platform/platform.ts";

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
  permissions?: WorkerPermissions;
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

// The worker's entry. `mod.ts` imports it, which makes it part of the module
// graph, so that `deno run`, `deno cache` and JSR fetch it with the rest: a
// worker started while this thread blocks cannot wait for a download (it
// would need this thread's event loop).
const HOST_URL = new URL("../worker.ts", import.meta.url);
/** Where tandem's files are (a worker with fewer permissions must still read them). */
const TANDEM_ROOT = new URL("../../", import.meta.url);

/**
 * How long a closed loop's workers may take to stop after their calls are
 * cancelled (their abort handlers run, their async calls settle) before
 * they are terminated.
 */
export const CLOSE_GRACE_MS = 1000;

/**
 * A call's reply is only read when someone waits for it (or several calls
 * are in flight). So that a failure nobody will look at still arrives, and
 * is reported, in its own turn, the end of a turn in which calls were made
 * listens for replies while any are pending. (It keeps no list of the calls:
 * a turn of blocking calls would keep every result alive until it ends.)
 * The ticket is the first call's, read before that call was sent.
 */
let turnTicket: number | undefined;
function listenAtTurnEnd(call: Future<unknown>): void {
  if (turnTicket !== undefined) return;
  const ticket = internals.link(call)?.waiting?.ticket;
  if (typeof ticket !== "number") return;
  turnTicket = ticket;
  queueMicrotask(() => {
    turnTicket = undefined;
    const h = hub();
    if (h.waiting() > 0) h.arm(ticket);
  });
}

/** What the rejections that report unobserved failures stand for (see `LoopCore.unobserved`). */
let reports:
  | WeakMap<Promise<unknown>, { unobserved: Set<Future<unknown>>; call: Future<unknown> }>
  | undefined;

/**
 * How a loop's calls travel, and how it closes: to workers of its own
 * ({@linkcode OwnWorkers}), or up to the ancestor thread that registered
 * the loop ({@linkcode Forwarded}). (A strategy rather than a flag, so that
 * neither sending nor closing asks which kind of loop it is.)
 */
interface Transport {
  /** Sends a call (the loop's own checks passed). */
  send(
    target: Target,
    taskType: string | undefined,
    args: unknown[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Future<unknown>;
  /** Every call still pending (for close and cancellation). */
  pending(): Future<unknown>[];
  /** Closes the loop `loop` of `core` (once): see {@linkcode BackgroundLoop.close}. */
  close(core: LoopCore, loop: BackgroundLoop): Future<void>;
}

class LoopCore {
  closing: Future<void> | undefined = undefined;
  /**
   * Calls that failed while nobody looked at their future, and that the host
   * has not reported yet as unhandled rejections (it does at the end of the
   * turn they failed in): `close()` fails with those (once each).
   */
  readonly unobserved = new Set<Future<unknown>>();
  readonly noteUnobserved = (call: Future<unknown>, report: Promise<unknown> | undefined): void => {
    const unobserved = this.unobserved;
    // (Pruned as it grows: a look taken later takes a failure out.)
    if (unobserved.size >= 64 && (unobserved.size & (unobserved.size - 1)) === 0) {
      for (const old of unobserved) if (internals.observed(old)) unobserved.delete(old);
    }
    unobserved.add(call);
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
  /** Export names already resolved (the blocking path is too short for a RegExp per call). */
  readonly #targets = new BoundedCache<Target>();
  readonly #resolve = (fn: FunctionRef): Target => functionTarget(fn, this.module);

  constructor(
    readonly module: URL | undefined,
    readonly name: string,
    readonly taskTypes: ReadonlySet<string> | undefined,
    readonly timeoutMs: number,
    readonly transport: Transport,
  ) {}

  target(fn: FunctionRef): Target {
    return typeof fn === "string" ? this.#targets.get(fn, this.#resolve) : this.#resolve(fn);
  }

  /** What calls fail with once the loop is closed. */
  closedError(): LoopClosedError {
    return new LoopClosedError(`the loop "${this.name}" is closed`);
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
 * import assert from "node:assert/strict";
 * import { BackgroundLoop } from "@tandem/tandem";
 * // tasks.ts, inline so that the example runs as it is. A program serves the file:
 * // BackgroundLoop.start<typeof import("./tasks.ts")>(new URL("./tasks.ts", import.meta.url))
 * const tasks = "data:application/typescript,export const add = (a: number, b: number) => a + b;";
 * using loop = BackgroundLoop.start<{ add(a: number, b: number): number }>(tasks);
 * assert.equal(loop.api.add(1, 2).wait(), 3); // blocking
 * assert.equal(await loop.api.add(3, 4), 7); // awaited
 * assert.equal(await loop.call("add", 5, 6), 11); // by name
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
    provideInheritedLoops((info) => {
      const core = new LoopCore(
        info.module === undefined ? undefined : new URL(info.module),
        info.name,
        info.taskTypes && new Set(info.taskTypes),
        0,
        new Forwarded(info.name),
      );
      return new BackgroundLoop(core, {});
    });
  }

  /**
   * Starts the workers and returns at once; the first call waits for them to
   * be ready. `module` is a URL, or a path resolved against the working
   * directory; without it, functions are named by `URL#export`.
   * Needs `--allow-read` for the module's files (the workers load them).
   * A `data:` URL serves code given inline, as the examples here do.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { BackgroundLoop } from "@tandem/tandem";
   * // An inline module, so that the example runs as it is (a file works the same).
   * await using pool = BackgroundLoop.start(
   *   "data:application/typescript,export const square = (n: number) => n * n;",
   *   { workers: 2, timeoutMs: 5_000 },
   * );
   * assert.deepEqual(await pool.map<number>("square", [1, 2, 3]), [1, 4, 9]);
   * ```
   */
  static start<M = unknown>(module?: string | URL, options: LoopOptions = {}): BackgroundLoop<M> {
    if (typeof Worker === "undefined") {
      throw new TypeError("BackgroundLoop needs Web Workers, which this runtime does not offer");
    }
    const workers = options.workers ?? 1;
    if (!isWholeAtLeast(workers, 1)) {
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
      : platform.workerPermissions(options.permissions, [
        TANDEM_ROOT,
        ...(url ? [url] : []),
        ...(served ?? []),
      ]);
    platform.checkReadable(HOST_URL, "tandem's worker host");
    if (url) platform.checkReadable(url, "the loop's module");
    const name = options.name ?? (url ? url.pathname.split("/").pop()! : "tandem");
    const own = new OwnWorkers();
    const core = new LoopCore(
      url,
      name,
      options.taskTypes && new Set(options.taskTypes),
      timeoutMs,
      own,
    );
    const threadHub = hub();
    const directory = threads();
    const parent = threadId();
    const ids: number[] = [];
    try {
      for (let i = 0; i < workers; i++) ids.push(directory.allocate(parent));
      ids.forEach((id, i) => {
        const worker = platform.startWorker(
          HOST_URL,
          workers > 1 ? `${name}#${i}` : name,
          permissions,
        );
        own.workers.push(worker);
        const { port1, port2 } = new MessageChannel();
        const bell = directory.bell(id);
        const { channel, ends } = Channel.open(threadHub, port1, port2, bell);
        own.channels.push(channel);
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
      for (const worker of own.workers) worker.terminate();
      for (const channel of own.channels) channel.forsake();
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
    return this.#reporting(this.#call(fn, args));
  }

  /** A failure of `future` that nobody looks at is reported (see `LoopCore.unobserved`). */
  #reporting<T>(future: Future<T>): Future<T> {
    internals.reportUnobserved(future as Future<unknown>, this.#core.noteUnobserved);
    if (future.state === "running") listenAtTurnEnd(future as Future<unknown>);
    return future;
  }

  #call(fn: FunctionRef, args: unknown[]): Future<unknown> {
    const core = this.#core;
    if (core.closing) return Future.reject(core.closedError());
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
    return core.transport.send(target, taskType, args, timeoutMs, signal);
  }

  /**
   * A view of this loop whose calls carry `options` (merged over this view's).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { BackgroundLoop } from "@tandem/tandem";
   * // An inline module, so that the example runs as it is (a file works the same).
   * using loop = BackgroundLoop.start(
   *   "data:application/typescript,export const fetchUser = async (id: number) => ({ id });",
   *   { taskTypes: ["io"] },
   * );
   * const io = loop.with({ taskType: "io", timeoutMs: 1_000 });
   * assert.deepEqual(await io.call("fetchUser", 1), { id: 1 });
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
    return this.#reporting(this.#map(fn, items, options));
  }

  #map<R>(fn: FunctionRef, items: Iterable<unknown>, options: { limit?: number }): Future<R[]> {
    const limit = options.limit ?? Infinity;
    // (Any number at least 1, not only a whole one, as it always took: a
    // fraction acts as the next whole number. imap's is stricter.)
    if (!(limit >= 1)) {
      return Future.reject(new RangeError(`limit must be at least 1, got ${limit}`));
    }
    const { future, resolve, reject } = Future.withResolvers<R[]>();
    const results: R[] = [];
    const fill = (): void => {
      fanout.fill();
      if (fanout.finished) resolve(results);
    };
    const fanout: Fanout<R> = new Fanout<R>(
      items[Symbol.iterator](),
      limit,
      (item) => this.#send(fn, [item]) as Future<R>,
      (value, at) => {
        results[at] = value;
        fanout.release();
        fill();
      },
      reject,
    );
    internals.setLink(future as Future<unknown>, {
      waiting: onHub(),
      cancelled: (error) => fanout.stop(error),
    });
    fill();
    return future;
  }

  /**
   * {@linkcode BackgroundLoop.map}, one result at a time: `fn(item)` runs
   * for the items while the results are handed out, in input order or, with
   * `ordered: false`, as each call settles. Nothing runs before the first
   * `next()`. At most `limit` items (default: all at once) are held at a
   * time, running or done but not yet taken: an item is pulled only when a
   * slot is free, so a slow consumer holds back further work, and an
   * endless iterable is fine with a limit. The first failure (a call's,
   * the iterable's, or `LoopClosedError` once the loop is closed) cancels
   * the calls still running and ends the iteration with it, after the
   * results that were ready to be handed out before it. Leaving early
   * (`break`, `return()`, even while a `next()` waits) cancels the calls
   * still running and pulls nothing more. Either way the iterable's
   * iterator is closed, as `for...of` closes it. A `limit` that is not a
   * positive integer (or `Infinity`) fails the iteration with `RangeError`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { BackgroundLoop } from "@tandem/tandem";
   * // An inline module, so that the example runs as it is (a file works the same).
   * await using loop = BackgroundLoop.start(
   *   "data:application/javascript,export const square = (n) => n * n;",
   * );
   * function* naturals() {
   *   for (let n = 1;; n++) yield n;
   * }
   * const squares: number[] = [];
   * for await (const square of loop.imap<number>("square", naturals(), { limit: 3 })) {
   *   if (square > 20) break; // cancels the calls still running; pulls no more
   *   squares.push(square);
   * }
   * assert.deepEqual(squares, [1, 4, 9, 16]);
   * ```
   */
  imap<R = unknown>(
    fn: FunctionRef,
    items: Iterable<unknown>,
    options: { limit?: number; ordered?: boolean } = {},
  ): AsyncIterableIterator<R> {
    const core = this.#core;
    return iterateCalls(
      (item) => this.#send(fn, [item]) as Future<R>,
      items,
      options,
      () => core.closing ? core.closedError() : undefined,
    );
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
      for (const call of core.transport.pending()) {
        call.cancel(new CancelledError(`the loop "${core.name}" was closed`));
      }
    }
    if (core.closing) return core.closing;
    return core.closing = core.transport.close(core, this as BackgroundLoop);
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

/** A loop's own workers, one channel each: calls go to the least busy. */
class OwnWorkers implements Transport {
  readonly channels: Channel[] = [];
  readonly workers: Worker[] = [];

  send(
    target: Target,
    _taskType: string | undefined,
    args: unknown[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Future<unknown> {
    const channel = this.pick();
    if (channel === undefined) {
      return Future.reject(this.channels[0].goneError());
    }
    return channel.call(target.wire, args, target.label, timeoutMs, signal);
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

  /**
   * Unregisters the loop, waits for its pending calls, then tells each
   * worker to stop (see {@linkcode BackgroundLoop.close}).
   */
  close(core: LoopCore, loop: BackgroundLoop): Future<void> {
    unregisterLoop(core.name, loop);
    const { future, resolve, reject } = Future.withResolvers<void>();
    // (Set before anything below runs: what it triggers may ask.)
    core.closing = future;
    internals.reportUnobserved(future as Future<unknown>);
    // The loop is gone: failures nobody looked at never will be; they fail the close.
    const closed = (): void => {
      const failures = [...core.unobserved].filter((call) => !internals.observed(call));
      core.unobserved.clear();
      if (failures.length === 0) return resolve();
      const errors = failures.map((call) => {
        internals.observe(call);
        const outcome = outcomeOf(call)!;
        return outcome.ok ? outcome.value : outcome.error;
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
    let running = this.channels.length;
    // The grace is over: the workers still running are given up on (each
    // channel's `onGone` terminates its worker), which ends their closes.
    const terminate = (): void => {
      for (const channel of this.channels) channel.forsake();
    };
    const stop = (): void => {
      graceEnd = performance.now() + CLOSE_GRACE_MS;
      // (Unref'd: a program may end meanwhile; the grace only bounds a close.)
      timer = setTimeout(terminate, CLOSE_GRACE_MS);
      platform.unrefTimer(timer);
      for (const channel of this.channels) {
        channel.close(() => {
          if (--running > 0) return;
          clearTimeout(timer);
          closed();
        });
      }
    };
    internals.setLink(future as Future<unknown>, {
      waiting: {
        ...onHub(),
        // A blocking wait on the close ends the grace itself (timers cannot fire meanwhile).
        get deadline() {
          return graceEnd;
        },
        expire: terminate,
      },
    });
    const pending = this.pending();
    // What is still pending is the close's to wait for: a failure of it that
    // nobody looks at fails the close (not the program, as an unhandled
    // rejection in a turn where the closer could not catch it).
    for (const call of pending) takeOver(call);
    let remaining = pending.length;
    if (remaining === 0) stop();
    else for (const call of pending) internals.whenDone(call, () => --remaining === 0 && stop());
    return future;
  }
}

/**
 * A loop an ancestor thread registered (`getLoop(name)` in a worker): its
 * calls go up to that thread (see `upstream.ts`), which makes them.
 */
class Forwarded implements Transport {
  constructor(
    /** The loop's name in the ancestor's registry. */
    readonly name: string,
  ) {}

  send(
    target: Target,
    taskType: string | undefined,
    args: unknown[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Future<unknown> {
    const rest = `${taskType ?? ""}\u0001${target.wire}`;
    return callUp("loop", this.name, rest, args, target.label, timeoutMs, signal);
  }

  pending(): Future<unknown>[] {
    return [];
  }

  close(): Future<void> {
    // A handle on an ancestor's loop: closing it here only drops the handle.
    return Future.resolve(undefined);
  }
}

/**
 * Starts a call for each item of `source` while fewer than `limit` are
 * held: what `map` and `imap` share. An item is held from its pull until
 * `release()`, which `map` calls when its call settles and `imap` when its
 * result is taken, so that results nobody took yet hold back further pulls.
 * The first failure (a call's, the source's, or what `refuse()` gives before
 * a pull) stops it: the calls still running are cancelled with it as the
 * reason, and no item is pulled any more.
 */
class Fanout<R> {
  #source: Iterator<unknown> | undefined;
  #pulled = 0;
  #held = 0;
  #exhausted = false;
  #stopped = false;
  #filling = false;
  readonly #running = new Set<Future<R>>();

  constructor(
    source: Iterator<unknown>,
    readonly limit: number,
    readonly start: (item: unknown) => Future<R>,
    readonly fulfilled: (value: R, at: number) => void,
    readonly failed: (error: unknown) => void,
    readonly refuse?: () => unknown,
  ) {
    this.#source = source;
  }

  /** Every item was pulled and its call fulfilled. */
  get finished(): boolean {
    return this.#exhausted && this.#running.size === 0 && !this.#stopped;
  }

  /** Pulls items and starts their calls while a slot is free. */
  fill(): void {
    // A call that settles at once (a closed loop's, say) comes back here
    // from inside the loop below: the loop goes on with what it freed, and
    // the source is never asked for an item while it produces one.
    if (this.#filling) return;
    this.#filling = true;
    try {
      while (!this.#stopped && !this.#exhausted && this.#held < this.limit) {
        const refused = this.refuse?.();
        if (refused !== undefined) return this.#fail(refused);
        let next: IteratorResult<unknown>;
        try {
          next = this.#source!.next();
        } catch (error) {
          this.#source = undefined; // an iterator that threw is done: nothing to close
          return this.#fail(error);
        }
        if (next.done) {
          this.#exhausted = true;
          this.#source = undefined;
          break;
        }
        const at = this.#pulled++;
        this.#held++;
        let call: Future<R>;
        try {
          call = this.start(next.value);
        } catch (error) {
          return this.#fail(error);
        }
        this.#running.add(call);
        call.onDone(() => {
          this.#running.delete(call);
          if (this.#stopped) return;
          const outcome = outcomeOf(call)!;
          if (outcome.ok) this.fulfilled(outcome.value, at);
          else this.#fail(outcome.error);
        });
      }
    } finally {
      this.#filling = false;
    }
  }

  /** Frees the slot of an item whose result was taken. */
  release(): void {
    this.#held--;
  }

  /** Cancels the calls still running, with `reason`, and pulls no more. */
  stop(reason?: unknown): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const call of this.#running) call.cancel(reason);
  }

  /** Closes the source if it was left before its end (a generator runs its `finally`). */
  closeSource(): void {
    const source = this.#source;
    this.#source = undefined;
    source?.return?.();
  }

  #fail(error: unknown): void {
    this.stop(error);
    this.failed(error);
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The iterator of `imap`, written out rather than an async generator so
 * that `return()` acts at once, even while a `next()` waits for a call (a
 * generator would queue it behind that `next()`, which may never come).
 */
class CallIterator<R> implements AsyncIterableIterator<R> {
  #fanout: Fanout<R> | undefined = undefined;
  /** Results not taken yet, keyed by their turn: the input index, or the order they settled in. */
  readonly #ready = new Map<number, R>();
  #settled = 0;
  #taken = 0;
  #failure: { error: unknown } | undefined = undefined;
  #begun = false;
  #over = false;
  #pumping = false;
  readonly #waiting: PromiseWithResolvers<IteratorResult<R>>[] = [];

  constructor(
    readonly start: (item: unknown) => Future<R>,
    readonly items: Iterable<unknown>,
    readonly options: { limit?: number; ordered?: boolean },
    readonly refuse?: () => unknown,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#over) return Promise.resolve(DONE);
    const waiter = Promise.withResolvers<IteratorResult<R>>();
    this.#waiting.push(waiter);
    if (!this.#begun) this.#begin();
    this.#pump();
    return waiter.promise;
  }

  return(value?: unknown): Promise<IteratorResult<R>> {
    if (!this.#over) {
      this.#over = true;
      this.#ready.clear();
      for (const waiter of this.#waiting.splice(0)) waiter.resolve(DONE);
      this.#fanout?.stop("the imap() iteration was ended early");
      try {
        this.#fanout?.closeSource();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return Promise.resolve(value).then((value) => ({ done: true, value }));
  }

  #begin(): void {
    this.#begun = true;
    const { limit = Infinity, ordered = true } = this.options;
    if (!isWholeAtLeast(limit, 1, true)) {
      this.#failure = { error: new RangeError(`limit must be a positive integer, got ${limit}`) };
      return;
    }
    let source: Iterator<unknown>;
    try {
      source = this.items[Symbol.iterator]();
    } catch (error) {
      this.#failure = { error };
      return;
    }
    const fanout = this.#fanout = new Fanout<R>(
      source,
      limit,
      this.start,
      (value, at) => {
        this.#ready.set(ordered ? at : this.#settled++, value);
        this.#pump();
      },
      (error) => {
        this.#failure = { error };
        try {
          fanout.closeSource();
        } catch { /* the iteration ends with the first failure, as for...of does */ }
        this.#pump();
      },
      this.refuse,
    );
    fanout.fill();
  }

  /** Hands results, then the failure or the end, to the `next()` calls that wait. */
  #pump(): void {
    // (Taking a result pulls the next item, whose call may settle at once.)
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#waiting.length > 0) {
        if (this.#ready.has(this.#taken)) {
          const value = this.#ready.get(this.#taken)!;
          this.#ready.delete(this.#taken++);
          this.#waiting.shift()!.resolve({ done: false, value });
          this.#fanout!.release();
          this.#fanout!.fill();
        } else if (this.#failure !== undefined || this.#fanout?.finished) {
          this.#over = true;
          this.#ready.clear();
          const waiting = this.#waiting.splice(0);
          if (this.#failure !== undefined) waiting.shift()!.reject(this.#failure.error);
          for (const waiter of waiting) waiter.resolve(DONE);
        } else {
          break;
        }
      }
    } finally {
      this.#pumping = false;
    }
  }
}

/**
 * `imap` for an executor whose calls `start(item)` makes; `refuse()`, asked
 * before each pull, may give an error to end the iteration with instead.
 * @internal
 */
export function iterateCalls<R>(
  start: (item: unknown) => Future<R>,
  items: Iterable<unknown>,
  options: { limit?: number; ordered?: boolean } = {},
  refuse?: () => unknown,
): AsyncIterableIterator<R> {
  return new CallIterator(start, items, options, refuse);
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
  return new URL(module, platform.baseUrl());
}
