"""Static assets with content-hash URLs, Subresource Integrity and an import map.

At start every file under web/static is hashed once.  Pages refer to
`/static/<path-with-hash>` (cached for a year, immutable) with an `integrity`
attribute, and one import map gives every ES module its hashed URL and its
integrity, so module imports are verified too (the Integrity-Policy header
requires it).  The import map is the only inline script, allowed by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
STATIC_PREFIX = "/static/"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".woff2": "font/woff2",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
}


@dataclass(frozen=True)
class Asset:
    """One static file: where it is, its hashed URL and its SRI value."""

    path: Path
    url: str
    integrity: str
    content_type: str


class AssetManifest:
    """Hashes of every static file, taken once at start."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self._by_name: dict[str, Asset] = {}
        self._by_url: dict[str, Asset] = {}
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.suffix not in CONTENT_TYPES:
                continue
            name = path.relative_to(root).as_posix()
            data = path.read_bytes()
            short = hashlib.sha256(data).hexdigest()[:12]
            pure = PurePosixPath(name)
            url = f"{STATIC_PREFIX}{pure.with_name(f'{pure.stem}.{short}{pure.suffix}')}"
            integrity = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
            asset = Asset(path, url, integrity, CONTENT_TYPES[path.suffix])
            self._by_name[name] = asset
            self._by_url[url] = asset
        self.import_map = self._import_map()
        self.import_map_csp_hash = (
            f"'sha256-{base64.b64encode(hashlib.sha256(self.import_map.encode()).digest()).decode()}'"
        )

    def __getitem__(self, name: str) -> Asset:
        return self._by_name[name]

    def by_url(self, url_path: str) -> Asset | None:
        return self._by_url.get(url_path)

    def _import_map(self) -> str:
        modules = {n: a for n, a in self._by_name.items() if n.endswith((".js", ".mjs"))}
        imports = {f"{STATIC_PREFIX}{n}": a.url for n, a in modules.items()}
        integrity = {a.url: a.integrity for a in modules.values()}
        return json.dumps({"imports": imports, "integrity": integrity}, sort_keys=True, separators=(",", ":"))
