// Asking for an interpreter on the visitor's chat page (before the chat starts, or during it):
// the language list filtered as the visitor types, in any language, and the request read from
// the form and checked (shared/interpreter-request.js). It travels encrypted like every message.

import { byId, el } from "../shared/dom.js";
import { describeRequest, interpreterRequest, searchLanguages } from "../shared/interpreter-request.js";
import { languageName, otherNames, readLanguages } from "../shared/languages.js";
import { t } from "./strings.js";

const locale = byId("chat-app").dataset.lang;
const own = readLanguages("interpreter-languages"); // code -> the language's own name
const LANGUAGES = [...own].map(([code, name]) => ({ code, name }));

/** Filter the language <select> as the visitor types in the search box above it. */
export function wireLanguageFilter(prefix) {
  const filter = byId(`${prefix}language-filter`);
  const select = byId(`${prefix}language`);
  if (!filter || !select) return;
  filter.addEventListener("input", () => {
    const chosen = select.value;
    const shown = searchLanguages(LANGUAGES, filter.value, (code) => otherNames(code, locale));
    select.replaceChildren(...shown.map((l) => el("option", { value: l.code, lang: l.code }, l.name)));
    if (shown.some((l) => l.code === chosen)) select.value = chosen;
    else if (shown.length) select.value = shown[0].code;
  });
  filter.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      select.focus();
    }
  });
}

/** The request the form with ids `prefix…` describes, checked; null if it is not valid. */
export function readRequestForm(prefix) {
  const mode = document.querySelector(`input[name="${prefix}mode"]:checked`)?.value ?? "";
  const fields = { language: byId(`${prefix}language`).value, dialect: byId(`${prefix}dialect`).value, mode, gender: byId(`${prefix}gender`).value };
  return interpreterRequest(fields, own.size ? new Set(own.keys()) : null);
}

/** A request in words, in the page's language ("Tigrinya, dialect: Eritrean, remote"). */
export function describe(request) {
  const words = { dialect: t("dialect_value"), in_person: t("mode_in_person"), remote: t("mode_remote"), female: t("gender_female"), male: t("gender_male") };
  return describeRequest(request, (code) => languageName(code, { locale, own }), words);
}

/** The form inside the chat: `send(request)` when the visitor asks, `invalid()` when it is wrong. */
export function wireInterpreterForm({ send, invalid }) {
  wireLanguageFilter("chat-interpreter-");
  byId("interpreter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const request = readRequestForm("chat-interpreter-");
    if (!request) {
      invalid();
      return;
    }
    if (!send(request)) return;
    byId("ask-interpreter").open = false;
    byId("chat-interpreter-dialect").value = "";
  });
}
