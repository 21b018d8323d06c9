"""Configuration: safe defaults, a generated secret key, and clear refusals of bad values."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from server.settings import FAST_INSECURE_HASHING, STRONG_HASHING, SettingsError, load_settings


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({"TRYGG_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'trygg.sqlite3'}"
    assert settings.time_zone == "Europe/Oslo"
    assert settings.default_language == "nb"
    assert settings.password_hashing == STRONG_HASHING
    assert STRONG_HASHING.memory_kib >= 64 * 1024
    assert STRONG_HASHING.time_cost >= 3
    assert settings.secure_cookies is False  # plain http on localhost only
    assert settings.exit_url.startswith("https://")
    assert settings.invite_domain == "invalid"  # invites name no host (RFC 6761: never resolves)
    assert settings.https is False


def test_secret_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_settings({"TRYGG_DATA_DIR": str(tmp_path)})
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32
    assert load_settings({"TRYGG_DATA_DIR": str(tmp_path)}).secret_key == first.secret_key
    assert "secret_key=" not in repr(first)  # never printed in tracebacks


def test_secret_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_settings({"TRYGG_DATA_DIR": str(tmp_path)})
    os.chmod(tmp_path / "secret_key", 0o644)
    with pytest.raises(SettingsError, match="chmod 600"):
        load_settings({"TRYGG_DATA_DIR": str(tmp_path)})


def test_database_url_forms(tmp_path: Path) -> None:
    base = {"TRYGG_DATA_DIR": str(tmp_path)}
    assert load_settings({**base, "DATABASE_URL": "postgres://u@h/db"}).database_url == (
        "postgresql+asyncpg://u@h/db"
    )
    assert load_settings({**base, "DATABASE_URL": "sqlite:////tmp/x.db"}).database_url == (
        "sqlite+aiosqlite:////tmp/x.db"
    )


def test_https_public_url_means_secure_cookies(tmp_path: Path) -> None:
    settings = load_settings(
        {"TRYGG_DATA_DIR": str(tmp_path), "TRYGG_PUBLIC_URL": "https://chat.example.org/"}
    )
    assert settings.public_url == "https://chat.example.org"
    assert settings.secure_cookies is True
    assert settings.https is True  # so HSTS is sent


def test_fast_hashing_only_by_name(tmp_path: Path) -> None:
    settings = load_settings(
        {"TRYGG_DATA_DIR": str(tmp_path), "TRYGG_PASSWORD_HASHING": "fast-insecure-for-tests"}
    )
    assert settings.password_hashing == FAST_INSECURE_HASHING


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL"),
        ("DATABASE_URL", "nonsense", "DATABASE_URL"),
        ("TRYGG_SECRET_KEY", "short", "at least 32"),
        ("TRYGG_PUBLIC_URL", "ftp://example.org", "TRYGG_PUBLIC_URL"),
        ("TRYGG_PUBLIC_URL", "https://example.org/?q=1", "TRYGG_PUBLIC_URL"),
        ("TRYGG_TIME_ZONE", "Mars/Olympus", "IANA time zone"),
        ("TRYGG_DEFAULT_LANGUAGE", "de", "one of nb, sv, en"),
        ("TRYGG_EXIT_URL", "http://example.org", "https://"),
        ("TRYGG_EXIT_URL", "javascript:alert(1)", "https://"),
        ("TRYGG_PASSWORD_HASHING", "weak", "strong"),
        ("TRYGG_SESSION_IDLE_MINUTES", "abc", "whole number"),
        ("TRYGG_SESSION_IDLE_MINUTES", "0", "between"),
        ("TRYGG_MAX_BODY_BYTES", "10", "between"),
        ("TRYGG_MIGRATE_ON_START", "perhaps", "true or false"),
        ("TRYGG_LOG_LEVEL", "LOUD", "one of"),
        ("TRYGG_CENTRE_NAME", "a\nb", "one line"),
        ("TRYGG_REDIS_URL", "http://localhost:6379", "TRYGG_REDIS_URL"),
        ("TRYGG_INVITE_DOMAIN", ".", "domain name"),
        ("TRYGG_INVITE_DOMAIN", "noreply@example.org", "domain name"),
        ("TRYGG_INVITE_DOMAIN", "example.org\nX-Evil: 1", "domain name"),
        ("TRYGG_INVITE_DOMAIN", "exa mple.org", "domain name"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"TRYGG_DATA_DIR": str(tmp_path), name: value})


def test_cli_refuses_to_start_on_bad_setting(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "serve"],
        env={**os.environ, "TRYGG_DATA_DIR": str(tmp_path), "TRYGG_TIME_ZONE": "Nowhere/Land"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "configuration error: TRYGG_TIME_ZONE" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_setting_is_documented() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    source = (Path(__file__).parent.parent / "server" / "settings.py").read_text()
    import re

    names = set(re.findall(r'"((?:TRYGG_|DATABASE_URL)[A-Z_]*)"', source))
    assert names, "no settings found"
    undocumented = sorted(n for n in names if f"`{n}`" not in readme)
    assert not undocumented, f"settings missing from README.md: {undocumented}"
