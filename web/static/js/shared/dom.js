// Building DOM without HTML strings (Trusted Types forbid them): elements and text nodes only.
// Every page uses this one el(); nothing else creates elements from attribute objects.

const PROPERTIES = new Set(["hidden", "disabled", "checked", "selected", "value"]);

/**
 * `el("p", { class: "note", "data-seq": 3 }, "text", child)`: `class` sets the class list,
 * `text` the text content, `hidden`/`disabled`/`checked`/`selected`/`value` the property, an
 * `on…` function listens to that event, anything else is an attribute (`true` → present).
 * null, undefined and false leave an attribute out; children that are strings become text.
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (PROPERTIES.has(name)) node[name] = name === "value" ? value : Boolean(value);
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function byId(id) {
  return document.getElementById(id);
}

/** Show a message in a box (or hide the box with an empty message). */
export function say(node, message) {
  if (!node) return;
  node.textContent = message || "";
  node.hidden = !message;
}

/** Show one of several sections and move focus to its heading, for screen readers and keyboards. */
export function showView(id, views) {
  for (const view of views) view.hidden = view.id !== id;
  const heading = byId(id)?.querySelector("h1[tabindex], h2[tabindex]");
  if (heading) heading.focus({ preventScroll: false });
}

/** Run `work` with a busy indicator shown and the given controls disabled. */
export async function busy(indicator, text, controls, work) {
  const label = indicator?.querySelector("span");
  if (label) label.textContent = text;
  if (indicator) indicator.hidden = false;
  for (const control of controls) control.disabled = true;
  try {
    return await work();
  } finally {
    if (indicator) indicator.hidden = true;
    for (const control of controls) control.disabled = false;
  }
}
