/**
 * Futures that live on several threads at once.
 *
 * When a future (or one of its resolvers) is sent to another thread, each
 * thread holds its own copy, and the copies are linked: a small shared cell
 * decides which settle wins (compare-and-swap, so "first settle wins" holds
 * across threads), and the winner's outcome travels as a message over every
 * route the future crossed, so each thread's copy settles once, with the
 * same outcome. A thread that forwards a future to a third thread relays the
 * outcome on.
 *
 * A copy stays registered (strongly held) while it is pending, so that an
 * outcome can always reach it.
 *
 * @module
 */

import { DeadlockError } from "../errors.ts";
import { takeMark } from "./transfer.ts";
import {
  type Blocker,
  FULFILLED,
  Future,
  type FutureLink,
  internals,
  localStall,
  REJECTED,
  type WaitPolicy,
} from "./future.ts";

/** One thread's connection to another, as far as shared futures care. */
export interface Route {
  /** The thread on the other side (its id in the thread directory; 0 if unknown). */
  readonly peer: number;
  /** This thread's blocker: blocking on a linked future pumps it. */
  readonly blocker: Blocker;
  /** The other side is still there to settle futures. */
  readonly alive: boolean;
  /** Why the other side is gone (a `WorkerCrashedError` or `LoopClosedError`). */
  goneError(): Error;
  /** Tells the other side that future `id` settled (numeric state, raw value). */
  sendSettle(id: string, state: number, value: unknown): void;
}

/** What crosses to identify a shared future. */
export interface SharedRef {
  id: string;
  cell: SharedArrayBuffer;
  /**
   * Set when the future had settled before it was sent. (The numeric state,
   * not an `Outcome`: a cancelled future must arrive cancelled.)
   */
  outcome?: { state: number; value: unknown };
}

const registry = new Map<string, Future<unknown>>();
const threadTag = Math.random().toString(36).slice(2, 10);
let nextId = 0;

class ShareLink implements FutureLink, WaitPolicy {
  readonly routes = new Set<Route>();
  /** Resolvers left this thread, or the future came from elsewhere. */
  settleableElsewhere = false;
  /** The route an outcome arrived over, so it is not echoed back. */
  arrivedOver: Route | undefined = undefined;

  constructor(
    readonly id: string,
    readonly cell: Int32Array,
    readonly blocker: Blocker,
    readonly inner: FutureLink | undefined,
  ) {}

  /** Its own waiting policy, which defers to the inner link's where it has one. */
  get waiting(): WaitPolicy {
    return this;
  }

  get deadline(): number | undefined {
    return this.inner?.waiting?.deadline;
  }

  expire(): void {
    this.inner?.waiting?.expire?.();
  }

  claim(): boolean {
    if (this.inner?.claim && !this.inner.claim()) return false;
    return Atomics.compareExchange(this.cell, 0, 0, 1) === 0;
  }

  settled(future: Future<unknown>): void {
    this.inner?.settled?.(future);
    registry.delete(this.id);
    // (State and value as they are, not an Outcome: a cancel crosses as a cancel.)
    const state = internals.state(future);
    const value = internals.value(future);
    let sends = 0;
    for (const route of this.routes) if (route !== this.arrivedOver && route.alive) sends++;
    // A value moved to one thread could not reach the others: it is copied to each.
    if (sends > 1 && typeof value === "object" && value !== null) takeMark(value);
    for (const route of this.routes) {
      if (route !== this.arrivedOver && route.alive) {
        try {
          route.sendSettle(this.id, state, value);
        } catch (error) {
          // The value cannot cross (a bad transfer, say): the other side
          // fails with the DataCloneError naming it rather than wait for ever.
          route.sendSettle(this.id, REJECTED, error);
        }
      }
    }
  }

  cancelled(error: Error): void {
    this.inner?.cancelled?.(error as never);
  }

  stalled(): Error | undefined {
    // (An inner link always came with a waiting policy; one without stalls as if none.)
    const inner = this.inner?.waiting;
    if (inner) return inner.stalled();
    if (!this.settleableElsewhere) {
      return localStall(
        new DeadlockError(
          "wait() on a future whose resolvers never left this thread: the threads it was sent to can only wait on it, so nothing else can settle it",
        ),
      );
    }
    let gone: Route | undefined;
    for (const route of this.routes) {
      if (route.alive) return undefined;
      gone = route;
    }
    return gone?.goneError();
  }
}

function linkOf(future: Future<unknown>, route: Route): ShareLink {
  const current = internals.link(future);
  if (current instanceof ShareLink) return current;
  const id = `${threadTag}.${nextId++}`;
  const link = new ShareLink(id, new Int32Array(new SharedArrayBuffer(4)), route.blocker, current);
  internals.setLink(future, link);
  if (internals.state(future) < FULFILLED) {
    registry.set(id, future);
    route.blocker.arm(route.blocker.ticket()); // before the send: its outcome may come back fast
  }
  return link;
}

/** Links `future` to `route` and returns what identifies it on the other side. */
export function shareFuture(
  future: Future<unknown>,
  route: Route,
  viaResolver: boolean,
): SharedRef {
  const link = linkOf(future, route);
  link.routes.add(route);
  if (viaResolver) link.settleableElsewhere = true;
  const state = internals.state(future);
  const outcome = state < FULFILLED ? undefined : { state, value: internals.value(future) };
  return { id: link.id, cell: link.cell.buffer as SharedArrayBuffer, outcome };
}

/**
 * The local copy of a future that arrived over `route` (the same object each
 * time the same future arrives). `decodeValue` rebuilds a settled outcome.
 */
export function reviveFuture(
  ref: SharedRef,
  route: Route,
  decodeValue: (value: unknown) => unknown,
): Future<unknown> {
  let future = registry.get(ref.id);
  if (future === undefined) {
    future = Future.withResolvers<unknown>().future;
    const link = new ShareLink(ref.id, new Int32Array(ref.cell), route.blocker, undefined);
    link.settleableElsewhere = true;
    internals.setLink(future, link);
    registry.set(ref.id, future);
    route.blocker.arm(route.blocker.ticket());
  }
  const link = internals.link(future) as ShareLink;
  link.routes.add(route);
  if (ref.outcome) {
    settleArrived(future, link, route, ref.outcome.state, decodeValue(ref.outcome.value));
  }
  return future;
}

/** What a revived resolver does: settle (first settle wins). */
export function settleShared(future: Future<unknown>, ok: boolean, value: unknown): boolean {
  return internals.settle(future, ok ? FULFILLED : REJECTED, value);
}

/** An outcome that arrived over `route` for future `id`. */
export function settleMessage(id: string, state: number, value: unknown, route: Route): void {
  const future = registry.get(id);
  if (future === undefined) return;
  settleArrived(future, internals.link(future) as ShareLink, route, state, value);
}

function settleArrived(
  future: Future<unknown>,
  link: ShareLink,
  route: Route,
  state: number,
  value: unknown,
): void {
  link.arrivedOver = route;
  try {
    internals.settle(future, state, value, true);
  } finally {
    link.arrivedOver = undefined;
  }
}

/**
 * `route`'s other side is gone: the futures it could settle and no other
 * live route leads to fail with its error, whether awaited or blocked on,
 * rather than wait for ever (even one this thread kept a resolver of: a
 * waiter is told that the thread it counted on ended).
 */
export function routeGone(route: Route): void {
  let error: Error | undefined;
  for (const future of [...registry.values()]) {
    const link = internals.link(future) as ShareLink;
    if (!link.settleableElsewhere || !link.routes.has(route)) continue;
    let alive = false;
    for (const other of link.routes) alive ||= other.alive;
    if (alive) continue;
    internals.settle(future, REJECTED, error ??= route.goneError(), true);
  }
}

/** How many shared futures this thread holds pending (they want the inbox pumped). */
export function pendingShared(): number {
  return registry.size;
}
