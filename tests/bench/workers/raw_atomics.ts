/// <reference lib="deno.worker" />
// The floor: both sides sleep in Atomics.wait. Word 0: requests, 1: replies,
// 2: the payload, 3: -1 asks the worker to stop.
self.onmessage = (event: MessageEvent<SharedArrayBuffer>) => {
  const words = new Int32Array(event.data);
  let seen = 0;
  for (;;) {
    Atomics.wait(words, 0, seen);
    const request = Atomics.load(words, 0);
    if (request === seen) continue;
    seen = request;
    if (words[3] === -1) return;
    words[2] = words[2] + 1;
    Atomics.add(words, 1, 1);
    Atomics.notify(words, 1);
  }
};
