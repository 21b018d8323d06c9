"""HTTP routes: thin handlers that validate input, check access, and call one service."""
