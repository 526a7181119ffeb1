/**
 * What tandem needs of the runtime: the contract each platform implements.
 *
 * @module
 */

/** The permissions a worker gets: Deno's, the only runtime that gives a worker its own. */
export type WorkerPermissions = Deno.PermissionOptions;

/** A value stored for the duration of a call, and after its `await`s. */
export interface CallStorage<T> {
  /** Calls `fn(...args)` with `store` current (arguments passed on: no closure per call). */
  run<A extends unknown[], R>(store: T, fn: (...args: A) => R, ...args: A): R;
  getStore(): T | undefined;
}

/** What tandem needs of the runtime. */
export interface Platform {
  /** The URL relative paths are resolved against (the working directory, ending in `/`). */
  baseUrl(): string;
  /** Throws, naming `what` and the flag to add, when this program may not read `url`. */
  checkReadable(url: URL, what: string): void;
  /** `asked` plus read access to the local `modules` a worker must load; throws when the runtime cannot give a worker its own permissions. */
  workerPermissions(asked: WorkerPermissions, modules: URL[]): WorkerPermissions;
  /** Starts a module worker running `url`. */
  startWorker(url: URL, name: string, permissions: WorkerPermissions | undefined): Worker;
  /** Lets the program end while `timer` is pending. */
  unrefTimer(timer: ReturnType<typeof setTimeout>): void;
  /** Calls `fn` after the pending I/O events of this turn (`setImmediate`). */
  later(fn: () => void): void;
  /** Structured serialization to bytes and back (for values kept in shared memory). */
  serialize(value: unknown): Uint8Array;
  deserialize(bytes: Uint8Array): unknown;
  /** Takes one message off `port` now, without waiting for the event loop. */
  receiveMessageOnPort(port: MessagePort): { message: unknown } | undefined;
  /** A storage that follows a call through its `await`s. */
  callStorage<T>(): CallStorage<T>;
  /**
   * In a worker: calls `dying(why)` before the worker ends itself
   * (`self.close()`, the runtime's exit), and returns a `close` that ends
   * this worker without calling `dying`.
   */
  hookWorkerEnd(dying: (why: Error) => void): () => void;
}
