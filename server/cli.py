"""Command line: `trygg serve`, `trygg migrate`, `trygg create-admin`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from server.settings import Settings, SettingsError, settings_from_environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trygg", description="Trygg: secure chat and booking")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web service")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-* from FORWARDED_ALLOW_IPS (behind a reverse proxy)",
    )
    commands.add_parser("migrate", help="apply pending database migrations")
    admin = commands.add_parser("create-admin", help="create an administrator account")
    admin.add_argument("username")
    admin.add_argument("--display-name", default=None)
    admin.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of prompting",
    )
    args = parser.parse_args(argv)

    try:
        settings = settings_from_environment()
    except SettingsError as error:
        print(f"trygg: configuration error: {error}", file=sys.stderr)
        return 2

    if args.command == "serve":
        return _serve(settings, args.host, args.port, args.proxy_headers)
    if args.command == "migrate":
        from server.db import upgrade_database

        upgrade_database(settings.database_url)
        print("database is up to date")
        return 0
    return _create_admin(settings, args.username, args.display_name, args.password_stdin)


def _serve(settings: Settings, host: str, port: int, proxy_headers: bool) -> int:
    from server.logs import configure_logging
    from server.serving import serve

    configure_logging(settings.log_level)
    serve(settings, host, port, proxy_headers)
    return 0


def _create_admin(settings: Settings, username: str, display_name: str | None, password_stdin: bool) -> int:
    from server.db import Database, upgrade_database
    from server.errors import PublicError
    from server.resources import Resources
    from server.services.accounts import create_admin

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password (at least 12 characters): ")
        if getpass.getpass("Password again: ") != password:
            print("trygg: the passwords are not the same", file=sys.stderr)
            return 1
    upgrade_database(settings.database_url)

    async def run() -> None:
        res = Resources.build(settings, Database(settings.database_url))
        try:
            await create_admin(res, username, display_name or username, password, settings.default_language)
        finally:
            await res.close()

    try:
        asyncio.run(run())
    except PublicError as error:
        print(f"trygg: {error.message}", file=sys.stderr)
        return 1
    print(f"administrator {username!r} created; log in at {settings.public_url}/staff/login")
    return 0
