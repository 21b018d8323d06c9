"""Trygg: secure, anonymous-first chat and appointment booking for crime-victim support centres."""
