/// <reference lib="deno.worker" />
// Plain awaited postMessage: echo x + 1 with the id.
self.onmessage = ({ data }: MessageEvent<[number, number]>) => {
  self.postMessage([data[0], data[1] + 1]);
};
