/**
 * Control inversion: `ControlHost` and `ControlClient` (threaded_async's
 * Server and Client).
 *
 * @module
 */

import { LoopClosedError, LoopNotFoundError, TimeoutError } from "../errors.ts";
import { registerShareable, shareables } from "../wire/codec.ts";
import { FULFILLED, Future, internals, REJECTED } from "../future/future.ts";
import { adopt } from "../future/outcome.ts";
import { existingHub, onHub } from "../thread/hub.ts";
import { threadId } from "../thread/threads.ts";
import { callUp, hasParent, onForwarded } from "../loop/upstream.ts";

/** The handlers of a {@linkcode ControlHost}: functions by name. */
// deno-lint-ignore no-explicit-any
export type ControlHandlers = Record<string, (...args: any[]) => unknown>;
type Handlers = ControlHandlers;

const THREAD = 0;
const SERIAL = 1;
const CLOSED = 2;

/**
 * A host's waiting requests, kept apart from the host so that a client's
 * request (from this thread, or forwarded from a worker) is queued by a
 * plain function, with no access to the host's private state.
 */
class Inbox {
  readonly requests: Request[] = [];
  /** Set while `process()` blocks for a request: the next one settles it. */
  arrived: Future<void> | undefined = undefined;
}

/** The hosts of this thread, by id: their inboxes. */
const hosts = new Map<string, Inbox>();
let serials = 0;

interface Request {
  name: string;
  args: unknown[];
  answer: Future<unknown>;
}

/**
 * Runs handlers on this thread, when this thread says so: background code
 * calls `await host.client.call("name", ...args)`, and the request waits
 * until this thread calls {@linkcode ControlHost.process}, which runs the
 * handler here and answers. For games and simulations that step background
 * code. Pass `host.client` to background calls (to workers this thread
 * started, or their descendants).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ControlHost } from "@tandem/tandem";
 * using host = new ControlHost({ add: (a: number, b: number) => a + b });
 * const answer = host.client.call("add", 1, 2); // from a worker, usually
 * assert.equal(host.process(), 1); // one request served
 * assert.equal(await answer, 3);
 * ```
 */
export class ControlHost<H extends ControlHandlers> implements Disposable {
  /** Hand this to background code: its calls wait for `process()`. */
  readonly client: ControlClient<H>;
  readonly #handlers: H;
  readonly #inbox = new Inbox();
  /** Answers whose handler returned a Future not settled yet: `close()` fails them. */
  readonly #answering = new Set<Future<unknown>>();
  readonly #id: string;
  readonly #state: Int32Array;

  /** `handlers`: the functions clients may call, by name. */
  constructor(handlers: H) {
    if (typeof handlers !== "object" || handlers === null) {
      throw new TypeError("ControlHost: handlers must be an object of functions");
    }
    this.#handlers = handlers;
    const buffer = new SharedArrayBuffer(12);
    this.#state = new Int32Array(buffer);
    this.#state[THREAD] = threadId();
    this.#state[SERIAL] = ++serials;
    this.#id = `${this.#state[THREAD]}:${this.#state[SERIAL]}`;
    hosts.set(this.#id, this.#inbox);
    this.client = new ControlClient<H>(buffer);
  }

  /** Requests waiting for `process()`. */
  get waiting(): number {
    return this.#inbox.requests.length;
  }

  /**
   * Answers up to `max` waiting requests (default: all) by running their
   * handlers on this thread, and returns how many it answered. With
   * `timeoutMs`, it first blocks up to that long for a request when none
   * waits. A handler may return a value, throw (the client's call fails with
   * that error) or return a `Future` to answer later.
   */
  process(options: { timeoutMs?: number; max?: number } = {}): number {
    const { timeoutMs = 0, max = Infinity } = options;
    if (this.closed) throw new LoopClosedError("ControlHost.process: the host is closed");
    // Requests from workers wait in this thread's inbox, which only an
    // event-loop turn or a blocking wait would empty: a thread that polls
    // without ever awaiting must look at it here.
    existingHub()?.pump();
    if (this.#inbox.requests.length === 0 && timeoutMs > 0) {
      const arrived = this.#inbox.arrived = new Future<void>();
      internals.setLink(arrived as Future<unknown>, { waiting: onHub() });
      try {
        arrived.wait(timeoutMs);
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
      } finally {
        this.#inbox.arrived = undefined;
      }
    }
    let answered = 0;
    while (answered < max && this.#inbox.requests.length > 0) {
      const { name, args, answer } = this.#inbox.requests.shift()!;
      answered++;
      const handler = this.#handlers[name];
      try {
        if (typeof handler !== "function") {
          throw new TypeError(`ControlHost has no handler named "${name}"`);
        }
        const result = handler.apply(this.#handlers, args);
        if (result instanceof Future) {
          this.#answering.add(answer);
          result.onDone(() => {
            this.#answering.delete(answer);
            adopt(answer, result);
          });
        } else internals.settle(answer, FULFILLED, result);
      } catch (error) {
        internals.settle(answer, REJECTED, error);
      }
    }
    return answered;
  }

  /** True once closed. */
  get closed(): boolean {
    return Atomics.load(this.#state, CLOSED) === 1;
  }

  /**
   * Closes the host: waiting and later client calls fail with
   * `LoopClosedError`, and so do calls whose handler returned a Future that
   * has not settled yet (nobody would pass its outcome on).
   */
  close(): void {
    if (Atomics.exchange(this.#state, CLOSED, 1) === 1) return;
    hosts.delete(this.#id);
    const error = new LoopClosedError("the ControlHost was closed");
    for (const { answer } of this.#inbox.requests.splice(0)) {
      internals.settle(answer, REJECTED, error);
    }
    for (const answer of this.#answering) internals.settle(answer, REJECTED, error);
    this.#answering.clear();
  }

  /** `using host = new ControlHost(...)`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The background side of a {@linkcode ControlHost}: `call()` returns a
 * future answered when the host thread calls `process()`. It is used on the
 * host's thread or its descendants (the calls travel up to the host): if the
 * way there ends (a worker between them dies) the call fails with
 * `WorkerCrashedError`; the host thread's own end ends its descendants with
 * it; a closed host fails them with `LoopClosedError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ControlHost } from "@tandem/tandem";
 * using host = new ControlHost({ tick: () => "tock" });
 * const reply = host.client.call("tick");
 * host.process();
 * assert.equal(await reply, "tock");
 * ```
 */
export class ControlClient<H extends ControlHandlers> {
  readonly #state: Int32Array;

  /** Made by its `ControlHost`. */
  constructor(buffer: SharedArrayBuffer) {
    this.#state = new Int32Array(buffer);
    shareables.set(this, () => ({ kind: "ControlClient", buffer }));
  }

  static {
    registerShareable("ControlClient", (buffer) => new ControlClient(buffer));
  }

  /** Asks the host to run handler `name` with `args`; fails with `LoopClosedError` once it is closed. */
  call<K extends keyof H & string>(
    name: K,
    ...args: Parameters<H[K]>
  ): Future<Awaited<ReturnType<H[K]>>>;
  call(name: string, ...args: unknown[]): Future<unknown> {
    if (Atomics.load(this.#state, CLOSED) === 1) {
      return Future.reject(new LoopClosedError("ControlClient.call: the host is closed"));
    }
    try {
      return enqueue(`${this.#state[THREAD]}:${this.#state[SERIAL]}`, name, args);
    } catch (error) {
      return Future.reject(error);
    }
  }
}

/** Queues a client's request on its host, or sends it up towards it. */
function enqueue(id: string, name: string, args: unknown[]): Future<unknown> {
  const inbox = hosts.get(id);
  if (inbox === undefined) {
    if (hasParent()) return callUp("control", id, name, args, `${name}()`, 0);
    throw new LoopNotFoundError(
      "ControlClient.call: its host is not on this thread or an ancestor of it",
    );
  }
  const answer = new Future<unknown>();
  inbox.requests.push({ name, args, answer });
  if (inbox.arrived !== undefined) internals.settle(inbox.arrived, FULFILLED, undefined);
  return answer;
}

onForwarded("control", (id, name, args) => enqueue(id, name, args));
