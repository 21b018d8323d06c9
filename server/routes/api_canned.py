"""A counsellor's saved replies over JSON (sealed in the browser; see services/canned.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access import require_staff
from server.jsonapi import read_json
from server.models import Role, StaffAccount
from server.realtime.frames import b64u
from server.realtime.frames import encode as b64
from server.resources import resources
from server.services import canned


async def _author(request: Request) -> StaffAccount:
    """Counsellors and interpreters write in conversations; admins have no replies to save."""
    return await require_staff(request, Role.COUNSELLOR, Role.INTERPRETER)


def sealed(value: Any) -> bytes:
    return b64u(value, canned.MAX_BODY_BYTES)


async def list_replies(request: Request) -> Response:
    staff = await _author(request)
    rows = await canned.list_replies(resources(request), staff)
    return JSONResponse(
        [{"id": row.id.hex, "body": b64(row.body), "created_at": row.created_at.isoformat()} for row in rows]
    )


async def add_reply(request: Request) -> Response:
    staff = await _author(request)
    fields = await read_json(request, {"body": sealed})
    reply = await canned.add_reply(resources(request), staff, fields["body"])
    return JSONResponse({"id": reply.id.hex}, status_code=201)


async def delete_reply(request: Request) -> Response:
    staff = await _author(request)
    await canned.delete_reply(resources(request), staff, request.path_params["id"])
    return Response(status_code=204)


routes = [
    Route("/api/staff/canned", list_replies, methods=["GET"]),
    Route("/api/staff/canned", add_reply, methods=["POST"]),
    Route("/api/staff/canned/{id:uuid}", delete_reply, methods=["DELETE"]),
]
