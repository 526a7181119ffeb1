/// <reference lib="deno.worker" />
import * as Comlink from "npm:comlink@4.4.2";
Comlink.expose({ add: (a: number, b: number) => a + b });
