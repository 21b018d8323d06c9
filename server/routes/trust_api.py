"""The centre's trust root and log (PROTOCOL.md §5.4-§5.6): public reads, and the admin's
new root versions (accepted only when they extend the chain under the pin; services/trust.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crypto import short_centre_fingerprint
from server.access import require_admin
from server.jsonapi import ApiRoute, Body, Operation, read_json, read_query
from server.resources import resources
from server.services import keys, trust
from server.validators import b64u_up_to, to_b64u, whole_number

ROOT = b64u_up_to(4096)
MAX_LOG = 2**31 - 1


async def trust_root(request: Request) -> Response:
    """The root chain (version 1 first), a draft waiting for signatures, the log key, the pin."""
    res = resources(request)
    centre = await keys.centre_id(res)
    pin = res.trust.pin(centre)
    pending = await trust.draft(res, centre)
    return JSONResponse(
        {
            "centre_id": centre.hex(),
            "roots": [to_b64u(version) for version in await trust.chain(res, centre)],
            "draft": to_b64u(pending) if pending else None,
            "log_key": to_b64u(res.trust.log_key().public),
            "pin": pin.hex() if pin else None,
            "short_pin": short_centre_fingerprint(pin) if pin else None,
            "pin_configured": res.trust.configured_pin(centre) is not None,
        }
    )


async def submit_root(request: Request) -> Response:
    """A new root version signed by anchors (admins); kept as a draft until it has enough."""
    admin = await require_admin(request)
    fields = await read_json(request)
    res = resources(request)
    done = await trust.submit_root(res, await keys.centre_id(res), admin, fields["root"])
    return JSONResponse(
        {"state": "applied" if done.applied else "pending", "version": done.version},
        status_code=201 if done.applied else 202,
    )


async def log(request: Request) -> Response:
    """A freshly signed head and the entries after `since` (0 by default), from chain(since)."""
    res = resources(request)
    since = read_query(request).get("since", 0)
    view = await trust.log_view(res, await keys.centre_id(res), since)
    return JSONResponse(
        {
            "head": to_b64u(view.head),
            "size": view.size,
            "since": view.since,
            "before": to_b64u(view.before),
            "entries": [{"kind": kind, "hash": to_b64u(digest)} for kind, digest in view.entries],
        }
    )


routes = [
    ApiRoute("/api/trust", trust_root, "GET"),
    ApiRoute(
        "/api/admin/trust-root",
        submit_root,
        "PUT",
        Operation(
            auth=("staff",), body=Body({"root": ROOT}), responses={201: "Applied", 202: "Kept as a draft"}
        ),
    ),
    ApiRoute("/api/log", log, "GET", Operation(query={"since": whole_number(0, MAX_LOG)})),
]
