// Shared helpers for the node --test suites: vector loading and error capture.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { fromHex, ProtocolError } from "../../web/static/js/protocol.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const VECTORS = path.resolve(here, "../../crypto/vectors");

export function load(name) {
  return JSON.parse(fs.readFileSync(path.join(VECTORS, name), "utf8"));
}

export const h = (text) => fromHex(text);

/** Run fn; return the ProtocolError code, or null if it succeeded. Anything else fails the test. */
export async function errorOf(fn) {
  try {
    await fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return null;
}
