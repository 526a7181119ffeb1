/// <reference lib="deno.worker" />
// What payload_bench.ts calls through tandem.
import { transfer } from "../../../mod.ts";

export function echo<T>(value: T): T {
  return value;
}

export function echoMoved(bytes: Uint8Array): Uint8Array {
  return transfer(bytes, [bytes.buffer]);
}

export function add(a: number, b: number): number {
  return a + b;
}
