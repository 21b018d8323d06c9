// The interpreter request (docs/INTERPRETERS.md) without any DOM: searching the language list,
// building and checking the APP_JSON `interpreter_request`, and describing it in words.
// Shared by the visitor's chat, the counsellor's dashboard and the interpreter's page.

export const MAX_DIALECT = 60;
export const MODES = Object.freeze(["in_person", "remote"]);
export const GENDERS = Object.freeze(["female", "male"]);
const CODE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/;
const HEX_ID = /^[0-9a-f]{32}$/;

/** Lower case, without accents, single spaces: "Türkçe " and "turkce" compare equal. */
export function fold(text) {
  return String(text ?? "")
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLocaleLowerCase("en")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * The languages (`[{code, name}]`, names in the language itself) matching `query` in the
 * endonym, the code or another name (`otherNames(code)`, e.g. the English or the page's name).
 * Matches at the start of a word come first; an empty query keeps the list as it is.
 */
export function searchLanguages(languages, query, otherNames = () => []) {
  const wanted = fold(query);
  if (!wanted) return [...languages];
  const scored = [];
  for (const [index, language] of languages.entries()) {
    const names = [language.name, language.code, ...otherNames(language.code)].map(fold).filter(Boolean);
    let score = null;
    for (const name of names) {
      if (name === wanted) score = Math.min(score ?? 0, 0);
      else if (name.startsWith(wanted) || name.split(/[ /(),-]+/).some((word) => word.startsWith(wanted))) {
        score = Math.min(score ?? 1, 1);
      } else if (name.includes(wanted)) score = Math.min(score ?? 2, 2);
    }
    if (score !== null) scored.push({ score, index, language });
  }
  scored.sort((a, b) => a.score - b.score || a.index - b.index);
  return scored.map((s) => s.language);
}

/**
 * The request as it travels: {kind, language, dialect?, mode?, gender?}, only the fields given.
 * `known` (a set of codes) limits the language to the offered list. Null if anything is wrong.
 */
export function interpreterRequest({ language, dialect = "", mode = "", gender = "" }, known = null) {
  if (typeof language !== "string" || !CODE.test(language)) return null;
  if (known && !known.has(language)) return null;
  const request = { kind: "interpreter_request", language };
  const cleanDialect = typeof dialect === "string" ? dialect.replace(/\s+/g, " ").trim() : null;
  if (cleanDialect === null || [...cleanDialect].length > MAX_DIALECT) return null;
  if (cleanDialect) request.dialect = cleanDialect;
  if (mode) {
    if (!MODES.includes(mode)) return null;
    request.mode = mode;
  }
  if (gender) {
    if (!GENDERS.includes(gender)) return null;
    request.gender = gender;
  }
  return request;
}

/** A received APP_JSON value read as an interpreter request (unknown extra fields ignored), or null. */
export function readInterpreterRequest(value) {
  if (!value || typeof value !== "object" || value.kind !== "interpreter_request") return null;
  return interpreterRequest({
    language: value.language,
    dialect: value.dialect ?? "",
    mode: value.mode ?? "",
    gender: value.gender ?? "",
  });
}

/** {kind: "interpreter_declined", member: hex}: the member id, or null. */
export function readDeclined(value) {
  if (!value || typeof value !== "object" || value.kind !== "interpreter_declined") return null;
  return typeof value.member === "string" && HEX_ID.test(value.member) ? value.member : null;
}

/**
 * Words for a request: `name(code)` gives the language's name(s); `words` has the translated
 * `in_person`, `remote`, `female`, `male` and `dialect` ("dialect: %(dialect)s") texts.
 */
export function describeRequest(request, name, words = {}) {
  const parts = [name(request.language)];
  if (request.dialect) parts.push(String(words.dialect ?? "%(dialect)s").replace("%(dialect)s", request.dialect));
  if (request.mode) parts.push(words[request.mode] ?? request.mode);
  if (request.gender) parts.push(words[request.gender] ?? request.gender);
  return parts.join(", ");
}

/** Interpreters covering the requested language first (then by name); others after. */
export function rankInterpreters(interpreters, language) {
  const base = (code) => String(code ?? "").split("-")[0];
  const covers = (person) => (person.languages ?? []).some((code) => code === language || base(code) === base(language));
  return [...interpreters].sort(
    (a, b) => Number(covers(b)) - Number(covers(a)) || String(a.name).localeCompare(String(b.name)),
  );
}
