/**
 * Moving large buffers with transfer() (piscina's move, Comlink's transfer):
 * a pool of two workers inverts 2048×2048 RGBA images (16 MiB each), the
 * pixels moved to the worker and back, then the same with copies.
 *
 *   deno run --allow-read examples/transfer_image.ts
 */
import { BackgroundLoop, transfer } from "../mod.ts";
import type * as Tasks from "./tasks.ts";

const SIDE = 2048, IMAGES = 8;
using pool = BackgroundLoop.start<typeof Tasks>(new URL("./tasks.ts", import.meta.url), {
  workers: 2,
});
await Promise.all([pool.api.add(0, 0), pool.api.add(0, 0)]); // warm: both workers started

function images(): Uint8Array[] {
  return Array.from({ length: IMAGES }, (_, n) => new Uint8Array(SIDE * SIDE * 4).fill(n));
}

async function invertAll(move: boolean): Promise<number> {
  const sent = images();
  const start = performance.now();
  const inverted = await Promise.all(
    sent.map((pixels) =>
      move
        ? pool.api.invertImage(transfer(pixels, [pixels.buffer]), true) // moved there and back
        : pool.api.invertImage(pixels, false) // copied there and back
    ),
  );
  const ms = performance.now() - start;
  if (move !== sent.every((pixels) => pixels.length === 0)) throw new Error("moved?");
  if (inverted.some((pixels, n) => pixels[0] !== 255 - n)) throw new Error("not inverted");
  return ms;
}

const MiB = (SIDE * SIDE * 4 * IMAGES) / (1 << 20);
const moved = await invertAll(true);
const copied = await invertAll(false);
console.log(`inverted ${IMAGES} images (${MiB} MiB) on 2 workers:`);
console.log(`  moved with transfer(): ${moved.toFixed(1)} ms (the sender's buffers detached)`);
console.log(`  copied both ways:      ${copied.toFixed(1)} ms`);
console.log(`  the move saved ${(copied - moved).toFixed(1)} ms of copying`);
