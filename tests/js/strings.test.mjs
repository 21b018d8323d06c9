// The words pages get from the server (web/static/js/shared/strings.js): placeholders, and plural
// messages whose form the number chooses with Intl.PluralRules, in nb, sv and en. The forms are
// what server/i18n.py Translator.forms hands over (tests/test_i18n.py checks that side).

import assert from "node:assert/strict";
import { test } from "node:test";

import { format, isPlural, translator } from "../../web/static/js/shared/strings.js";

const WAIT = {
  nb: { count: "minutes", lang: "nb", forms: { other: "Anslått ventetid: omtrent %(minutes)s minutter.", one: "Anslått ventetid: omtrent %(minutes)s minutt." } },
  sv: { count: "minutes", lang: "sv", forms: { other: "Beräknad väntetid: ungefär %(minutes)s minuter.", one: "Beräknad väntetid: ungefär %(minutes)s minut." } },
  en: { count: "minutes", lang: "en", forms: { other: "Estimated wait: about %(minutes)s minutes.", one: "Estimated wait: about %(minutes)s minute." } },
};

test("a plural message takes the form its number asks for, in every language", () => {
  assert.equal(format(WAIT.en, { minutes: 1 }), "Estimated wait: about 1 minute.");
  assert.equal(format(WAIT.en, { minutes: 2 }), "Estimated wait: about 2 minutes.");
  assert.equal(format(WAIT.en, { minutes: 0 }), "Estimated wait: about 0 minutes.");
  assert.equal(format(WAIT.nb, { minutes: 1 }), "Anslått ventetid: omtrent 1 minutt.");
  assert.equal(format(WAIT.nb, { minutes: 21 }), "Anslått ventetid: omtrent 21 minutter.");
  assert.equal(format(WAIT.sv, { minutes: 1 }), "Beräknad väntetid: ungefär 1 minut.");
  assert.equal(format(WAIT.sv, { minutes: 11 }), "Beräknad väntetid: ungefär 11 minuter.");
});

test("a translator hands plain strings as written and plural ones formed", () => {
  const t = translator({ hello: "Hei, %(name)s", wait: WAIT.nb });
  assert.equal(t("hello"), "Hei, %(name)s");
  assert.equal(t("hello", { name: "Ada" }), "Hei, Ada");
  assert.equal(t("wait", { minutes: 1 }), "Anslått ventetid: omtrent 1 minutt.");
  assert.equal(t("missing"), "missing");
  assert.ok(isPlural(WAIT.sv));
  assert.ok(!isPlural("text"));
  assert.ok(!isPlural(null));
});

test("an unknown language or category falls back to the other form", () => {
  const odd = { count: "count", lang: "not a tag!", forms: { other: "%(count)s things", one: "%(count)s thing" } };
  assert.equal(format(odd, { count: 1 }), "1 things");
  const fewOnly = { count: "count", lang: "en", forms: { other: "%(count)s things" } };
  assert.equal(format(fewOnly, { count: 1 }), "1 things");
});
