"""Configuration: one pure function turns an environment mapping into Settings.

Twelve-factor style: everything comes from environment variables with safe
defaults.  `load_settings` has no side effects other than, when no secret key
is configured, creating one in the data directory (mode 0600) on first start,
so tests can build any configuration from a plain dict.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url

LANGUAGES = ("nb", "sv", "en")
SECRET_KEY_MIN_BYTES = 32


class SettingsError(ValueError):
    """A setting has a value Trygg refuses to start with; the message says which and why."""


@dataclass(frozen=True)
class PasswordHashing:
    """Argon2id cost parameters (RFC 9106 section 4, second recommended option by default)."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4


STRONG_HASHING = PasswordHashing()
# Only for the test suite: hashes in milliseconds.  Refused unless asked for by name.
FAST_INSECURE_HASHING = PasswordHashing(time_cost=1, memory_kib=8, parallelism=1)


@dataclass(frozen=True)
class Settings:
    """Every setting Trygg reads; see the table in README.md."""

    database_url: str
    data_dir: Path
    secret_key: bytes = field(repr=False)
    public_url: str = "http://localhost:8000"
    time_zone: str = "Europe/Oslo"
    default_language: str = "nb"
    exit_url: str = "https://www.yr.no/"
    centre_name: str = "Trygg"
    centre_phone: str = ""
    network_name: str = ""  # a network of centres: named on every centre's pages, if set
    national_phone: str = ""  # the network's shared national number
    invite_domain: str = "invalid"
    password_hashing: PasswordHashing = STRONG_HASHING
    session_idle_minutes: int = 60
    session_max_hours: int = 12
    invite_valid_hours: int = 72
    max_body_bytes: int = 256 * 1024
    login_attempts_per_client: int = 20
    login_attempts_per_account: int = 5
    login_attempts_per_device: int = 10
    login_window_minutes: int = 15
    device_cookie_days: int = 90
    migrate_on_start: bool = True
    redis_url: str = ""
    redis_namespace: str = ""  # "" = derived from the database (see redis_prefix)
    max_open_per_counsellor: int = 5
    conversations_per_client_per_hour: int = 30
    bookings_per_client_per_hour: int = 30
    bookings_per_code_per_hour: int = 5
    booking_codes_per_client_per_hour: int = 30
    wrong_codes_per_client_per_hour: int = 40
    wrong_codes_per_code_per_hour: int = 10
    websocket_frames_per_10s: int = 30
    rekey_sweep_seconds: int = 300  # how often open conversations are checked for expired members
    writer_queue: int = 2000  # appends waiting for the message writer before senders are told `busy`
    websocket_frames_per_10s_per_token: int = 90
    # Bytes of stored messages a `sync`'s catch-up may send per 10 s for one token or session
    websocket_catch_up_bytes_per_10s_per_token: int = 2_000_000
    max_connections: int = 4000
    connections_per_client: int = 200
    header_timeout_seconds: int = 10
    body_timeout_seconds: int = 30
    keepalive_seconds: int = 5
    max_websockets: int = 3000
    websockets_per_client: int = 100
    websockets_per_token: int = 5
    websockets_per_session: int = 10
    log_level: str = "INFO"
    # Trust (PROTOCOL.md §5.5): the pinned fingerprint of the default centre's first anchor, and
    # pins of other centres by centre id (hex); neither set = trust on first use (a file in data_dir).
    trust_pin: bytes | None = None
    trust_pins: Mapping[bytes, bytes] = field(default_factory=dict)
    log_key_seed: bytes | None = field(default=None, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def redis_prefix(self) -> str:
        """The start of every Redis key and channel of this installation.

        Installations (or test runs) that share one Redis must not hear each other's events
        or share each other's limits; the processes of one installation share its database,
        so by default the namespace is derived from the database's identity."""
        if self.redis_namespace:
            return f"trygg:{self.redis_namespace}:"
        url = make_url(self.database_url)
        host = (url.host or "").lower()
        identity = f"{url.get_backend_name()}|{host}|{url.port or ''}|{url.database or ''}"
        return f"trygg:{hashlib.sha256(identity.encode()).hexdigest()[:12]}:"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def https(self) -> bool:
        """People reach the service over HTTPS (so browsers are told to insist on it: HSTS)."""
        return urlsplit(self.public_url).scheme == "https"

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies everywhere except plain-HTTP development on localhost."""
        parts = urlsplit(self.public_url)
        return not (parts.scheme == "http" and parts.hostname in {"localhost", "127.0.0.1", "::1"})


def load_settings(env: Mapping[str, str]) -> Settings:
    """Parse settings from `env`; raise SettingsError with a clear message on any bad value."""
    data_dir = Path(env.get("TRYGG_DATA_DIR", "var")).resolve()
    max_connections = _int(env, "TRYGG_MAX_CONNECTIONS", 4000, 10, 1_000_000)
    return Settings(
        database_url=_database_url(env.get("DATABASE_URL", ""), data_dir),
        data_dir=data_dir,
        secret_key=_secret_key(env.get("TRYGG_SECRET_KEY", ""), data_dir),
        public_url=_public_url(env.get("TRYGG_PUBLIC_URL", "http://localhost:8000")),
        time_zone=_time_zone(env.get("TRYGG_TIME_ZONE", "Europe/Oslo")),
        default_language=_choice(
            "TRYGG_DEFAULT_LANGUAGE", env.get("TRYGG_DEFAULT_LANGUAGE", "nb"), LANGUAGES
        ),
        exit_url=_exit_url(env.get("TRYGG_EXIT_URL", "https://www.yr.no/")),
        centre_name=_text("TRYGG_CENTRE_NAME", env.get("TRYGG_CENTRE_NAME", "Trygg"), 80),
        centre_phone=_text("TRYGG_CENTRE_PHONE", env.get("TRYGG_CENTRE_PHONE", ""), 40),
        network_name=_text("TRYGG_NETWORK_NAME", env.get("TRYGG_NETWORK_NAME", ""), 80),
        national_phone=_text("TRYGG_NATIONAL_PHONE", env.get("TRYGG_NATIONAL_PHONE", ""), 40),
        invite_domain=_domain("TRYGG_INVITE_DOMAIN", env.get("TRYGG_INVITE_DOMAIN") or "invalid"),
        password_hashing=_password_hashing(env.get("TRYGG_PASSWORD_HASHING", "strong")),
        session_idle_minutes=_int(env, "TRYGG_SESSION_IDLE_MINUTES", 60, 5, 24 * 60),
        session_max_hours=_int(env, "TRYGG_SESSION_MAX_HOURS", 12, 1, 24 * 7),
        invite_valid_hours=_int(env, "TRYGG_INVITE_VALID_HOURS", 72, 1, 24 * 14),
        max_body_bytes=_int(env, "TRYGG_MAX_BODY_BYTES", 256 * 1024, 4096, 16 * 1024 * 1024),
        login_attempts_per_client=_int(env, "TRYGG_LOGIN_ATTEMPTS_PER_CLIENT", 20, 1, 10_000),
        login_attempts_per_account=_int(env, "TRYGG_LOGIN_ATTEMPTS_PER_ACCOUNT", 5, 1, 100),
        login_attempts_per_device=_int(env, "TRYGG_LOGIN_ATTEMPTS_PER_DEVICE", 10, 1, 100),
        login_window_minutes=_int(env, "TRYGG_LOGIN_WINDOW_MINUTES", 15, 1, 24 * 60),
        device_cookie_days=_int(env, "TRYGG_DEVICE_COOKIE_DAYS", 90, 1, 400),
        migrate_on_start=_bool(env, "TRYGG_MIGRATE_ON_START", True),
        redis_url=_redis_url(env.get("TRYGG_REDIS_URL", "")),
        redis_namespace=_redis_namespace(env.get("TRYGG_REDIS_NAMESPACE", "")),
        max_open_per_counsellor=_int(env, "TRYGG_MAX_OPEN_PER_COUNSELLOR", 5, 1, 50),
        websocket_frames_per_10s=_int(env, "TRYGG_WEBSOCKET_FRAMES_PER_10S", 30, 5, 10_000),
        rekey_sweep_seconds=_int(env, "TRYGG_REKEY_SWEEP_SECONDS", 300, 1, 86_400),
        writer_queue=_int(env, "TRYGG_WRITER_QUEUE", 2000, 1, 1_000_000),
        websocket_frames_per_10s_per_token=_int(
            env, "TRYGG_WEBSOCKET_FRAMES_PER_10S_PER_TOKEN", 90, 5, 100_000
        ),
        websocket_catch_up_bytes_per_10s_per_token=_int(
            env, "TRYGG_WEBSOCKET_CATCH_UP_BYTES_PER_10S_PER_TOKEN", 2_000_000, 100_000, 10**12
        ),
        max_connections=max_connections,
        connections_per_client=_int(env, "TRYGG_CONNECTIONS_PER_CLIENT", 200, 1, 1_000_000),
        header_timeout_seconds=_int(env, "TRYGG_HEADER_TIMEOUT_SECONDS", 10, 1, 300),
        body_timeout_seconds=_int(env, "TRYGG_BODY_TIMEOUT_SECONDS", 30, 1, 3600),
        keepalive_seconds=_int(env, "TRYGG_KEEPALIVE_SECONDS", 5, 1, 300),
        max_websockets=_int(env, "TRYGG_MAX_WEBSOCKETS", min(3000, max_connections), 1, max_connections),
        websockets_per_client=_int(env, "TRYGG_WEBSOCKETS_PER_CLIENT", 100, 1, 1_000_000),
        websockets_per_token=_int(env, "TRYGG_WEBSOCKETS_PER_TOKEN", 5, 1, 1000),
        websockets_per_session=_int(env, "TRYGG_WEBSOCKETS_PER_SESSION", 10, 1, 1000),
        conversations_per_client_per_hour=_int(env, "TRYGG_CONVERSATIONS_PER_CLIENT_PER_HOUR", 30, 1, 10_000),
        bookings_per_client_per_hour=_int(env, "TRYGG_BOOKINGS_PER_CLIENT_PER_HOUR", 30, 1, 10_000),
        bookings_per_code_per_hour=_int(env, "TRYGG_BOOKINGS_PER_CODE_PER_HOUR", 5, 1, 10_000),
        booking_codes_per_client_per_hour=_int(env, "TRYGG_BOOKING_CODES_PER_CLIENT_PER_HOUR", 30, 1, 10_000),
        wrong_codes_per_client_per_hour=_int(env, "TRYGG_WRONG_CODES_PER_CLIENT_PER_HOUR", 40, 1, 10_000),
        wrong_codes_per_code_per_hour=_int(env, "TRYGG_WRONG_CODES_PER_CODE_PER_HOUR", 10, 1, 10_000),
        log_level=_choice(
            "TRYGG_LOG_LEVEL",
            env.get("TRYGG_LOG_LEVEL", "INFO").upper(),
            ("DEBUG", "INFO", "WARNING", "ERROR"),
        ),
        trust_pin=_pin("TRYGG_TRUST_PIN", env.get("TRYGG_TRUST_PIN", "")) or None,
        trust_pins=_pins_file(env.get("TRYGG_TRUST_PINS_FILE", "")),
        log_key_seed=_pin("TRYGG_LOG_KEY", env.get("TRYGG_LOG_KEY", "")) or None,
    )


def settings_from_environment() -> Settings:
    """Settings for the running process (the only place that reads os.environ)."""
    return load_settings(os.environ)


# --- parsers -----------------------------------------------------------------


def _database_url(raw: str, data_dir: Path) -> str:
    if not raw:
        return f"sqlite+aiosqlite:///{data_dir / 'trygg.sqlite3'}"
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    rest = raw.split("://", 1)[1] if "://" in raw else ""
    if scheme in {"postgres", "postgresql", "postgresql+asyncpg"} and rest:
        return f"postgresql+asyncpg://{rest}"
    if scheme in {"sqlite", "sqlite+aiosqlite"} and rest.startswith("/"):
        return f"sqlite+aiosqlite://{rest}"
    raise SettingsError(
        "DATABASE_URL must be postgresql://user@host/db or sqlite:///path/to/file "
        f"(got a value with scheme {scheme or 'none'!r})"
    )


def _secret_key(raw: str, data_dir: Path) -> bytes:
    if raw:
        key = raw.encode()
        if len(key) < SECRET_KEY_MIN_BYTES:
            raise SettingsError(
                f"TRYGG_SECRET_KEY must be at least {SECRET_KEY_MIN_BYTES} characters of random data"
            )
        return key
    path = data_dir / "secret_key"
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if len(key) < SECRET_KEY_MIN_BYTES:
            raise SettingsError(f"{path} is too short; delete it to make a new key") from None
        if path.stat().st_mode & 0o077:
            raise SettingsError(f"{path} is readable by other users; run: chmod 600 {path}") from None
        return key
    except OSError as error:
        raise SettingsError(f"cannot create the data directory {data_dir}: {error.strerror}") from None
    key = secrets.token_urlsafe(48).encode()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def _pin(name: str, raw: str) -> bytes:
    """64 hex digits (32 bytes), or empty."""
    value = raw.strip().lower()
    if not value:
        return b""
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise SettingsError(f"{name} must be 64 hex digits (the fingerprint the admin's keys page shows)")
    return bytes.fromhex(value)


def _pins_file(raw: str) -> dict[bytes, bytes]:
    """A file of lines `<centre id, 32 hex digits> <pin, 64 hex digits>`; # starts a comment."""
    if not raw:
        return {}
    try:
        text = Path(raw).read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"TRYGG_TRUST_PINS_FILE {raw}: {error.strerror}") from None
    pins: dict[bytes, bytes] = {}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2 or not re.fullmatch(r"[0-9a-fA-F]{32}", words[0]):
            raise SettingsError(f"TRYGG_TRUST_PINS_FILE line {number}: write <centre id> <pin> in hex")
        pins[bytes.fromhex(words[0])] = _pin(f"TRYGG_TRUST_PINS_FILE line {number}", words[1])
    return pins


def _public_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError("TRYGG_PUBLIC_URL must be an http(s) origin such as https://chat.example.org")
    return f"{parts.scheme}://{parts.netloc}"


def _exit_url(raw: str) -> str:
    parts = urlsplit(raw)
    local = parts.scheme == "http" and parts.hostname in {"localhost", "127.0.0.1"}
    if not (parts.scheme == "https" or local) or not parts.hostname:
        raise SettingsError("TRYGG_EXIT_URL must be an https:// address of a neutral web site")
    return raw


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


def _domain(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if not _DOMAIN.fullmatch(value):
        raise SettingsError(f"{name} must be a domain name such as invalid or example.org (got {raw!r})")
    return value


def _redis_namespace(raw: str) -> str:
    if raw and not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", raw):
        raise SettingsError("TRYGG_REDIS_NAMESPACE: letters, digits, - and _ only (at most 40)")
    return raw


def _redis_url(raw: str) -> str:
    if raw and urlsplit(raw).scheme not in {"redis", "rediss", "unix"}:
        raise SettingsError("TRYGG_REDIS_URL must be redis://host:port/db, rediss://… or unix://…")
    return raw


def _time_zone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"TRYGG_TIME_ZONE {raw!r} is not an IANA time zone such as Europe/Oslo") from None
    return raw


def _password_hashing(raw: str) -> PasswordHashing:
    if raw == "strong":
        return STRONG_HASHING
    if raw == "fast-insecure-for-tests":
        return FAST_INSECURE_HASHING
    raise SettingsError("TRYGG_PASSWORD_HASHING must be 'strong' (or 'fast-insecure-for-tests' in tests)")


def _choice(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)} (got {raw!r})")
    return raw


def _text(name: str, raw: str, max_length: int) -> str:
    value = raw.strip()
    if len(value) > max_length or any(ord(ch) < 32 for ch in value):
        raise SettingsError(f"{name} must be one line of at most {max_length} characters")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number (got {raw!r})") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high} (got {value})")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false (got {raw!r})")
