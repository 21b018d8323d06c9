// The reconnect back-off: exponential, capped, with equal jitter (half to all of it), which a
// 1,000-tab restart storm measured better than full jitter (docs/PERFORMANCE.md, issue 15).
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

test("equal jitter: as early as half the back-off", () => {
  assert.deepEqual(delays(0), [250, 500, 1000, 2000, 4000, 8000, 10000, 10000]);
});
