// The recovery-phrase steps of the staff key pages (web/static/js/staff/recovery-phrase.js), without
// a browser: the words it avoids, the check of typed words, the positions it asks for.

import assert from "node:assert/strict";
import { test } from "node:test";

import { parseRecoveryPhrase } from "../../web/static/js/protocol.js";
import { WORDS } from "../../web/static/js/protocol/wordlist.js";
import { AVOIDED_WORDS, checkPositions, gentlePhrase, sameWord } from "../../web/static/js/staff/recovery-phrase.js";

test("every avoided word is a word of the list, so none is a typo that avoids nothing", () => {
  const list = new Set(WORDS);
  assert.deepEqual([...AVOIDED_WORDS].filter((w) => !list.has(w)), []);
  assert.ok(AVOIDED_WORDS.size < 100); // ~0.5 bit of the phrase's 88
});

test("a gentle phrase is a valid phrase without an avoided word", async () => {
  for (let i = 0; i < 200; i++) {
    const phrase = await gentlePhrase();
    assert.equal(await parseRecoveryPhrase(phrase), phrase);
    assert.deepEqual(phrase.split(" ").filter((w) => AVOIDED_WORDS.has(w)), []);
  }
});

test("a typed word counts as people type it: case, spaces, the first four letters", () => {
  assert.ok(sameWord("absorb", "absorb"));
  assert.ok(sameWord("  ABSO ", "absorb"));
  assert.ok(sameWord("absor", "absorb"));
  assert.ok(sameWord("Zoo", "zoo"));
  assert.ok(!sameWord("abs", "absorb")); // three letters are not enough
  assert.ok(!sameWord("absorbs", "absorb"));
  assert.ok(!sameWord("abst", "absorb"));
  assert.ok(!sameWord("", "zoo"));
});

test("the words asked for are three different positions of nine, in order", () => {
  const seen = new Set();
  for (let i = 0; i < 300; i++) {
    const positions = checkPositions();
    assert.equal(positions.length, 3);
    assert.deepEqual(positions, [...new Set(positions)].sort((a, b) => a - b));
    for (const n of positions) {
      assert.ok(n >= 1 && n <= 9);
      seen.add(n);
    }
  }
  assert.equal(seen.size, 9);
});
