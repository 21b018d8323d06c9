"""Shared test vectors (JSON) and the scripts that produce them."""
