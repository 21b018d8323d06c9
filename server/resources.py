"""Everything a request handler may need, built once per app and shared through app.state."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from server.assets import AssetManifest
from server.passwords import Passwords
from server.security.cookies import Cookies
from server.security.throttle import RateLimiter
from server.settings import Settings
from server.templating import Renderer

LOGIN_WINDOW_SECONDS = 15 * 60


@dataclass
class Resources:
    """The app's shared resources (no globals: tests build as many apps as they like)."""

    settings: Settings
    engine: AsyncEngine
    db: async_sessionmaker[AsyncSession]
    passwords: Passwords
    assets: AssetManifest
    renderer: Renderer
    cookies: Cookies
    login_per_client: RateLimiter
    login_per_account: RateLimiter

    @classmethod
    def build(
        cls, settings: Settings, engine: AsyncEngine, db: async_sessionmaker[AsyncSession]
    ) -> Resources:
        assets = AssetManifest()
        return cls(
            settings=settings,
            engine=engine,
            db=db,
            passwords=Passwords(settings.password_hashing),
            assets=assets,
            renderer=Renderer(settings, assets),
            cookies=Cookies.for_settings(settings),
            login_per_client=RateLimiter(settings.login_attempts_per_client, LOGIN_WINDOW_SECONDS),
            login_per_account=RateLimiter(settings.login_attempts_per_account, LOGIN_WINDOW_SECONDS),
        )


def resources(connection: HTTPConnection) -> Resources:
    """The Resources of the app serving this request."""
    value = connection.app.state.resources
    assert isinstance(value, Resources)
    return value
