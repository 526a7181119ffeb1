/**
 * The runs that use each virtual clock, which hear when it moves (a clock is
 * any object here: virtual_clock.ts imports this file). Kept
 * here, beside the clock rather than in it, so that the run loop attaches to
 * a clock without any private access to it.
 *
 * @module
 */

/** A run attached to a virtual clock hears when it moves. @internal */
export interface ClockListener {
  clockMoved(): void;
}

/** A virtual clock. */
type Clock = object;

/** Each clock's listeners (a clock nobody holds goes, with its set). */
const listeners = new WeakMap<Clock, Set<ClockListener>>();

/** `listener` hears when `clock` moves, until detached. @internal */
export function attachToClock(clock: Clock, listener: ClockListener): void {
  const set = listeners.get(clock);
  if (set === undefined) listeners.set(clock, new Set([listener]));
  else set.add(listener);
}

/** `listener` no longer hears `clock`. @internal */
export function detachFromClock(clock: Clock, listener: ClockListener): void {
  listeners.get(clock)?.delete(listener);
}

/** Tells every listener of `clock` that it moved. @internal */
export function clockMoved(clock: Clock): void {
  const set = listeners.get(clock);
  if (set !== undefined) { for (const listener of set) listener.clockMoved(); }
}
