"""Realtime delivery: a small message bus and the websocket protocol built on it."""
