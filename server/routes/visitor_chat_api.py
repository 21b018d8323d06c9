"""The visitor's HTTP API: start a conversation, resume with a code, queue standing, delete.

No cookies: a visitor proves access with a bearer token (or the resume code's
verifier).  Creation and resumption are rate limited (server/services/visitor_limits.py).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.access import require_visitor
from server.errors import PublicError
from server.i18n import N_
from server.jsonapi import ApiRoute, Body, Operation, read_json, read_query
from server.models import Status
from server.resources import resources
from server.security.limits import Bucket
from server.services import conversations, queue, trust, visitor_limits
from server.services import keys as key_service
from server.services.booking import holders
from server.validators import b64u, b64u_up_to, hex_id, language, lookup_id, one_of, to_b64u, verifier

MAX_STATE = 8192
BAD_REQUEST = N_("The request could not be understood.")


async def directory(request: Request) -> Response:
    """What a visitor's client needs to encrypt for the centre's counsellors: the directory and
    the root chain it verifies to the pin its page carries (the anchors are the newest root's,
    for old clients; clients must verify the chain instead)."""
    res = resources(request)
    signed = await key_service.current_directory(res)
    centre = await key_service.centre_id(res)
    return JSONResponse(
        {
            "centre_id": centre.hex(),
            "roots": [to_b64u(version) for version in await trust.chain(res, centre)],
            "anchors": [to_b64u(a) for a in await key_service.anchors(res, centre)],
            "directory": to_b64u(signed) if signed else None,
        }
    )


async def create(request: Request) -> Response:
    """Start a conversation; the visitor's bearer token."""
    fields = await read_json(request)
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
    """Resume a conversation with its code: the sealed state and a fresh token."""
    fields = await read_json(request)
    res = resources(request)
    async with visitor_limits.code_attempt(res, res.client_key(request.scope), fields["lookup"]):
        found, state, token = await conversations.resume(res, fields["lookup"], fields["verifier"])
    return JSONResponse({"conversation": found.hex, "state": to_b64u(state), "token": token})


async def standing(request: Request) -> Response:
    """Where the visitor is in the queue (the websocket pushes the same as `standing` frames)."""
    principal = await require_visitor(request)
    assert principal.conversation_id is not None
    found = await queue.standing(resources(request), principal.conversation_id)
    if found.status == Status.DELETED:
        raise PublicError(404, conversations.NOT_FOUND, code="not_found")
    return JSONResponse(
        {
            "status": found.status,
            "position": found.position,
            "estimated_wait_minutes": found.estimated_wait_minutes,
            "open_now": found.open_now,
        }
    )


async def delete(request: Request) -> Response:
    """Delete the conversation and everything in it (bookings kept unlinked, or cancelled)."""
    principal = await require_visitor(request)
    assert principal.conversation_id is not None
    choice = await bookings_choice(request)
    await conversations.delete_by_visitor(resources(request), principal.conversation_id, choice)
    return Response(status_code=204)


async def bookings_choice(request: Request) -> str:
    """`?bookings=keep` (the default: unlinked from the chat) or `?bookings=cancel`; nothing else."""
    try:
        if await request.body():
            raise PublicError(400, BAD_REQUEST)
        return str(read_query(request).get("bookings", holders.KEEP))
    except PublicError:  # a 400, as documented for this call (not the 422 of other queries)
        raise PublicError(400, BAD_REQUEST, code="bad_request") from None


async def end(request: Request) -> Response:
    """End the conversation (it can still be read or deleted)."""
    principal = await require_visitor(request)
    assert principal.conversation_id is not None
    await conversations.close(resources(request), principal, principal.conversation_id, None)
    return Response(status_code=204)


CODE = Body({"lookup": lookup_id, "verifier": verifier})
VISITOR = ("visitor",)

routes = [
    ApiRoute("/api/directory", directory, "GET"),
    ApiRoute(
        "/api/visitor/conversations",
        create,
        "POST",
        Operation(
            body=Body(
                {
                    "conversation": hex_id,
                    "lookup": lookup_id,
                    "verifier": verifier,
                    "state": b64u_up_to(MAX_STATE),
                    "genesis": b64u,
                    "language": language,
                }
            ),
            responses={201: "Created: the visitor's bearer token", 409: "The id or lookup is taken"},
        ),
    ),
    ApiRoute("/api/visitor/resume", resume, "POST", Operation(body=CODE)),
    ApiRoute("/api/visitor/queue", standing, "GET", Operation(auth=VISITOR)),
    ApiRoute(
        "/api/visitor/conversation",
        delete,
        "DELETE",
        Operation(auth=VISITOR, query={"bookings": one_of(*holders.CHOICES)}, responses={204: "Deleted"}),
    ),
    ApiRoute("/api/visitor/conversation/end", end, "POST", Operation(auth=VISITOR, responses={204: "Ended"})),
]
