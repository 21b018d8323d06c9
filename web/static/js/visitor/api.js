// The visitor's chat endpoints (docs/API.md): no cookies, a bearer token for one conversation.

import { call } from "../shared/http.js";

export { ApiError } from "../shared/http.js";

export const api = {
  directory: () => call("GET", "/api/directory"),
  create: (body) => call("POST", "/api/visitor/conversations", { body }),
  resume: (lookup, verifier) => call("POST", "/api/visitor/resume", { body: { lookup, verifier } }),
  queue: (token) => call("GET", "/api/visitor/queue", { token }),
  end: (token) => call("POST", "/api/visitor/conversation/end", { token }),
  remove: (token) => call("DELETE", "/api/visitor/conversation", { token }),
};
