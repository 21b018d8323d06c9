"""Where staff chat: the counsellor's live dashboard, the interpreter's page, saved replies.

The pages are a page and a websocket: everything they show of a conversation's content
is decrypted in the browser.  An interpreter never sees the queue: their page lists the
conversations they have been let into (the websocket's `assignments`), readable only from
the epoch the visitor let them in (or earlier, if the visitor shared it).  Saved replies
are sealed in the browser to the counsellor's own key (services/canned.py).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access import require_counsellor, require_interpreter, require_participant
from server.jsonapi import ApiRoute, Body, Operation, read_json
from server.languages import INTERPRETER_LANGUAGES
from server.models.conversations import OUTCOMES
from server.resources import resources
from server.services import canned
from server.validators import b64u_up_to, to_b64u

SEALED_REPLY = b64u_up_to(canned.MAX_BODY_BYTES)


async def chat_page(request: Request) -> Response:
    await require_counsellor(request)
    res = resources(request)
    here = await res.centres.current()
    return res.renderer.page(
        request,
        "staff/chat.html",
        {
            # The network's other centres, for offering a visitor a move (PROTOCOL.md §8.6).
            "other_centres": [c for c in await res.centres.all() if c.id != here.id],
            "max_open": res.settings.max_open_per_counsellor,
            "outcomes": OUTCOMES,
            "interpreter_languages": INTERPRETER_LANGUAGES,
        },
    )


async def interpret_page(request: Request) -> Response:
    await require_interpreter(request)
    return resources(request).renderer.page(request, "staff/interpret.html")


# --- saved replies -----------------------------------------------------------------------------


async def list_replies(request: Request) -> Response:
    """The staff member's saved replies (sealed to their own key)."""
    staff = await require_participant(request)
    rows = await canned.list_replies(resources(request), staff)
    return JSONResponse(
        [
            {"id": row.id.hex, "body": to_b64u(row.body), "created_at": row.created_at.isoformat()}
            for row in rows
        ]
    )


async def add_reply(request: Request) -> Response:
    """Save a sealed reply."""
    staff = await require_participant(request)
    fields = await read_json(request)
    reply = await canned.add_reply(resources(request), staff, fields["body"])
    return JSONResponse({"id": reply.id.hex}, status_code=201)


async def delete_reply(request: Request) -> Response:
    """Delete one of one's saved replies."""
    staff = await require_participant(request)
    await canned.delete_reply(resources(request), staff, request.path_params["id"])
    return Response(status_code=204)


routes = [
    Route("/staff/chat", chat_page, methods=["GET"]),
    Route("/staff/interpret", interpret_page, methods=["GET"]),
    ApiRoute("/api/staff/canned", list_replies, "GET", Operation(auth=("staff",))),
    ApiRoute(
        "/api/staff/canned",
        add_reply,
        "POST",
        Operation(auth=("staff",), body=Body({"body": SEALED_REPLY}), responses={201: "Saved"}),
    ),
    ApiRoute(
        "/api/staff/canned/{id:uuid}",
        delete_reply,
        "DELETE",
        Operation(auth=("staff",), responses={204: "Deleted"}),
    ),
]
