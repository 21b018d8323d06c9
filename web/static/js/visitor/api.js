// The visitor HTTP API (docs/API.md): no cookies, a bearer token for one conversation.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.serverMessage = message;
  }
}

/** One JSON call (or, with `raw`, a file as a Blob); a non-2xx answer throws ApiError. */
export async function call(method, path, { token, body, raw = false } = {}) {
  const headers = { Accept: raw ? "text/calendar" : "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
    referrerPolicy: "no-referrer",
  });
  if (raw && response.ok) return response.blob();
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data?.error ?? "error", data?.message ?? "");
  return data;
}

export const api = {
  directory: () => call("GET", "/api/directory"),
  create: (body) => call("POST", "/api/visitor/conversations", { body }),
  resume: (lookup, verifier) => call("POST", "/api/visitor/resume", { body: { lookup, verifier } }),
  queue: (token) => call("GET", "/api/visitor/queue", { token }),
  end: (token) => call("POST", "/api/visitor/conversation/end", { token }),
  remove: (token) => call("DELETE", "/api/visitor/conversation", { token }),
};
