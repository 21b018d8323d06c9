"""The visitor's HTTP API: start a conversation, resume with a code, queue standing, delete.

No cookies: a visitor proves access with a bearer token (or the resume code's
verifier).  Creation and resumption are rate limited (server/services/visitor_limits.py).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access import require_visitor
from server.i18n import is_language
from server.jsonapi import read_json
from server.realtime.frames import FrameError, b64u, conversation_id
from server.realtime.frames import encode as b64
from server.resources import resources
from server.security.limits import Bucket
from server.services import centre, conversations, visitor_limits
from server.services import keys as key_service

_LOOKUP = re.compile(r"^[0-9a-f]{32}$")


def lookup_id(value: Any) -> str:
    if not isinstance(value, str) or not _LOOKUP.fullmatch(value):
        raise FrameError("bad_frame", "lookup must be 32 lowercase hex digits")
    return value


def language(value: Any) -> str:
    if not isinstance(value, str) or not is_language(value):
        raise FrameError("bad_frame", "language must be nb, sv or en")
    return value


def verifier(value: Any) -> str:
    raw = b64u(value, 64)
    if len(raw) != 32:
        raise FrameError("bad_frame", "verifier must be 32 bytes")
    return str(value)


async def directory(request: Request) -> Response:
    """What a visitor's client needs to encrypt for the centre's counsellors."""
    res = resources(request)
    signed = await key_service.current_directory(res)
    return JSONResponse(
        {
            "centre_id": (await key_service.centre_id(res)).hex(),
            "anchors": [b64(a) for a in await key_service.anchors(res)],
            "directory": b64(signed) if signed else None,
        }
    )


async def create(request: Request) -> Response:
    fields = await read_json(
        request,
        {
            "conversation": conversation_id,
            "lookup": lookup_id,
            "verifier": verifier,
            "state": lambda v: b64u(v, 8192),
            "genesis": b64u,
            "language": language,
        },
    )
    res = resources(request)
    async with visitor_limits.creating(res, Bucket.CONVERSATION, res.client_key(request.scope)):
        token = await conversations.create(
            res,
            fields["conversation"],
            fields["lookup"],
            fields["verifier"],
            fields["state"],
            fields["genesis"],
            fields["language"],
        )
    return JSONResponse({"token": token}, status_code=201)


async def resume(request: Request) -> Response:
    fields = await read_json(request, {"lookup": lookup_id, "verifier": verifier})
    res = resources(request)
    async with visitor_limits.code_attempt(res, res.client_key(request.scope), fields["lookup"]):
        found, state, token = await conversations.resume(res, fields["lookup"], fields["verifier"])
    return JSONResponse({"conversation": found.hex, "state": b64(state), "token": token})


async def standing(request: Request) -> Response:
    principal = await require_visitor(request)
    assert principal.conversation_id is not None
    res = resources(request)
    result = await conversations.standing(res, principal.conversation_id)
    days = await centre.opening_hours(res.db)
    return JSONResponse(
        {
            "status": result.status,
            "position": result.position,
            "estimated_wait_minutes": result.estimated_wait_minutes,
            "open_now": centre.is_open_at(days, datetime.now(res.settings.zone)),
        }
    )


async def delete(request: Request) -> Response:
    principal = await require_visitor(request)
    assert principal.conversation_id is not None
    await conversations.delete_by_visitor(resources(request), principal.conversation_id)
    return Response(status_code=204)


async def end(request: Request) -> Response:
    principal = await require_visitor(request)
    assert principal.conversation_id is not None
    await conversations.close(resources(request), principal, principal.conversation_id, None)
    return Response(status_code=204)


routes = [
    Route("/api/directory", directory, methods=["GET"]),
    Route("/api/visitor/conversations", create, methods=["POST"]),
    Route("/api/visitor/resume", resume, methods=["POST"]),
    Route("/api/visitor/queue", standing, methods=["GET"]),
    Route("/api/visitor/conversation", delete, methods=["DELETE"]),
    Route("/api/visitor/conversation/end", end, methods=["POST"]),
]
