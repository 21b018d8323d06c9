// The visitor's chat endpoints (docs/API.md): no cookies, a bearer token for one conversation.

import { call } from "../shared/http.js";

export { ApiError } from "../shared/http.js";

export const api = {
  directory: () => call("GET", "/api/directory"),
  log: () => call("GET", "/api/log"),
  create: (body) => call("POST", "/api/visitor/conversations", { body }),
  resume: (lookup, verifier) => call("POST", "/api/visitor/resume", { body: { lookup, verifier } }),
  queue: (token) => call("GET", "/api/visitor/queue", { token }),
  end: (token) => call("POST", "/api/visitor/conversation/end", { token }),
  // `bookings`: "keep" (still booked, no longer reachable from this chat) or "cancel".
  remove: (token, bookings) => call("DELETE", `/api/visitor/conversation?bookings=${encodeURIComponent(bookings)}`, { token }),
};
