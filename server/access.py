"""Every "may this person do this?" decision, in one place, one condition per line."""

from __future__ import annotations

import uuid

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from server.errors import PublicError
from server.i18n import N_
from server.models import Role, StaffAccount
from server.resources import Resources, resources
from server.services import conversations
from server.services.conversations import Principal
from server.services.staff_sessions import current_account

FORBIDDEN = N_("You do not have access to this page.")
UNAUTHORIZED = N_("This conversation does not exist or has been deleted.")


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


async def require_counsellor(connection: HTTPConnection) -> StaffAccount:
    return await require_staff(connection, Role.COUNSELLOR)


# --- conversations -------------------------------------------------------------------


def same_origin_websocket(websocket: WebSocket, public_url: str) -> bool:
    """A websocket handshake must come from our own pages (no cross-site websocket hijacking)."""
    origin = websocket.headers.get("origin")
    own = f"{'https' if websocket.url.scheme == 'wss' else 'http'}://{websocket.url.netloc}"
    return origin is not None and origin in {own, public_url}


async def staff_for_websocket(websocket: WebSocket) -> StaffAccount | None:
    """The logged-in staff member opening a websocket, if any (visitors have no cookie)."""
    res = resources(websocket)
    token = websocket.cookies.get(res.cookies.session)
    return await current_account(res, token) if token else None


def require_counsellor_frame(principal: Principal) -> StaffAccount:
    """Queue, claim, transfer and release are for counsellors only."""
    if principal.staff is None:
        raise PublicError(403, FORBIDDEN, code="forbidden")
    if principal.staff.role != Role.COUNSELLOR:
        raise PublicError(403, FORBIDDEN, code="forbidden")
    return principal.staff


async def may_read_conversation(res: Resources, principal: Principal, conversation_id: uuid.UUID) -> bool:
    """Visitors: only their own conversation.  Staff: only while in its current epoch's roster."""
    if principal.staff is None and principal.conversation_id != conversation_id:
        return False
    return await conversations.is_member(res, principal, conversation_id)


async def require_visitor(connection: HTTPConnection) -> Principal:
    """A visitor's bearer token for one conversation (from the Authorization header)."""
    res = resources(connection)
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not 20 <= len(token) <= 100:
        raise PublicError(401, UNAUTHORIZED, code="unauthorized")
    conversation_id = await conversations.conversation_for_token(res, token)
    if conversation_id is None:
        raise PublicError(401, UNAUTHORIZED, code="unauthorized")
    return Principal(conversation_id=conversation_id)
