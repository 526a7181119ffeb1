/**
 * What every tandem worker runs (`src/worker.ts` starts it). It opens its end of the channel,
 * imports the served module, and serves calls: any exported function, sync or
 * async, under `currentSignal()`'s context.
 *
 * Serving: after answering, and while no async call is in flight, the worker
 * sleeps on its doorbell for up to {@linkcode HOT_MS} in `Atomics.wait`
 * rather than in `Atomics.waitAsync`: the next call of a back-to-back caller
 * is then answered without an event-loop turn (measured: 4.6 µs against
 * 7.6 µs on one core). Its event loop is paused for that long at most (a
 * timer that served code set and did not await may fire that late), and a
 * continuous stream of calls yields to it every {@linkcode SLICE_MS}.
 *
 * Dying: an uncaught error, an unhandled rejection, `self.close()` and
 * `Deno.exit()` all mark the worker dead in shared memory first, so callers
 * (even ones blocked in `wait()`) fail at once with `WorkerCrashedError`.
 *
 * @module
 */

import { LoopClosedError, TimeoutError, WorkerCrashedError } from "../errors.ts";
import { Future } from "../future/future.ts";
import { CallContext, runAsCall } from "./current_signal.ts";
import { BoundedCache } from "../thread/bounded_cache.ts";
import { Channel, epochNow, plainText, type Timeout } from "../wire/channel.ts";
import { IdTable } from "../thread/id_table.ts";
import { Hub, installHub } from "../thread/hub.ts";
import { joinDirectory } from "../thread/threads.ts";
import { inheritLoops } from "./named_loops.ts";
import type { WorkerInit } from "./worker_init.ts";
import { platform } from "../platform/platform.ts";
import { setParent } from "./upstream.ts";
import { parseWireRef, type WireRef } from "./function_ref.ts";

/**
 * Longer than a scheduler tick (4 ms at HZ=250): a sleep due before the next
 * tick makes the kernel reprogram the timer, a VM exit on virtual machines
 * (measured: a 2 ms hot wait made a one-CPU round trip 0.6 µs slower than a
 * 4 ms one, which costs what an endless wait does, within 0.1 µs).
 */
const HOT_MS = 10;
const SLICE_MS = 5;

type Namespace = Record<string, unknown>;
interface ModuleEntry {
  namespace?: Namespace;
  error?: unknown;
  loading: Promise<void>;
}
type QueuedCall = [from: Channel, id: number, ref: string, args: unknown[], timeout: Timeout | 0];

const modules = new Map<string, ModuleEntry>();
const running = new IdTable<CallContext>();
const queued: QueuedCall[] = [];
let defaultModule: string | undefined;
/** The modules besides `defaultModule` that calls may name (see `checkServed`). */
let servedModules: ReadonlySet<string> | undefined;
let channel: Channel | undefined;
let inFlight = 0;
let stopped = false;

function load(url: string): ModuleEntry {
  let entry = modules.get(url);
  if (entry === undefined) {
    const created: ModuleEntry = {
      loading: import(url).then(
        (namespace) => void (created.namespace = namespace),
        (error) => void (created.error = error),
      ),
    };
    modules.set(url, created);
    entry = created;
  }
  return entry;
}

const parsedRefs = new BoundedCache<WireRef>();

function parseRef(ref: string): WireRef {
  const parsed = parseWireRef(ref, defaultModule);
  checkServed(parsed.url);
  return parsed;
}

/**
 * Refuses to import a module the loop does not serve: a call names a
 * function by a string, which may come from anywhere (a request a server
 * passes on), and importing a module runs its code. A loop started with a
 * module serves that module and those its `modules` option lists; one
 * started without serves any module (by design) unless it has a list; a
 * `data:` or `blob:` module (code in the string itself) only when listed.
 */
function checkServed(url: string): void {
  if (url === defaultModule || servedModules?.has(url)) return;
  const scheme = url.slice(0, url.indexOf(":") + 1).toLowerCase();
  const inline = scheme === "data:" || scheme === "blob:";
  if (defaultModule === undefined && servedModules === undefined && !inline) return;
  const named = url.length > 80 ? `${url.slice(0, 77)}...` : url;
  const served = [defaultModule, ...(servedModules ?? [])].filter((m) => m !== undefined);
  throw new TypeError(
    `this loop refuses to import ${named}: ` +
      (served.length > 0 ? `it serves ${served.join(", ")} only` : `a ${scheme} module`) +
      " (list the module in the loop's `modules` option to serve it)",
  );
}

function lookup(entry: ModuleEntry, url: string, name: string): (...args: unknown[]) => unknown {
  if (entry.error !== undefined) throw loadError(url, entry.error);
  const namespace = entry.namespace!;
  if (!(name in namespace)) {
    throw new TypeError(`module ${url} has no export named "${name}"`);
  }
  const fn = namespace[name];
  if (typeof fn !== "function") {
    throw new TypeError(`export "${name}" of module ${url} is not a function (it is ${typeof fn})`);
  }
  return fn as (...args: unknown[]) => unknown;
}

/** What a module that failed to load makes its calls fail with. */
function loadError(url: string, cause: unknown): WorkerCrashedError {
  const what = cause instanceof Error ? cause.message : String(cause);
  return new WorkerCrashedError(
    `the worker could not load module ${url}: ${plainText(what)}`,
    { cause },
  );
}

/**
 * A call arrived: it is queued, and started once what arrived with it has
 * been handled, so that a call cancelled before it started never runs (its
 * cancel may be right behind it in the ring). Calls never nest: one that
 * arrives while a served function blocks in `wait()` waits its turn.
 */
function serve(...call: QueuedCall): void {
  if (stopped) return;
  queued.push(call);
  // Blocked inside a served function or a callback: wake up afterwards to
  // start it (a served function that returns goes on with the queue itself).
  if (hub.nested) hub.ring();
}

/** Starts a call, unless its timeout passed while it waited. */
function start(...[from, id, ref, args, timeout]: QueuedCall): void {
  let parsed: WireRef;
  try {
    parsed = parsedRefs.get(ref, parseRef);
  } catch (error) {
    from.reply(id, false, error, ref);
    return;
  }
  const { url, name, label } = parsed;
  if (timeout !== 0 && epochNow() >= timeout[1]) {
    // It waited past its timeout (its caller may not have said so yet, if its
    // thread was busy): it never starts, and fails as its caller's would.
    from.reply(id, false, new TimeoutError(`${label} timed out after ${timeout[0]} ms`), label);
    return;
  }
  const entry = load(url);
  if (entry.namespace === undefined && entry.error === undefined) {
    const context = callContext(id, label, timeout);
    running.set(id, context);
    inFlight++;
    entry.loading.then(() => {
      inFlight--;
      running.delete(id);
      if (!context.cancelled) invoke(from, context, url, name, args, timeout, entry);
      else {
        from.replyEnded(id);
        settledAsync();
      }
    });
    return;
  }
  invoke(from, callContext(id, label, timeout), url, name, args, timeout, entry);
}

/** A call's context; its deadline on this thread's monotonic clock (what `timeLeft()` reads). */
function callContext(id: number, label: string, timeout: Timeout | 0): CallContext {
  const left = timeout === 0 ? Infinity : Math.min(timeout[0], timeout[1] - epochNow());
  return new CallContext(id, label, performance.now() + left);
}

function invoke(
  from: Channel,
  context: CallContext,
  url: string,
  name: string,
  args: unknown[],
  timeout: Timeout | 0,
  entry: ModuleEntry,
): void {
  let result: unknown;
  running.set(context.id, context);
  try {
    const fn = lookup(entry, url, name);
    result = runAsCall(context, fn, args);
  } catch (error) {
    finish(from, context, false, error);
    return;
  }
  // A returned Future crosses as a live handle; other thenables are awaited.
  // (An async function returning a Future hands over its value: Promise
  // resolution unwraps thenables before we see them.)
  if (
    result === null || result instanceof Future ||
    typeof (result as PromiseLike<unknown>)?.then !== "function"
  ) {
    finish(from, context, true, result);
    return;
  }
  inFlight++;
  if (timeout !== 0) {
    context.timer = setTimeout(
      () => context.cancel(new TimeoutError(`${context.label} timed out after ${timeout[0]} ms`)),
      // (Never longer than asked, should the wall clock have stepped back.)
      Math.max(0, Math.min(timeout[0], timeout[1] - epochNow())),
    );
  }
  (result as PromiseLike<unknown>).then(
    (value) => {
      inFlight--;
      finish(from, context, true, value);
      settledAsync();
    },
    (error) => {
      inFlight--;
      finish(from, context, false, error);
      settledAsync();
    },
  );
}

/** Every call ends with a reply: its outcome, or, if its caller gave up, that it ended. */
function finish(from: Channel, context: CallContext, ok: boolean, value: unknown): void {
  running.delete(context.id);
  if (context.timer !== undefined) clearTimeout(context.timer);
  if (!context.cancelled) from.reply(context.id, ok, value, context.label);
  else from.replyEnded(context.id);
  if (stopped) stoppedIfIdle();
}

/** The last async call finished: wake up once more to enter the hot wait (or say we stopped). */
function settledAsync(): void {
  if (inFlight > 0) return;
  if (stopped) stoppedIfIdle();
  else hub.ring();
}

/** After `stop()`: once no call runs any more (sync or async), say so to the parent. */
function stoppedIfIdle(): void {
  if (inFlight === 0 && running.size === 0) channel?.markStopped();
}

function runQueued(): void {
  while (queued.length > 0 && !hub.nested && !stopped) {
    start(...queued.shift()!);
    // What arrived while it ran (the cancel of a queued call, say) is
    // handled before the next one starts.
    if (queued.length > 0) hub.drainAll();
  }
}

class ServingHub extends Hub {
  #yielder: MessageChannel | undefined;
  #busySince = 0;

  protected override idle(ticket: number): void {
    if (stopped) {
      // Stopping: what its last calls wait for still has to arrive.
      if (this.waiting() > 0) this.armAt(ticket);
      return;
    }
    runQueued();
    if (this.#busySince === 0) this.#busySince = performance.now();
    let served = 0;
    while (inFlight === 0 && queued.length === 0 && !stopped) {
      if (!this.block(ticket, HOT_MS)) {
        this.#busySince = 0;
        break;
      }
      ticket = this.ticket();
      this.drainAll();
      runQueued();
      // The clock costs about as much as a tiny call: read it every 8 wake-ups.
      if ((++served & 7) === 0 && performance.now() - this.#busySince > SLICE_MS) {
        // Let the event loop run (timers, I/O of served code) before going on.
        this.#busySince = 0;
        this.#yieldThen(ticket);
        return;
      }
    }
    if (!stopped) this.armAt(ticket);
  }

  #yieldThen(ticket: number): void {
    if (this.#yielder === undefined) {
      this.#yielder = new MessageChannel();
      this.#yielder.port1.onmessage = () => {
        if (!stopped) this.armAt(this.#pendingTicket);
      };
    }
    this.#pendingTicket = ticket;
    this.#yielder.port2.postMessage(null);
  }
  #pendingTicket = 0;

  stop(): void {
    this.#yielder?.port1.close();
    this.#yielder?.port2.close();
  }
}

let hub: ServingHub;

/**
 * The parent closed the channel: queued calls never start, running ones are
 * cancelled (their signals fire; the parent already cancelled those it
 * waits for, with the reason its callers saw), and once the async ones have
 * settled the worker says it stopped, so that the parent terminates it.
 */
function stop(): void {
  if (stopped) return;
  stopped = true;
  queued.length = 0;
  for (const context of running.values()) {
    context.cancel(new LoopClosedError("the loop was closed"));
  }
  hub.stop();
  stoppedIfIdle();
}

const handler = {
  call: serve,
  cancel(id: number, reason: unknown): void {
    const context = running.get(id);
    if (context !== undefined) {
      context.cancel(reason);
      return;
    }
    const at = queued.findIndex((call) => call[1] === id);
    if (at >= 0) queued.splice(at, 1)[0][0].replyEnded(id);
  },
};

function markDead(cause: unknown, loadFailed = false): void {
  channel?.markDead(cause, loadFailed);
}

/**
 * Becomes a tandem worker: hooks the ways a worker can die, then waits for
 * its parent's first message.
 */
export function serveAsWorker(): void {
  addEventListener(
    "error",
    (event) => markDead((event as ErrorEvent).error ?? (event as ErrorEvent).message),
  );
  addEventListener(
    "unhandledrejection",
    (event) => markDead((event as PromiseRejectionEvent).reason),
  );
  const originalClose = platform.hookWorkerEnd((why) => markDead(why));
  const workerScope = globalThis as unknown as { onmessage: unknown };

  workerScope.onmessage = (event: MessageEvent<WorkerInit>) => {
    workerScope.onmessage = null;
    const init = event.data;
    joinDirectory(init.directory, init.id);
    hub = new ServingHub(init.bell);
    installHub(hub);
    defaultModule = init.module;
    servedModules = init.modules && new Set(init.modules);
    channel = Channel.accept(hub, init.ends);
    channel.peer = init.parent;
    setParent(channel);
    inheritLoops(init.loops);
    channel.handler = handler;
    channel.onGone = stop;
    if (defaultModule === undefined) channel.markReady();
    else {
      // Ready once the module loaded, so that the parent's start deadline
      // covers its download too. A worker whose module cannot load can serve
      // nothing: it dies, and every call fails with WorkerCrashedError whose
      // cause is the module's error.
      const entry = load(defaultModule);
      entry.loading.then(() => {
        if (entry.error === undefined) return channel!.markReady();
        markDead(entry.error, true);
        originalClose();
      });
    }
    hub.armAt(hub.ticket() - 1); // serve what arrived before we were ready
  };
}
