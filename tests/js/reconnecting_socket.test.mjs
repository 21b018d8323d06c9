// The reconnect back-off: exponential, capped, with equal jitter (half to all of it), which a
// 1,000-tab restart storm measured better than full jitter (docs/PERFORMANCE.md, issue 15).
import assert from "node:assert/strict";
import test from "node:test";

import { ReconnectingSocket, STABLE_MS } from "../../web/static/js/shared/reconnecting-socket.js";

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

function droppingSocket(now) {
  const socket = new ReconnectingSocket({
    url: "ws://example.invalid/ws",
    win: { addEventListener() {}, removeEventListener() {} },
    timing: { firstBackoffMs: 500, maxBackoffMs: 20000, heartbeatMs: 1000, silenceMs: 3000 },
  });
  socket.stopped = false;
  socket._schedule = () => {
    socket.attempt += 1; // count the tries; no timer
  };
  socket.connectedThenDropped = (upForMs) => {
    socket.ws = { close() {} };
    const realNow = Date.now;
    Date.now = () => now.at;
    socket._ready();
    now.at += upForMs;
    Date.now = () => now.at;
    try {
      socket._drop();
    } finally {
      Date.now = realNow;
    }
  };
  return socket;
}

test("a connection closed soon after it was let in keeps backing off further", () => {
  const socket = droppingSocket({ at: 1_000_000 });
  for (let i = 0; i < 4; i += 1) socket.connectedThenDropped(200); // e.g. 4503 during a storm
  assert.equal(socket.attempt, 4);
});

test("a connection that stayed up starts the back-off again from the beginning", () => {
  const socket = droppingSocket({ at: 1_000_000 });
  socket.connectedThenDropped(200);
  socket.connectedThenDropped(200);
  socket.connectedThenDropped(STABLE_MS);
  assert.equal(socket.attempt, 1); // reset by the stable connection, then one new try
});
