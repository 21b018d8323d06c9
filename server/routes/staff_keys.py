"""Key pages: a staff member's own key (/staff/keys) and the admin's certification page.

The keys themselves are made, unlocked and used in the browser (web/static/js/staff/);
these handlers only render the pages and report whether the directory needs publishing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access import require_admin, require_staff
from server.models import Role
from server.resources import resources
from server.services import accounts, directory_status, keys


async def own_keys_page(request: Request) -> Response:
    account = await require_staff(request)
    return resources(request).renderer.page(
        request, "staff/keys.html", {"is_admin": account.role == Role.ADMIN}
    )


async def admin_keys_page(request: Request) -> Response:
    await require_admin(request)
    res = resources(request)
    with_keys = {info.account.id for info in await keys.staff_keys(res)}
    overview = await accounts.staff_overview(res.db)
    without_keys = [
        account
        for account in overview.accounts
        if account.is_active
        and account.role in (Role.COUNSELLOR, Role.INTERPRETER)
        and account.id not in with_keys
    ]
    return res.renderer.page(request, "staff/admin_keys.html", {"without_keys": without_keys})


async def directory_state(request: Request) -> Response:
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


routes = [
    Route("/staff/keys", own_keys_page, methods=["GET"]),
    Route("/staff/admin/keys", admin_keys_page, methods=["GET"]),
    Route("/api/admin/directory-status", directory_state, methods=["GET"]),
]
