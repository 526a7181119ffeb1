/**
 * The named loops of this thread, and those its ancestors registered: the
 * registry behind `getLoop` (Duck's loop manager). It holds handles of any
 * kind: `BackgroundLoop` gives it the factory that makes a handle on a loop
 * an ancestor registered.
 *
 * @module
 */

/** What a worker learns of the loops its ancestors registered. */
export interface InheritedLoop {
  name: string;
  module: string | undefined;
  taskTypes: string[] | undefined;
}

/** What the registry needs of a loop handle. */
export interface NamedLoop {
  readonly name: string;
  readonly closed: boolean;
  readonly module: URL | undefined;
  readonly taskTypes: string[] | undefined;
}

const registered = new Map<string, NamedLoop>();
const inherited = new Map<string, NamedLoop>();
let inheritedInfo: InheritedLoop[] = [];
let makeInherited: ((info: InheritedLoop) => NamedLoop) | undefined;

/** Given once, by the loop class: how a handle on an ancestor's loop is made. */
export function provideInheritedLoops(make: (info: InheritedLoop) => NamedLoop): void {
  makeInherited = make;
}

/** Called by `BackgroundLoop.start` with a `name`. */
export function registerLoop(name: string, loop: NamedLoop): void {
  const known = registered.get(name);
  if (known !== undefined && !known.closed) {
    throw new TypeError(
      `a loop named "${name}" is already registered on this thread; close it first`,
    );
  }
  registered.set(name, loop);
}

/** Called by `close()`. */
export function unregisterLoop(name: string, loop: NamedLoop): void {
  if (registered.get(name) === loop) registered.delete(name);
}

/** The loops a new worker inherits: this thread's, then its ancestors' not shadowed. */
export function loopsToInherit(): InheritedLoop[] {
  const list: InheritedLoop[] = [...registered.values()].filter((loop) => !loop.closed).map((
    loop,
  ) => ({
    name: loop.name,
    module: loop.module?.href,
    taskTypes: loop.taskTypes,
  }));
  for (const info of inheritedInfo) {
    if (!registered.has(info.name)) list.push(info);
  }
  return list;
}

/** A worker's start: what its parent could see. */
export function inheritLoops(list: InheritedLoop[]): void {
  inheritedInfo = list;
}

/** The loop named `id` here, or else an ancestor's (a handle made on first use); undefined if none. */
export function namedLoop(id: string): NamedLoop | undefined {
  const own = registered.get(id);
  if (own !== undefined && !own.closed) return own;
  const info = inheritedInfo.find((loop) => loop.name === id);
  if (info === undefined) return undefined;
  let handle = inherited.get(id);
  if (handle === undefined || handle.closed) {
    handle = makeInherited!(info);
    inherited.set(id, handle);
  }
  return handle;
}

/** The names known here, this thread's first. */
export function knownLoops(): string[] {
  return [...registered.keys(), ...inheritedInfo.map((loop) => loop.name)];
}
