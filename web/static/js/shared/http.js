// The one JSON-over-fetch wrapper and its one error type, for every page.
//
// Visitor pages send no cookies and no referrer; a bearer token (a conversation's or a
// booking holder's) is the only credential. Staff pages send their session cookie and the
// CSRF token the page carries in <meta name="csrf-token">.

/** An answer other than 2xx: `code` is the server's stable error code, `serverMessage` its words. */
export class ApiError extends Error {
  constructor(status, code, serverMessage = "") {
    super(serverMessage || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage;
  }
}

function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") || "";
}

/** A site path under this centre's prefix (<meta name="trygg-root">: "/c/<slug>", or none). */
export function rooted(path) {
  return path.startsWith("/") ? `${meta("trygg-root")}${path}` : path;
}

/**
 * One call: JSON in and out (or, with `raw`, the body as a Blob). `token`: a bearer token;
 * `staff`: send the session cookie and the CSRF header. A non-2xx answer throws ApiError.
 */
export async function call(method, path, { body, token, raw = false, staff = false } = {}) {
  const headers = { accept: raw ? "text/calendar" : "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (staff) headers["x-csrf-token"] = meta("csrf-token");
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(rooted(path), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: staff ? "same-origin" : "omit",
    cache: "no-store",
    referrerPolicy: staff ? undefined : "no-referrer",
  });
  if (raw && response.ok) return response.blob();
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data?.error || `http_${response.status}`, data?.message || "");
  return data;
}

/** A staff page's call to the JSON API (session cookie + CSRF token). */
export function staffApi(method, path, body) {
  return call(method, path, { body, staff: true });
}
