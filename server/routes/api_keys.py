"""Staff keys and the directory over JSON: own key backup, the centre key, certification, and
the interpreters counsellors can invite (their certificates are in the directory)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access import require_admin, require_counsellor, require_staff
from server.jsonapi import read_json
from server.realtime.frames import FrameError, b64u, staff_id
from server.realtime.frames import encode as b64
from server.resources import resources
from server.services import accounts, keys


def key32(value: Any) -> bytes:
    raw = b64u(value, 32)
    if len(raw) != 32:
        raise FrameError("bad_frame", "keys are 32 bytes")
    return raw


def backup(value: Any) -> bytes:
    return b64u(value, 4096)


def certificates(value: Any) -> dict[Any, bytes]:
    if not isinstance(value, dict) or len(value) > 255:
        raise FrameError("bad_frame", "certificates map staff ids to certificates")
    return {staff_id(k): b64u(v, 1024) for k, v in value.items()}


async def own_keys(request: Request) -> Response:
    staff = await require_staff(request)
    res = resources(request)
    found = await keys.own_keys(res, staff)
    return JSONResponse(
        {
            "staff_id": staff.id.hex,
            "centre_id": (await keys.centre_id(res)).hex(),
            "role": staff.role,
            "display_name": staff.display_name,
            "backup": b64(found.backup) if found.backup else None,
            "certificate": b64(found.certificate) if found.certificate else None,
        }
    )


async def set_own_keys(request: Request) -> Response:
    staff = await require_staff(request)
    fields = await read_json(request, {"kem_public": key32, "sig_public": key32, "backup": backup})
    await keys.set_own_keys(
        resources(request), staff, fields["kem_public"], fields["sig_public"], fields["backup"]
    )
    return Response(status_code=204)


async def centre_key(request: Request) -> Response:
    admin = await require_admin(request)
    found = await keys.centre_key(resources(request), admin)
    if found is None:
        return JSONResponse({"error": "not_found", "message": "no centre key yet"}, status_code=404)
    return JSONResponse({"sig_public": b64(found.sig_public), "backup": b64(found.backup)})


async def set_centre_key(request: Request) -> Response:
    admin = await require_admin(request)
    fields = await read_json(request, {"sig_public": key32, "backup": backup})
    await keys.set_centre_key(resources(request), admin, fields["sig_public"], fields["backup"])
    return Response(status_code=204)


async def staff_keys(request: Request) -> Response:
    await require_admin(request)
    return JSONResponse(
        [
            {
                "staff_id": info.account.id.hex,
                "display_name": info.account.display_name,
                "role": info.account.role,
                "kem_public": b64(info.key.kem_public),
                "sig_public": b64(info.key.sig_public),
                "certificate": b64(info.key.certificate) if info.key.certificate else None,
            }
            for info in await keys.staff_keys(resources(request))
        ]
    )


async def publish_directory(request: Request) -> Response:
    admin = await require_admin(request)
    fields = await read_json(request, {"certificates": certificates, "directory": b64u})
    await keys.publish_directory(resources(request), admin, fields["certificates"], fields["directory"])
    return Response(status_code=204)


async def interpreters(request: Request) -> Response:
    """Active interpreters and their languages, for a counsellor inviting one (chat or booking)."""
    await require_counsellor(request)
    found = await accounts.active_interpreters(resources(request).db)
    return JSONResponse(
        {
            "interpreters": [
                {
                    "staff_id": person.staff_id.hex,
                    "display_name": person.display_name,
                    "languages": person.languages,
                    "certified": person.certified,
                }
                for person in found
            ]
        }
    )


routes = [
    Route("/api/staff/keys", own_keys, methods=["GET"]),
    Route("/api/staff/keys", set_own_keys, methods=["PUT"]),
    Route("/api/staff/interpreters", interpreters, methods=["GET"]),
    Route("/api/admin/centre-key", centre_key, methods=["GET"]),
    Route("/api/admin/centre-key", set_centre_key, methods=["PUT"]),
    Route("/api/admin/staff-keys", staff_keys, methods=["GET"]),
    Route("/api/admin/directory", publish_directory, methods=["POST"]),
]
