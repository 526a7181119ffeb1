/**
 * The entry of every tandem worker: the top of the house on a worker
 * thread, as `mod.ts` is on the thread that starts it. It loads what a
 * worker must know before its first call arrives — the shared primitives,
 * which register how they are revived when one arrives as an argument, and
 * the named-loop forwarding of `getLoop` — then serves.
 *
 * @module
 */

import "./primitives/event.ts";
import "./primitives/queue.ts";
import "./primitives/semaphore.ts";
import "./primitives/control.ts";
import "./loop/get_loop.ts";
import { serveAsWorker } from "./loop/worker_host.ts";

// (Imported by `mod.ts` only to be part of its module graph: it serves only as a worker's entry.)
if (import.meta.main) serveAsWorker();
