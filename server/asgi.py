"""Entry point for other ASGI servers: `uvicorn --factory server.asgi:app_from_environment`.

The same application, but without the run configuration of server/serving.py (connection
caps, header and body deadlines, the descriptor budget, the websocket frame limit):
production runs `trygg serve` (docs/DEPLOYMENT.md).
"""

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
