// The words the chat scripts show, translated by the server into the page's language.

let cache = null;

/** The JSON data block `<script type="application/json" id="strings">` (not executable). */
export function strings(doc = document) {
  if (cache === null) cache = JSON.parse(doc.getElementById("strings")?.textContent || "{}");
  return cache;
}

/** `%(name)s` placeholders, as in the server's catalogs. */
export function format(template, values = {}) {
  return String(template).replace(/%\((\w+)\)s/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** A string by key, formatted. */
export function t(key, values) {
  return format(strings()[key] ?? key, values);
}
