// The words a page shows, translated by the server into the page's language and handed over
// in a JSON data block (`<script type="application/json">`, never executed).
//
// A message that shows a number comes as all its forms, `{count, lang, forms}`: `count` names
// the placeholder holding the number, `forms` maps each CLDR plural category of `lang` to its
// text (server/i18n.py, Translator.forms). `format` chooses with Intl.PluralRules.

/** The data block with id `id` as an object ({} when the page has none). */
export function pageStrings(id = "page-strings", doc = document) {
  const node = doc.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

/** Whether `message` is a plural message (every form of it), not a plain text. */
export function isPlural(message) {
  return message !== null && typeof message === "object" && typeof message.forms === "object" && typeof message.count === "string";
}

/** The form of a plural message for the number among `values` (the "other" form when unsure). */
export function pluralForm(message, values = {}) {
  const n = Number(values[message.count]);
  let category = "other";
  try {
    category = new Intl.PluralRules(message.lang || undefined).select(n);
  } catch {
    // an unknown language tag: "other"
  }
  return String(message.forms[category] ?? message.forms.other ?? "");
}

/** Replace %(name)s placeholders (the form of the server's gettext catalogs); unknown ones go. */
export function format(template, values = {}) {
  const text = isPlural(template) ? pluralForm(template, values) : String(template ?? "");
  return text.replace(/%\((\w+)\)s/g, (_, key) => (key in values ? String(values[key]) : ""));
}

/** `t(key, values)` over a page's strings (the key itself when the page lacks it); without values, as written. */
export function translator(strings) {
  return (key, values) => (values === undefined && !isPlural(strings[key]) ? String(strings[key] ?? key) : format(strings[key] ?? key, values ?? {}));
}
