"""The interpreter's page: the conversations they have been let into, and nothing else.

An interpreter never sees the queue.  The page lists the conversations they are a member
of (the websocket's `assignments`), and everything in them is decrypted in their browser,
only from the epoch the visitor let them in (or earlier, if the visitor shared it).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.access import require_staff
from server.models import Role
from server.resources import resources


async def interpret_page(request: Request) -> Response:
    await require_staff(request, Role.INTERPRETER)
    return resources(request).renderer.page(request, "staff/interpret.html")


routes = [
    Route("/staff/interpret", interpret_page, methods=["GET"]),
]
