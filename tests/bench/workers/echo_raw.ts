/// <reference lib="deno.worker" />
// A raw module worker echoing with postMessage: `[id, value, move]`, where
// `move` says to transfer the value's buffer back.
self.onmessage = ({ data }: MessageEvent<[number, unknown, boolean]>) => {
  const [id, value, move] = data;
  self.postMessage([id, value, move], move ? [(value as Uint8Array).buffer as ArrayBuffer] : []);
};
