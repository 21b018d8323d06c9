"""Entry point for ASGI servers: `uvicorn --factory server.asgi:app_from_environment`."""

from __future__ import annotations

from starlette.applications import Starlette

from server.app import create_app
from server.logs import configure_logging
from server.settings import settings_from_environment


def app_from_environment() -> Starlette:
    """The app configured from os.environ, with Trygg's address-free logging."""
    settings = settings_from_environment()
    configure_logging(settings.log_level)
    return create_app(settings)
