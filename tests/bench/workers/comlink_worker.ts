/// <reference lib="deno.worker" />
import * as Comlink from "comlink";
Comlink.expose({ add: (a: number, b: number) => a + b });
