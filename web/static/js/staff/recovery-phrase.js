// The recovery phrase on the staff pages (PROTOCOL.md §13.2): nine words made in this browser,
// shown once, checked by typing some of them back, then the only way to unlock the key they lock.
// The markup is server/templates/staff/macros.html (phrase_steps, phrase_field, phrase_strings).

import { generateRecoveryPhrase } from "./keys-lib.js";
import { el, say } from "../shared/dom.js";
import { format, pageStrings } from "../shared/strings.js";

/** How many of the nine words a person types back to show they wrote the phrase down. */
export const CHECKED_WORDS = 3;
const PREFIX = 4; // the protocol accepts the first four letters of any word

// Words of the public list (BIP-39 English) that could distress staff of a victim-support centre
// on a page of their own: violence and abuse, death, crime, weapons and war, fear and despair,
// addiction, broken families. A phrase with one of them is drawn again. The list itself cannot
// change (it is the protocol's), and this costs about half a bit of the phrase's 88 (~27% of
// phrases are drawn again): every phrase shown is still uniform over the ~2^87.5 others.
export const AVOIDED_WORDS = new Set([
  // violence and abuse
  "abandon", "abuse", "assault", "attack", "betray", "blood", "cruel", "crush", "hurt", "inflict", "injury",
  "kick", "neglect", "punch", "shove", "slam", "strike", "trap", "vicious", "whip", "wrestle",
  // death
  "demise", "fatal", "skull", "tragic",
  // crime
  "accuse", "arrest", "crime", "guilt", "illegal", "inmate", "liar", "prison", "riot", "suspect",
  // weapons and war
  "armed", "armor", "army", "blade", "blast", "bomb", "bullet", "bunker", "cannon", "destroy", "enemy", "gun",
  "knife", "pistol", "rifle", "shoot", "siege", "soldier", "sword", "trigger", "warfare", "warrior", "weapon",
  // fear and despair
  "afraid", "anxiety", "danger", "despair", "grief", "horror", "misery", "panic", "scare",
  // addiction and broken families
  "addict", "alcohol", "divorce", "orphan",
]);

/** A fresh recovery phrase without any of AVOIDED_WORDS. */
export async function gentlePhrase() {
  for (;;) {
    const phrase = await generateRecoveryPhrase();
    if (!phrase.split(" ").some((word) => AVOIDED_WORDS.has(word))) return phrase;
  }
}

/** Does what a person typed stand for `word` (any case, spaces around, or its first four letters)? */
export function sameWord(typed, word) {
  const t = String(typed).trim().toLowerCase();
  return t === word || (t.length >= PREFIX && word.startsWith(t));
}

/** `count` different word positions (1..9), in order, chosen at random. */
export function checkPositions(count = CHECKED_WORDS, words = 9) {
  const chosen = new Set();
  const random = new Uint32Array(1);
  while (chosen.size < count) {
    globalThis.crypto.getRandomValues(random);
    chosen.add(1 + (random[0] % words));
  }
  return [...chosen].sort((a, b) => a - b);
}

/** What to tell a person whose typed phrase was refused before any key work, or null. */
export function phraseProblem(error) {
  const t = pageStrings("phrase-strings");
  return error?.code?.startsWith?.("bad_code_") ? (t[error.code] ?? null) : null;
}

/** The message for a phrase that does not open a key (bad_tag) and the "unlocking" note. */
export function phraseStrings() {
  return pageStrings("phrase-strings");
}

/** "Show the words as I type" next to every phrase field on the page. */
export function wirePhraseFields(doc = document) {
  for (const toggle of doc.querySelectorAll(".phrase-toggle")) {
    const field = doc.getElementById(toggle.dataset.for);
    toggle.addEventListener("change", () => {
      field.type = toggle.checked ? "text" : "password";
    });
    toggle.form?.addEventListener("reset", () => {
      field.type = "password";
    });
  }
}

/**
 * The steps of making a key: show a new phrase, ask for CHECKED_WORDS of its words, then hand it
 * to `confirmed(phrase)` (which makes and stores the key; if it throws, the person may try again
 * with the same phrase). `hide` are the page's other sections, hidden while this runs.
 * Returns { start(), cancel() }; the phrase is forgotten (and wiped from the page) when done.
 */
export function phraseSteps({ errorBox, confirmed, hide = [] }) {
  const t = pageStrings("phrase-strings");
  const $ = (id) => document.getElementById(id);
  const panel = $("phrase-panel");
  const form = $("phrase-check-form");
  const list = $("phrase-words");
  const fields = $("check-words");
  let phrase = null;
  let positions = [];

  const focusHeading = (section) => section.querySelector("h2")?.focus();

  function showPhrase() {
    form.hidden = true;
    panel.hidden = false;
    focusHeading(panel);
  }

  function askWords() {
    positions = checkPositions();
    fields.replaceChildren(
      ...positions.map((n) =>
        el(
          "p",
          { class: "stack" },
          el("label", { for: `check-word-${n}`, text: format(t.word, { n }) }),
          el("input", {
            id: `check-word-${n}`,
            type: "text",
            "data-position": n,
            autocomplete: "off",
            autocapitalize: "none",
            spellcheck: "false",
            maxlength: "32",
            required: true,
          }),
        ),
      ),
    );
    panel.hidden = true;
    form.hidden = false;
    say(errorBox, "");
    focusHeading(form);
  }

  function forget() {
    phrase = null;
    positions = [];
    list.replaceChildren();
    fields.replaceChildren();
    panel.hidden = true;
    form.hidden = true;
  }

  $("phrase-written").addEventListener("click", askWords);
  $("phrase-back").addEventListener("click", () => {
    say(errorBox, "");
    showPhrase();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (phrase === null) return;
    const words = phrase.split(" ");
    const wrong = positions.find((n) => !sameWord($(`check-word-${n}`).value, words[n - 1]));
    if (wrong !== undefined) {
      say(errorBox, format(t.check_wrong, { n: wrong }));
      $(`check-word-${wrong}`).focus();
      return;
    }
    say(errorBox, "");
    if (await confirmed(phrase)) forget();
  });

  return {
    async start() {
      for (const section of hide) section.hidden = true;
      phrase = await gentlePhrase();
      list.replaceChildren(...phrase.split(" ").map((word) => el("li", { text: word })));
      showPhrase();
    },
    cancel: forget,
  };
}
