// The words a page shows, translated by the server into the page's language and handed over
// in a JSON data block (`<script type="application/json">`, never executed).

/** The data block with id `id` as an object ({} when the page has none). */
export function pageStrings(id = "page-strings", doc = document) {
  const node = doc.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

/** Replace %(name)s placeholders (the form of the server's gettext catalogs); unknown ones go. */
export function format(template, values = {}) {
  return String(template ?? "").replace(/%\((\w+)\)s/g, (_, key) => (key in values ? String(values[key]) : ""));
}

/** `t(key, values)` over a page's strings (the key itself when the page lacks it); without values, as written. */
export function translator(strings) {
  return (key, values) => (values === undefined ? String(strings[key] ?? key) : format(strings[key] ?? key, values));
}
