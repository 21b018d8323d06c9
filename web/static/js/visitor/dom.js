// Building DOM without HTML strings (Trusted Types forbid them): elements and text nodes only.

/** `el("p", { className: "note" }, "text", child)`; attributes starting with data-/aria- are set as such. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("data-") || name.startsWith("aria-") || name === "role") node.setAttribute(name, String(value));
    else node[name] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function byId(id) {
  return document.getElementById(id);
}

/** Show one of several sections and move focus to its heading, for screen readers and keyboards. */
export function showView(id, views) {
  for (const view of views) view.hidden = view.id !== id;
  const heading = byId(id)?.querySelector("h1[tabindex], h2[tabindex]");
  if (heading) heading.focus({ preventScroll: false });
}
