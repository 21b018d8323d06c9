"""Keys: a staff member's own key (/staff/keys), the admin's certification page, and the JSON
behind both: own key backup, the centre key, certification and the signed directory, and the
interpreters counsellors can invite (their certificates are in the directory).

The keys themselves are made, unlocked and used in the browser (web/static/js/staff/);
these handlers render the pages and store and check what the browser sends.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access import (
    is_admin,
    is_participant,
    require_admin,
    require_counsellor,
    require_staff,
)
from server.jsonapi import ApiRoute, Body, Operation, read_json
from server.resources import resources
from server.services import accounts, centre_staff, directory_status, keys, rekey
from server.validators import b64u, b64u_exactly, b64u_up_to, certificates, to_b64u

KEY = b64u_exactly(32)
BACKUP = b64u_up_to(4096)


# --- pages ------------------------------------------------------------------------------------


async def own_keys_page(request: Request) -> Response:
    account = await require_staff(request)
    return resources(request).renderer.page(request, "staff/keys.html", {"is_admin": is_admin(account)})


async def admin_keys_page(request: Request) -> Response:
    await require_admin(request)
    res = resources(request)
    with_keys = {info.account.id for info in await keys.staff_keys(res)}
    overview = await accounts.staff_overview(res)
    shared = [g.account for g in await centre_staff.guests(res) if g.role in centre_staff.SHARED_ROLES]
    without_keys = [
        account
        for account in overview.accounts
        if account.is_active and is_participant(account) and account.id not in with_keys
    ] + [account for account in shared if account.is_active and account.id not in with_keys]
    return res.renderer.page(request, "staff/admin_keys.html", {"without_keys": without_keys})


async def directory_state(request: Request) -> Response:
    """Whether the published directory is current, and who waits for a certificate."""
    await require_admin(request)
    found = await directory_status.status(resources(request))
    return JSONResponse(
        {
            "serial": found.serial,
            "issued_at": found.issued_at,
            "expires_at": found.expires_at,
            "listed": [staff_id.hex for staff_id in found.listed],
            "problems": found.problems,
            "deactivated_listed": found.deactivated_listed,
            "waiting": found.waiting,
        }
    )


# --- JSON ----------------------------------------------------------------------------------


async def own_keys(request: Request) -> Response:
    """The staff member's own key backup and certificate."""
    staff = await require_staff(request)
    res = resources(request)
    found = await keys.own_keys(res, staff)
    return JSONResponse(
        {
            "staff_id": staff.id.hex,
            "centre_id": (await keys.centre_id(res)).hex(),
            "role": staff.role,
            "display_name": staff.display_name,
            "backup": to_b64u(found.backup) if found.backup else None,
            "certificate": to_b64u(found.certificate) if found.certificate else None,
        }
    )


async def set_own_keys(request: Request) -> Response:
    """Store the staff member's public keys and encrypted key backup."""
    staff = await require_staff(request)
    fields = await read_json(request)
    await keys.set_own_keys(
        resources(request), staff, fields["kem_public"], fields["sig_public"], fields["backup"]
    )
    return Response(status_code=204)


async def centre_key(request: Request) -> Response:
    """The centre key's public half and encrypted backup (admins)."""
    admin = await require_admin(request)
    found = await keys.centre_key(resources(request), admin)
    if found is None:
        return JSONResponse({"error": "not_found", "message": "no centre key yet"}, status_code=404)
    return JSONResponse({"sig_public": to_b64u(found.sig_public), "backup": to_b64u(found.backup)})


async def set_centre_key(request: Request) -> Response:
    """Store the centre key (admins, once)."""
    admin = await require_admin(request)
    fields = await read_json(request)
    await keys.set_centre_key(resources(request), admin, fields["sig_public"], fields["backup"])
    return Response(status_code=204)


async def admin_keys(request: Request) -> Response:
    """Every active admin's centre key (public half only), for adding or removing anchors."""
    await require_admin(request)
    return JSONResponse(
        [
            {
                "admin_id": account.id.hex,
                "display_name": account.display_name,
                "sig_public": to_b64u(key.sig_public),
            }
            for account, key in await keys.admin_centre_keys(resources(request))
        ]
    )


async def staff_keys(request: Request) -> Response:
    """Every staff member's public keys and certificate (admins)."""
    await require_admin(request)
    return JSONResponse(
        [
            {
                "staff_id": info.account.id.hex,
                "display_name": info.account.display_name,
                "role": info.role,
                "kem_public": to_b64u(info.key.kem_public),
                "sig_public": to_b64u(info.key.sig_public),
                "certificate": to_b64u(info.certificate) if info.certificate else None,
            }
            for info in await keys.staff_keys(resources(request))
        ]
    )


async def publish_directory(request: Request) -> Response:
    """Store new certificates and publish a signed directory (admins)."""
    admin = await require_admin(request)
    fields = await read_json(request)
    await keys.publish_directory(resources(request), admin, fields["certificates"], fields["directory"])
    await rekey.mark(resources(request))  # whoever it no longer lists must go (§8.5)
    return Response(status_code=204)


async def interpreters(request: Request) -> Response:
    """Active interpreters and their languages, for a counsellor inviting one (chat or booking)."""
    await require_counsellor(request)
    found = await accounts.active_interpreters(resources(request))
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


STAFF = Operation(auth=("staff",))


def storing(body: Body) -> Operation:
    """A staff call that stores what it is sent and answers 204."""
    return Operation(auth=("staff",), body=body, responses={204: "Stored"})


routes = [
    Route("/staff/keys", own_keys_page, methods=["GET"]),
    Route("/staff/admin/keys", admin_keys_page, methods=["GET"]),
    ApiRoute("/api/admin/directory-status", directory_state, "GET", STAFF),
    ApiRoute("/api/staff/keys", own_keys, "GET", STAFF),
    ApiRoute(
        "/api/staff/keys",
        set_own_keys,
        "PUT",
        storing(Body({"kem_public": KEY, "sig_public": KEY, "backup": BACKUP})),
    ),
    ApiRoute("/api/staff/interpreters", interpreters, "GET", STAFF),
    ApiRoute("/api/admin/centre-key", centre_key, "GET", STAFF),
    ApiRoute(
        "/api/admin/centre-key", set_centre_key, "PUT", storing(Body({"sig_public": KEY, "backup": BACKUP}))
    ),
    ApiRoute("/api/admin/staff-keys", staff_keys, "GET", STAFF),
    ApiRoute("/api/admin/centre-keys", admin_keys, "GET", STAFF),
    ApiRoute(
        "/api/admin/directory",
        publish_directory,
        "POST",
        storing(Body({"certificates": certificates, "directory": b64u})),
    ),
]
