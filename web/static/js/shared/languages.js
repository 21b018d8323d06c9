// Names of languages. The server sends lists of languages in one format only: a JSON data block
// holding [[code, name], …] pairs, each name written in the language itself (server/languages.py
// for interpreters, server/i18n.py for the interface). Everything else comes from Intl.

/** The pairs in the data block `id`, as a Map code → name ({} if absent or malformed). */
export function readLanguages(id, doc = document) {
  const map = new Map();
  try {
    for (const pair of JSON.parse(doc.getElementById(id)?.textContent || "[]")) {
      if (Array.isArray(pair) && typeof pair[0] === "string" && typeof pair[1] === "string") map.set(pair[0], pair[1]);
    }
  } catch {
    map.clear();
  }
  return map;
}

const displayNames = new Map();

/** `code` as a reader of `locale` calls it (Intl), or null when Intl does not know it. */
function intlName(code, locale) {
  if (!displayNames.has(locale)) {
    try {
      displayNames.set(locale, new Intl.DisplayNames([locale], { type: "language" }));
    } catch {
      displayNames.set(locale, null);
    }
  }
  try {
    const name = displayNames.get(locale)?.of(code);
    return name && name !== code ? name : null;
  } catch {
    return null; // not a valid code for Intl
  }
}

/** The page's language (the <html lang> the server set). */
export function pageLocale(doc = globalThis.document) {
  return doc?.documentElement?.lang || "en";
}

/** The name a reader of `locale` uses for `code`; else its own name from `own`; else the code. */
export function languageName(code, { locale = pageLocale(), own = new Map() } = {}) {
  return intlName(code, locale) || own.get(code) || code;
}

/** Its own name with the reader's in brackets when they differ: "ትግርኛ (Tigrinya)", "English". */
export function languageLabel(code, { locale = pageLocale(), own = new Map() } = {}) {
  const theirs = own.get(code);
  const reader = intlName(code, locale);
  if (theirs && reader && theirs.toLocaleLowerCase() !== reader.toLocaleLowerCase()) return `${theirs} (${reader})`;
  return theirs || reader || code;
}

/** Every other name to search a language by: the reader's and the English one. */
export function otherNames(code, locale = pageLocale()) {
  return [...new Set([intlName(code, locale), intlName(code, "en")].filter(Boolean))];
}
