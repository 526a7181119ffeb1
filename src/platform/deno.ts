/**
 * The Deno platform: chosen by `platform.ts` where `Deno` exists. It reaches
 * Node's built-ins that Deno provides (`node:v8`, `node:worker_threads`,
 * `node:async_hooks`) through `process.getBuiltinModule` on first use, not
 * by a static import, which a browser loading tandem could not resolve.
 *
 * @module
 */

import type { CallStorage, Platform, WorkerPermissions } from "./types.ts";

/** The parts of Node's built-ins tandem uses. */
interface Builtins {
  v8: {
    serialize(value: unknown): Uint8Array;
    deserialize(bytes: Uint8Array): unknown;
  };
  worker_threads: {
    receiveMessageOnPort(port: MessagePort): { message: unknown } | undefined;
  };
  async_hooks: {
    AsyncLocalStorage: new <T>() => CallStorage<T>;
  };
}

const cache: Partial<Builtins> = {};
function builtin<K extends keyof Builtins>(name: K): Builtins[K] {
  const process = (globalThis as unknown as {
    process: { getBuiltinModule(id: string): unknown };
  }).process;
  return cache[name] ??= process.getBuiltinModule(`node:${name}`) as Builtins[K];
}

export const deno: Platform = {
  baseUrl(): string {
    const cwd = Deno.cwd().replaceAll("\\", "/");
    return `file://${cwd.startsWith("/") ? "" : "/"}${cwd}/`;
  },

  checkReadable(url: URL, what: string): void {
    if (url.protocol !== "file:" || typeof Deno?.permissions?.querySync !== "function") return;
    const { state } = Deno.permissions.querySync({ name: "read", path: url });
    if (state !== "granted") {
      throw new Deno.errors.NotCapable(
        `BackgroundLoop needs read access to ${what} (${url.pathname}): run with --allow-read`,
      );
    }
  },

  /**
   * Deno ends the process (exit code 70, with a message naming the flag)
   * rather than throw when `--unstable-worker-options` is missing: where
   * tandem can tell, it throws first.
   */
  workerPermissions(asked: WorkerPermissions, modules: URL[]): WorkerPermissions {
    if (workerOptionsEnabled() === false) {
      throw new TypeError(
        "BackgroundLoop.start({ permissions }) needs Deno's --unstable-worker-options flag " +
          '(or "unstable": ["worker-options"] in deno.json): run with it, or leave permissions out',
      );
    }
    if (asked === "inherit") return asked;
    // "none", and a permission an object leaves out, mean none to Deno.
    const object: Exclude<Deno.PermissionOptions, string> = asked === "none" ? {} : asked;
    const read = object.read;
    if (read === true || read === "inherit") return object;
    const files = modules.filter((m) => m.protocol === "file:");
    const paths = (Array.isArray(read) ? read : []) as (string | URL)[];
    return { ...object, read: [...paths, ...files] };
  },

  startWorker(url: URL, name: string, permissions: WorkerPermissions | undefined): Worker {
    return new Worker(url, {
      type: "module",
      name,
      ...(permissions && { deno: { permissions } }),
    });
  },

  unrefTimer(timer: ReturnType<typeof setTimeout>): void {
    Deno.unrefTimer(timer as unknown as number);
  },

  later(fn: () => void): void {
    setImmediate(fn);
  },

  serialize(value: unknown): Uint8Array {
    return builtin("v8").serialize(value);
  },

  deserialize(bytes: Uint8Array): unknown {
    return builtin("v8").deserialize(bytes);
  },

  receiveMessageOnPort(port: MessagePort): { message: unknown } | undefined {
    return builtin("worker_threads").receiveMessageOnPort(port);
  },

  callStorage<T>(): CallStorage<T> {
    return new (builtin("async_hooks").AsyncLocalStorage)<T>();
  },

  hookWorkerEnd(dying: (why: Error) => void): () => void {
    const scope = globalThis as unknown as { close(): void };
    const close = scope.close.bind(globalThis);
    scope.close = () => {
      dying(new Error("the worker called self.close()"));
      close();
    };
    const exit = Deno.exit;
    Deno.exit = ((code?: number) => {
      dying(new Error(`the worker called Deno.exit(${code ?? ""})`));
      return exit(code);
    }) as typeof Deno.exit;
    return close;
  },
};

/**
 * Whether this process runs with `--unstable-worker-options`: Deno tells no
 * program, so its configuration (`deno.json`, `"unstable"`) and command line
 * are read where they can be (the command line needs `--allow-all`, on
 * Linux); undefined when it cannot tell.
 */
function workerOptionsEnabled(): boolean | undefined {
  let dir: string;
  try {
    dir = Deno.cwd();
  } catch {
    return undefined;
  }
  for (;; dir = dir.slice(0, dir.lastIndexOf("/")) || "/") {
    for (const name of ["deno.json", "deno.jsonc"]) {
      try {
        if (/"worker-options"/.test(Deno.readTextFileSync(`${dir}/${name}`))) return true;
      } catch { /* not there, or not readable */ }
    }
    if (dir === "/") break;
  }
  try {
    return Deno.readTextFileSync("/proc/self/cmdline").split("\0").includes(
      "--unstable-worker-options",
    );
  } catch {
    return undefined;
  }
}
