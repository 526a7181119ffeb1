/**
 * A spin before `Atomics.wait` that adapts: a spin that catches the change
 * doubles the next one, a spin that does not quarters it, down to none, so
 * it settles where it pays (threads on two cores: sub-microsecond wake-ups)
 * and dies out where it does not (a busy machine), then probes again once in
 * a while. With one CPU it never spins.
 *
 * @module
 */

const SPIN_MAX = 20_000;
const SPIN_PROBE = 512; // a spin that has died out tries again at this length...
const PROBE_EVERY = 64; // ...once in this many waits
const SPIN_FLOOR = SPIN_PROBE >> 3; // a spin shrunk below this stops
/**
 * Spinning only pays where the peer can run meanwhile: with one CPU (or a
 * process pinned to one, e.g. `taskset -c 0`) it never does. Worse, a spin
 * that the scheduler preempted finds the change when it resumes and counts
 * as a success, so the adaptation alone does not die out there (measured:
 * 0.75 µs per blocking call).
 */
const CAN_SPIN = (globalThis.navigator?.hardwareConcurrency ?? 2) > 1;

/** One adaptive spin budget (keep one per kind of wait). */
export class AdaptiveSpin {
  #spin = CAN_SPIN ? SPIN_PROBE : 0;
  #waits = 0;

  /**
   * Waits until `words[index]` is no longer `value` or `ms` pass; true if it
   * changed (or was woken).
   */
  wait(words: Int32Array, index: number, value: number, ms: number): boolean {
    let spin = this.#spin;
    if (spin === 0 && CAN_SPIN && ++this.#waits % PROBE_EVERY === 0) spin = SPIN_PROBE;
    for (let i = 0; i < spin; i++) {
      if (Atomics.load(words, index) !== value) {
        this.#spin = Math.min(SPIN_MAX, spin * 2);
        return true;
      }
    }
    const shrunk = spin >> 2;
    this.#spin = shrunk < SPIN_FLOOR ? 0 : shrunk;
    return sleepOn(words, index, value, ms);
  }
}

/**
 * `Atomics.wait` taking `Infinity` for "no limit": true if `words[index]`
 * was no longer `value` or a notify came, false if `ms` passed.
 */
export function sleepOn(words: Int32Array, index: number, value: number, ms: number): boolean {
  return Atomics.wait(words, index, value, ms === Infinity ? undefined : ms) !== "timed-out";
}
