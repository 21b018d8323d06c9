"""Who is acting, and every "may this person do this?" decision, in one place, one condition per line.

This module depends only on the models, the session and token checks, and one query of its
own: whether a person is a member of a conversation's current epoch (`membership`).  Services
may call it; it calls no service, so nothing here can grow an import cycle.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from crypto.constants import Role as MemberRole
from server.centres import current_centre_of
from server.errors import PublicError
from server.i18n import N_
from server.models import (
    Booking,
    BookingHolder,
    CentreStaff,
    Conversation,
    ConversationMember,
    Role,
    StaffAccount,
    StaffSession,
    VisitorToken,
)
from server.models.centre import in_current_centre
from server.resources import Resources, resources
from server.services.staff_sessions import current_account, current_session
from server.services.tokens import holder_from_token, token_hash

FORBIDDEN = N_("You do not have access to this page.")
UNAUTHORIZED = N_("This conversation does not exist or has been deleted.")
NOT_YOURS = N_("This booking is not yours.")
NOT_HOLDER = N_("Enter your code again to see your bookings.")


@dataclass(frozen=True)
class Principal:
    """Who is acting: a visitor (holding one conversation's token) or a staff member."""

    staff: StaffAccount | None = None
    conversation_id: uuid.UUID | None = None


class LoginRequired(Exception):
    """No valid staff session: the handler for this sends the browser to the login page."""


# --- staff: who they are and what their role lets them do ---------------------------------


async def require_staff(connection: HTTPConnection, *roles: Role) -> StaffAccount:
    """The logged-in, active staff member, who must hold one of `roles` (any role if none given)."""
    res = resources(connection)
    token = connection.cookies.get(res.cookies.session)
    if not token:
        raise LoginRequired
    account = await current_account(res, token)
    if account is None:
        raise LoginRequired
    role = await role_at_centre(res, account, current_centre_of(connection).id)
    if role is None:
        raise PublicError(403, FORBIDDEN)  # logged in, but not working at this centre
    account.role = role  # the role at this centre (the account is detached: never written back)
    connection.state.staff = account
    connection.state.staff_language = account.language
    if roles and Role(account.role) not in roles:
        raise PublicError(403, FORBIDDEN)
    return account


async def role_at_centre(res: Resources, account: StaffAccount, centre_id: uuid.UUID) -> str | None:
    """The account's role at a centre: its own role at its home centre, else the role given to it
    there (CentreStaff), else None (it does not work there).  A network admin has no role at any
    centre: they can neither read a conversation nor certify staff nor add a trust anchor."""
    if account.network_admin:
        return None
    if account.centre_id == centre_id:
        return account.role
    async with res.db() as db:
        row = await db.get(CentreStaff, (centre_id, account.id))
    return row.role if row is not None else None


async def require_network_admin(connection: HTTPConnection) -> StaffAccount:
    """A network administrator (creates centres, appoints their first admins, sees counts)."""
    res = resources(connection)
    token = connection.cookies.get(res.cookies.session)
    account = await current_account(res, token) if token else None
    if account is None:
        raise LoginRequired
    if not account.network_admin:
        raise PublicError(403, FORBIDDEN)
    connection.state.staff_language = account.language  # no `staff`: no centre's menu applies
    return account


async def require_admin(connection: HTTPConnection) -> StaffAccount:
    return await require_staff(connection, Role.ADMIN)


async def require_counsellor(connection: HTTPConnection) -> StaffAccount:
    return await require_staff(connection, Role.COUNSELLOR)


async def require_interpreter(connection: HTTPConnection) -> StaffAccount:
    return await require_staff(connection, Role.INTERPRETER)


async def require_participant(connection: HTTPConnection) -> StaffAccount:
    """Counsellors and interpreters write in conversations (saved replies); admins do not."""
    return await require_staff(connection, Role.COUNSELLOR, Role.INTERPRETER)


async def require_calendar_user(connection: HTTPConnection) -> StaffAccount:
    """Counsellors and interpreters have bookings, so a calendar link (interpreters no weekly times)."""
    return await require_staff(connection, Role.COUNSELLOR, Role.INTERPRETER)


async def require_bookings_reader(connection: HTTPConnection) -> StaffAccount:
    """The bookings list: a counsellor's own, an interpreter's attached ones, an admin's all."""
    return await require_staff(connection, Role.COUNSELLOR, Role.INTERPRETER, Role.ADMIN)


def is_admin(staff: StaffAccount) -> bool:
    """Admins see the administration links (accounts, keys, hours, booking rules, load)."""
    return staff.role == Role.ADMIN


def is_counsellor(staff: StaffAccount) -> bool:
    return staff.role == Role.COUNSELLOR


def is_participant(staff: StaffAccount) -> bool:
    """Counsellors and interpreters take part in conversations, so they need certified keys."""
    return staff.role in (Role.COUNSELLOR, Role.INTERPRETER)


def may_take_over(colleague: StaffAccount) -> bool:
    """A conversation can be handed to an active counsellor only."""
    if not colleague.is_active:
        return False
    return colleague.role == Role.COUNSELLOR


def may_write_as_staff(account: StaffAccount, listed_now: bool) -> bool:
    """A staff member stores conversation messages only while a current member of the centre:
    active, and listed in the current directory with a certificate valid now (PROTOCOL.md §8.5)."""
    if not account.is_active:
        return False
    return listed_now


def may_interpret(account: StaffAccount) -> bool:
    """Only an active interpreter can be attached to a booking."""
    if not account.is_active:
        return False
    return account.role == Role.INTERPRETER


# --- conversations -------------------------------------------------------------------


def same_origin_websocket(websocket: WebSocket, public_url: str) -> bool:
    """A websocket handshake must come from our own pages (no cross-site websocket hijacking)."""
    origin = websocket.headers.get("origin")
    own = f"{'https' if websocket.url.scheme == 'wss' else 'http'}://{websocket.url.netloc}"
    return origin is not None and origin in {own, public_url}


async def staff_session_for_websocket(websocket: WebSocket) -> StaffSession | None:
    """The live session (and active account) of the staff member opening a websocket, if any
    (visitors have no cookie).  The socket lives only as long as this session does."""
    res = resources(websocket)
    token = websocket.cookies.get(res.cookies.session)
    session = await current_session(res, token) if token else None
    if session is None:
        return None
    if await role_at_centre(res, session.account, current_centre_of(websocket).id) is None:
        return None  # staff of another centre: no staff powers on this centre's socket
    return session


async def take_centre_role(websocket: WebSocket, account: StaffAccount) -> None:
    """The socket's staff member acts in their role at the socket's centre.  Called after the hub
    recorded the session (with the home role, which is what its session checks compare)."""
    role = await role_at_centre(resources(websocket), account, current_centre_of(websocket).id)
    if role is not None:
        account.role = role  # detached: never written back


async def visitor_for_token(res: Resources, token: str) -> Principal | None:
    """The visitor a bearer token (from HTTP or a `hello` frame) stands for, or None."""
    async with res.db() as db:
        row = await db.scalar(
            select(VisitorToken)
            .join(Conversation, Conversation.id == VisitorToken.conversation_id)
            .where(VisitorToken.token_hash == token_hash(token), in_current_centre(Conversation.centre_id))
        )
    return Principal(conversation_id=row.conversation_id) if row else None


async def require_visitor(connection: HTTPConnection) -> Principal:
    """A visitor's bearer token for one conversation (from the Authorization header)."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not 20 <= len(token) <= 100:
        raise PublicError(401, UNAUTHORIZED, code="unauthorized")
    principal = await visitor_for_token(resources(connection), token)
    if principal is None:
        raise PublicError(401, UNAUTHORIZED, code="unauthorized")
    return principal


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
    if not is_participant(principal.staff):
        raise PublicError(403, FORBIDDEN, code="forbidden")
    return principal.staff


def require_committer(principal: Principal) -> None:
    """Membership commits and closing: the visitor or a counsellor; interpreters never (§8.2)."""
    if principal.staff is not None:
        require_counsellor_frame(principal)


async def membership(
    db: AsyncSession, principal: Principal, conversation_id: uuid.UUID
) -> ConversationMember | None:
    """The acting person's row in the conversation's current roster, if they are in it."""
    query = (
        select(ConversationMember)
        .join(Conversation, Conversation.id == ConversationMember.conversation_id)
        .where(
            ConversationMember.conversation_id == conversation_id, in_current_centre(Conversation.centre_id)
        )
    )
    if principal.staff is not None:
        return await db.scalar(query.where(ConversationMember.staff_id == principal.staff.id))
    if principal.conversation_id != conversation_id:
        return None
    return await db.scalar(query.where(ConversationMember.role == int(MemberRole.VISITOR)))


async def may_read_conversation(res: Resources, principal: Principal, conversation_id: uuid.UUID) -> bool:
    """Visitors: only their own conversation.  Staff: only while in its current epoch's roster."""
    if principal.staff is None and principal.conversation_id != conversation_id:
        return False
    async with res.db() as db:
        return await membership(db, principal, conversation_id) is not None


# --- bookings ---------------------------------------------------------------------------------


async def require_holder(connection: HTTPConnection) -> uuid.UUID:
    """The one access check for a visitor's bookings: a valid, unexpired holder token."""
    res = resources(connection)
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    holder_id = holder_from_token(res.settings.secret_key, token) if scheme.lower() == "bearer" else None
    if holder_id is None:
        raise PublicError(401, NOT_HOLDER, code="unauthorized")
    async with res.db() as db:
        if await db.get(BookingHolder, holder_id) is None:
            raise PublicError(401, NOT_HOLDER, code="unauthorized")
    return holder_id


def may_see_all_bookings(staff: StaffAccount) -> bool:
    """An admin lists every booking (times and kinds, never the sealed details)."""
    return staff.role == Role.ADMIN


def may_see_booking(staff: StaffAccount, booking: Booking) -> bool:
    """An admin: every booking.  A counsellor: their own.  An interpreter: those they are attached to."""
    if staff.role == Role.ADMIN:
        return True
    if staff.role == Role.COUNSELLOR:
        return booking.counsellor_id == staff.id
    return staff.role == Role.INTERPRETER and booking.interpreter_id == staff.id


def require_may_see_booking(staff: StaffAccount, booking: Booking) -> None:
    if not may_see_booking(staff, booking):
        raise PublicError(403, NOT_YOURS, code="forbidden")


def may_open_booking_payload(staff: StaffAccount, booking: Booking) -> bool:
    """The sealed note, contact and interpreter request go to the booking's own counsellor only."""
    return booking.counsellor_id == staff.id


def has_weekly_times(staff: StaffAccount) -> bool:
    """Counsellors are booked directly, so they set weekly times; interpreters are attached."""
    return staff.role == Role.COUNSELLOR


def require_booking_counsellor(staff: StaffAccount, booking: Booking) -> None:
    """Only the booking's own counsellor arranges an interpreter for it."""
    if staff.role != Role.COUNSELLOR:
        raise PublicError(403, NOT_YOURS, code="forbidden")
    if booking.counsellor_id != staff.id:
        raise PublicError(403, NOT_YOURS, code="forbidden")
