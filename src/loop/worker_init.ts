/**
 * The first message a tandem worker gets from the thread that starts it.
 *
 * @module
 */

import type { Bell } from "../thread/threads.ts";
import type { ChannelEnds } from "../wire/channel.ts";
import type { InheritedLoop } from "./named_loops.ts";

/** What the parent sends first. */
export interface WorkerInit {
  ends: ChannelEnds;
  /** The thread directory, this worker's id in it, its parent's, and its doorbell. */
  directory: SharedArrayBuffer;
  id: number;
  parent: number;
  bell: Bell;
  module: string | undefined;
  /** The other modules it may serve (see `checkServed`); none given: any, if no `module`. */
  modules: string[] | undefined;
  /** The loops this worker can reach by name (see `getLoop`). */
  loops: InheritedLoop[];
}
