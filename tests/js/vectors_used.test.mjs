// Every shared vector file is run by some JS test.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { VECTORS } from "./helpers.mjs";

test("every vector file is used by a node test", () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const sources = fs.readdirSync(here).filter((f) => f.endsWith(".test.mjs")).map((f) => fs.readFileSync(path.join(here, f), "utf8")).join("");
  for (const name of fs.readdirSync(VECTORS).filter((f) => f.endsWith(".json"))) {
    assert.ok(sources.includes(`"${name}"`), name);
  }
});
