/**
 * Calls that go up the tree of threads: from a worker to the thread that
 * started it, and on up. A worker reaches the loops its ancestors registered
 * (`getLoop(name)`) and the control hosts they own this way: its parent
 * answers a forwarded call by making it itself (which may forward it again)
 * and sending back the outcome. The parent does this plumbing inside any
 * pump, even while it blocks in `wait()`: no user code of the parent runs.
 *
 * @module
 */

import { LoopNotFoundError } from "../errors.ts";
import type { Future } from "../future/future.ts";
import { outcomeOf } from "../future/outcome.ts";
import { type CallHandler, type Channel, epochNow } from "../wire/channel.ts";

/** Marks a forwarded call's function reference: `\0up:<kind>\0<target>\0<rest>`. */
const UP = "\u0000up:";

/** What a thread does with forwarded calls of one kind (loops, control hosts). */
export type Forwarder = (
  target: string,
  rest: string,
  args: unknown[],
  timeoutMs: number,
) => Future<unknown>;

const forwarders = new Map<string, Forwarder>();
let parent: Channel | undefined;

/** Registers how this thread answers forwarded calls of `kind`. */
export function onForwarded(kind: string, forwarder: Forwarder): void {
  forwarders.set(kind, forwarder);
}

/** A worker's channel to the thread that started it. */
export function setParent(channel: Channel): void {
  parent = channel;
}

/** True in a worker started by tandem. */
export function hasParent(): boolean {
  return parent !== undefined;
}

/** Sends a call of `kind` for `target` up to the parent thread. */
export function callUp(
  kind: string,
  target: string,
  rest: string,
  args: unknown[],
  label: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Future<unknown> {
  if (parent === undefined) throw new LoopNotFoundError(`${label}: this thread has no parent`);
  return parent.call(`${UP}${kind}\u0000${target}\u0000${rest}`, args, label, timeoutMs, signal);
}

/** The handler of a channel to a child: it answers forwarded calls only. */
export function forwardingHandler(): CallHandler {
  const running = new Map<number, Future<unknown>>();
  return {
    call(channel, id, fn, args, timeout) {
      let future: Future<unknown>;
      try {
        if (!fn.startsWith(UP)) {
          throw new TypeError(
            `a worker called ${fn} on the thread that started it, which serves none`,
          );
        }
        const [kind, target, rest] = fn.slice(UP.length).split("\u0000");
        const forward = forwarders.get(kind);
        if (forward === undefined) throw new TypeError(`no forwarder for ${kind} calls`);
        // (What is left of the caller's timeout goes on with it; 0: none.)
        const timeoutMs = timeout === 0
          ? 0
          : Math.max(1, Math.min(timeout[0], timeout[1] - epochNow()));
        future = forward(target, rest, args, timeoutMs);
      } catch (error) {
        channel.reply(id, false, error, "a forwarded call");
        return;
      }
      running.set(id, future);
      future.onDone(() => {
        running.delete(id);
        const outcome = outcomeOf(future)!;
        const value = outcome.ok ? outcome.value : outcome.error;
        channel.reply(id, outcome.ok, value, "a forwarded call");
      });
    },
    cancel(id, reason) {
      running.get(id)?.cancel(reason);
    },
  };
}
