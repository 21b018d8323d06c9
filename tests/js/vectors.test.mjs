// Run every shared vector file against protocol.js under Node (the same checks run in Chromium).

import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";

import { CHECKS, importModules, makeTesting } from "./vector_checks.mjs";
import { load, VECTORS } from "./helpers.mjs";

const m = await importModules(new URL("../../web/static/js/", import.meta.url).href);
const t = makeTesting(m);

test("every vector file has a check", () => {
  const files = fs.readdirSync(VECTORS).filter((f) => f.endsWith(".json")).sort();
  assert.deepEqual(files, Object.keys(CHECKS).sort());
});

for (const [name, check] of Object.entries(CHECKS)) {
  test(name, async () => {
    await check(load(name), m, t);
  });
}
