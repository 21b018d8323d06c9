// The reconnect back-off: exponential, capped, with full jitter (a tenth to all of it), so the
// tabs of a restarted server come back spread over the whole window (issue 15: reconnect storms).
import assert from "node:assert/strict";
import test from "node:test";

import { ReconnectingSocket } from "../../web/static/js/shared/reconnecting-socket.js";

function delays(random) {
  const seen = [];
  const realTimeout = globalThis.setTimeout;
  const realRandom = Math.random;
  globalThis.setTimeout = (_fn, ms) => {
    seen.push(ms);
    return 0;
  };
  Math.random = () => random;
  try {
    const socket = new ReconnectingSocket({
      url: "ws://example.invalid/ws",
      win: { addEventListener() {}, removeEventListener() {} },
      timing: { firstBackoffMs: 500, maxBackoffMs: 20000, heartbeatMs: 1000, silenceMs: 3000 },
    });
    socket.stopped = false;
    for (let i = 0; i < 8; i += 1) socket._schedule();
  } finally {
    globalThis.setTimeout = realTimeout;
    Math.random = realRandom;
  }
  return seen;
}

test("the back-off doubles up to its cap", () => {
  assert.deepEqual(delays(1), [500, 1000, 2000, 4000, 8000, 16000, 20000, 20000]);
});

test("full jitter: as early as a tenth of the back-off", () => {
  assert.deepEqual(delays(0), [50, 100, 200, 400, 800, 1600, 2000, 2000]);
});
