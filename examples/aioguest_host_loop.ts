/**
 * aioguest's idea: tandem's scheduler as a guest of another loop. Here the
 * host is a hand-written frame loop (a game's, say) that runs callbacks
 * between frames; the guest's tasks step only inside those callbacks, and
 * the host wakes the guest by settling a future it waits on.
 *
 *   deno run --allow-read examples/aioguest_host_loop.ts
 */
import { Future, scope, sleep, startGuestRun } from "../mod.ts";

// The host: a frame loop with a queue of callbacks to run soon.
const soon: (() => void)[] = [];
let frame = 0;
let running = true;

// What the host will hand the guest (as a game hands input to a script).
const { future: keyPressed, resolve: pressKey } = Future.withResolvers<string>();

startGuestRun(function* () {
  console.log(`frame ${frame}: guest started`);
  return yield* scope(function* (s) {
    const ticker = s.spawn(function* () {
      for (let i = 1; i <= 3; i++) {
        yield* sleep(10);
        console.log(`frame ${frame}: guest tick ${i}`);
      }
    });
    const key = yield* keyPressed; // the host wakes the guest
    console.log(`frame ${frame}: guest saw key "${key}"`);
    yield* ticker;
    return `pressed ${key}`;
  });
}, {
  runSyncSoon: (fn) => soon.push(fn),
  done: (outcome) => {
    console.log(`frame ${frame}: guest done:`, outcome);
    running = false;
  },
});

while (running) {
  frame++;
  if (frame === 3) pressKey("space");
  // Run what the guest asked for, then "render" and wait for the next frame.
  for (let n = soon.length; n > 0; n--) soon.shift()!();
  await new Promise((resolve) => setTimeout(resolve, 4)); // 4 ms frames
}
