/// <reference lib="deno.worker" />
// synckit's technique: the request comes by postMessage, the reply goes by
// postMessage and a notify; the caller reads it with receiveMessageOnPort.
self.onmessage = (event: MessageEvent<{ port: MessagePort; words: SharedArrayBuffer }>) => {
  const { port } = event.data;
  const words = new Int32Array(event.data.words);
  port.onmessage = ({ data }) => {
    port.postMessage((data as number) + 1);
    Atomics.add(words, 0, 1);
    Atomics.notify(words, 0);
  };
};
