// The words the visitor pages show, translated by the server into the page's language
// (the JSON data block `<script type="application/json" id="strings">`).

import { pageStrings, translator } from "../shared/strings.js";

let translate = null;

/** A string by key, with its %(name)s placeholders filled in. */
export function t(key, values) {
  translate ??= translator(pageStrings("strings"));
  return translate(key, values);
}
