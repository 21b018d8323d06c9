"""Command line: `trygg serve`, `trygg migrate`, `trygg create-admin`, `trygg centre ...`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from server.models.centre import CENTRE_KINDS
from server.settings import Settings, SettingsError, settings_from_environment

if TYPE_CHECKING:
    from server.resources import Resources


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
    admin.add_argument(
        "--network",
        action="store_true",
        help="a network administrator (creates centres, appoints their first admins; no role in any centre)",
    )
    centre = commands.add_parser("centre", help="the centres of this installation's network")
    centre_commands = centre.add_subparsers(dest="centre_command", required=True)
    create = centre_commands.add_parser("create", help="create a centre (served at /c/<slug>/ or its host)")
    create.add_argument("--slug", required=True, help="short name in addresses: /c/<slug>/")
    create.add_argument("--name", required=True)
    create.add_argument("--region", default="")
    create.add_argument("--kind", default="victim_support", choices=CENTRE_KINDS)
    create.add_argument("--host", default=None, help="its own host name, if it has one")
    create.add_argument("--time-zone", default=None, help="default: TRYGG_TIME_ZONE")
    create.add_argument("--exit-url", default=None, help="quick-exit target; default: TRYGG_EXIT_URL")
    create.add_argument("--emergency-numbers", default=None, help="default: TRYGG_CENTRE_PHONE")
    create.add_argument("--first-admin", default=None, metavar="NAME", help="invite its first administrator")
    centre_commands.add_parser("list", help="list the centres")
    appoint = centre_commands.add_parser("appoint-admin", help="invite an administrator of a centre")
    appoint.add_argument("--slug", required=True)
    appoint.add_argument("--display-name", required=True)
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
    if args.command == "centre":
        return _centre(settings, args)
    return _create_admin(settings, args.username, args.display_name, args.password_stdin, args.network)


def _with_resources(settings: Settings, work: Callable[[Resources], Awaitable[None]]) -> int:
    """Migrate, then run `work` with the app's resources; a PublicError is printed, exit code 1."""
    from server.db import Database, upgrade_database
    from server.errors import PublicError
    from server.i18n import Translator
    from server.resources import Resources

    upgrade_database(settings.database_url)

    async def run() -> None:
        res = Resources.build(settings, Database(settings.database_url))
        try:
            await work(res)
        finally:
            await res.close()

    try:
        asyncio.run(run())
    except PublicError as error:
        print(f"trygg: {Translator('en')(error.message, **error.values)}", file=sys.stderr)
        return 1
    return 0


def _centre(settings: Settings, args: argparse.Namespace) -> int:
    from server.errors import PublicError
    from server.services import network

    async def run(res: Resources) -> None:
        if args.centre_command == "list":
            for found in await res.centres.all(fresh=True):
                where = network.centre_url(res, found)
                print(f"{found.slug}\t{found.name}\t{found.region}\t{found.kind}\t{where}")
            return
        if args.centre_command == "create":
            new = network.NewCentre(
                args.slug,
                args.name,
                args.region,
                args.kind,
                args.host,
                args.time_zone,
                args.exit_url,
                args.emergency_numbers,
            )
            made = await network.create_centre(res, new, None)
            print(f"centre {made.slug!r} created: {network.centre_url(res, made)}/")
            first_admin = args.first_admin
        else:
            named = await res.centres.by_slug(args.slug)
            if named is None:
                raise PublicError(404, network.NO_CENTRE)
            made, first_admin = named, args.display_name
        if first_admin:
            link = await network.appoint_first_admin(res, made.id, first_admin, None)
            print(f"invitation for its administrator (valid {settings.invite_valid_hours} h): {link}")

    return _with_resources(settings, run)


def _serve(settings: Settings, host: str, port: int, proxy_headers: bool) -> int:
    from server.logs import configure_logging
    from server.serving import serve

    configure_logging(settings.log_level)
    serve(settings, host, port, proxy_headers)
    return 0


def _create_admin(
    settings: Settings, username: str, display_name: str | None, password_stdin: bool, network: bool
) -> int:
    from server.services.accounts import create_admin

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password (at least 12 characters): ")
        if getpass.getpass("Password again: ") != password:
            print("trygg: the passwords are not the same", file=sys.stderr)
            return 1

    async def run(res: Resources) -> None:
        await create_admin(
            res, username, display_name or username, password, settings.default_language, network=network
        )

    if _with_resources(settings, run):
        return 1
    where = "/network/" if network else "/staff/login"
    print(f"administrator {username!r} created; log in at {settings.public_url}{where}")
    return 0
