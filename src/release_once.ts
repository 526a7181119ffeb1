/**
 * A slot or permit that gives itself back once, however often it is disposed.
 *
 * @module
 */

/** A `Disposable` whose first dispose calls `release`; later ones do nothing. */
export function releaseOnce(release: () => void): Disposable {
  let held = true;
  return {
    [Symbol.dispose]: () => {
      if (!held) return;
      held = false;
      release();
    },
  };
}
