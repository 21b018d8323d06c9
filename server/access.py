"""Every "may this person do this?" decision, in one place, one condition per line."""

from __future__ import annotations

import uuid

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from server.errors import PublicError
from server.i18n import N_
from server.models import Booking, Role, StaffAccount
from server.resources import Resources, resources
from server.services import conversations
from server.services.conversations import Principal
from server.services.staff_sessions import current_account

FORBIDDEN = N_("You do not have access to this page.")
UNAUTHORIZED = N_("This conversation does not exist or has been deleted.")
NOT_YOURS = N_("This booking is not yours.")


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


async def require_calendar_user(connection: HTTPConnection) -> StaffAccount:
    """Counsellors and interpreters have bookings, so a calendar link (interpreters no weekly times)."""
    return await require_staff(connection, Role.COUNSELLOR, Role.INTERPRETER)


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


def require_participant_frame(principal: Principal) -> StaffAccount:
    """Listing one's own open conversations: counsellors and interpreters (admins have none)."""
    if principal.staff is None:
        raise PublicError(403, FORBIDDEN, code="forbidden")
    if principal.staff.role not in (Role.COUNSELLOR, Role.INTERPRETER):
        raise PublicError(403, FORBIDDEN, code="forbidden")
    return principal.staff


def require_committer(principal: Principal) -> None:
    """Membership commits and closing: the visitor or a counsellor; interpreters never (§8.2)."""
    if principal.staff is not None:
        require_counsellor_frame(principal)


async def may_read_conversation(res: Resources, principal: Principal, conversation_id: uuid.UUID) -> bool:
    """Visitors: only their own conversation.  Staff: only while in its current epoch's roster."""
    if principal.staff is None and principal.conversation_id != conversation_id:
        return False
    return await conversations.is_member(res, principal, conversation_id)


# --- interpreters and bookings --------------------------------------------------------------


def may_see_booking(staff: StaffAccount, booking: Booking) -> bool:
    """An admin: every booking.  A counsellor: their own.  An interpreter: those they are attached to."""
    if staff.role == Role.ADMIN:
        return True
    if staff.role == Role.COUNSELLOR:
        return booking.counsellor_id == staff.id
    return staff.role == Role.INTERPRETER and booking.interpreter_id == staff.id


def require_booking_counsellor(staff: StaffAccount, booking: Booking) -> None:
    """Only the booking's own counsellor arranges an interpreter for it."""
    if staff.role != Role.COUNSELLOR or booking.counsellor_id != staff.id:
        raise PublicError(403, NOT_YOURS, code="forbidden")


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
