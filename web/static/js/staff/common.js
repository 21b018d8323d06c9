// Small helpers shared by the staff pages: JSON calls with the CSRF token, the page's
// translated strings, and building DOM without HTML strings (Trusted Types forbid them).

/** An API answer other than 2xx: `code` is the server's stable error code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") || "";
}

/** The logged-in staff member's id (32 hex digits), or "" on pages without a session. */
export function currentStaffId() {
  return meta("staff-id");
}

/** fetch() for the JSON API: same-origin cookies, the CSRF header, JSON in and out. */
export async function api(method, path, body) {
  const headers = { accept: "application/json", "x-csrf-token": meta("csrf-token") };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, data?.error || "http_" + response.status, data?.message || "");
  }
  return data;
}

/** The page's translated strings (a JSON block the template fills). */
export function pageStrings(id = "page-strings") {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

/** Replace %(name)s placeholders (the same form as the server's gettext strings). */
export function format(template, values = {}) {
  return String(template).replace(/%\((\w+)\)s/g, (_, key) => (key in values ? String(values[key]) : ""));
}

/**
 * Create an element: attributes (class, id, data-*, type, …), and children (strings become
 * text nodes, never markup).
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "hidden") node.hidden = Boolean(value);
    else if (name === "disabled") node.disabled = Boolean(value);
    else if (name === "checked") node.checked = Boolean(value);
    else if (name === "value") node.value = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Show a message in an alert box (or hide it with an empty message). */
export function say(node, message) {
  if (!node) return;
  node.textContent = message || "";
  node.hidden = !message;
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

export const nowSeconds = () => Math.floor(Date.now() / 1000);
