"""Every "may this person do this?" decision, in one place, one condition per line."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from server.errors import PublicError
from server.i18n import N_
from server.models import Role, StaffAccount
from server.resources import resources
from server.services.staff_sessions import current_account

FORBIDDEN = N_("You do not have access to this page.")


class LoginRequired(Exception):
    """No valid staff session: the handler for this sends the browser to the login page."""


async def require_staff(connection: HTTPConnection, *roles: Role) -> StaffAccount:
    """The logged-in, active staff member, who must hold one of `roles` (any role if none given)."""
    res = resources(connection)
    token = connection.cookies.get(res.cookies.session)
    if not token:
        raise LoginRequired
    account = await current_account(res, token)
    if account is None:
        raise LoginRequired
    connection.state.staff = account
    connection.state.staff_language = account.language
    if roles and Role(account.role) not in roles:
        raise PublicError(403, FORBIDDEN)
    return account


async def require_admin(connection: HTTPConnection) -> StaffAccount:
    return await require_staff(connection, Role.ADMIN)
