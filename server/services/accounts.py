"""Staff accounts: the first admin, invitations, deactivation.  Each function is one transaction."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError

from server.errors import PublicError
from server.i18n import N_
from server.languages import is_interpreter_language
from server.models import (
    AuditEvent,
    Role,
    StaffAccount,
    StaffCertificate,
    StaffInvite,
    StaffSession,
    staff_of_current_centre,
    utcnow,
)
from server.models.centre import in_current_centre
from server.passwords import password_problem
from server.realtime import events
from server.resources import Resources
from server.services.tokens import new_token, token_hash

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
BAD_USERNAME = N_(
    "A user name has 3 to 64 characters: lower-case letters a–z, digits, dot, dash or underscore."
)
BAD_DISPLAY_NAME = N_("Enter a name of 1 to 80 characters.")
BAD_ROLE = N_("Choose a role.")
USERNAME_TAKEN = N_("That user name is taken.")
INVITE_INVALID = N_("This invitation link is not valid. It may have expired or been used already.")
NOT_FOUND = N_("No such account.")
CANNOT_DEACTIVATE_SELF = N_("You cannot deactivate your own account.")
BAD_LANGUAGES = N_(
    "Not a language code from the list: %(codes)s. Write codes such as ar, so or ti, separated by spaces."
)
NOT_AN_INTERPRETER = N_("Languages are recorded only for interpreters.")
_LANGUAGE_SEPARATORS = re.compile(r"[\s,;]+")


def clean_username(raw: str) -> str:
    username = raw.strip().lower()
    if not USERNAME_RE.fullmatch(username):
        raise PublicError(422, BAD_USERNAME)
    return username


def clean_display_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not 1 <= len(name) <= 80 or any(ord(ch) < 32 for ch in name):
        raise PublicError(422, BAD_DISPLAY_NAME)
    return name


def clean_role(raw: str) -> Role:
    try:
        return Role(raw)
    except ValueError:
        raise PublicError(422, BAD_ROLE) from None


def check_password(password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem:
        raise PublicError(422, problem)


async def create_admin(
    res: Resources,
    username: str,
    display_name: str,
    password: str,
    language: str = "nb",
    network: bool = False,
) -> StaffAccount:
    """Make an administrator account of the first centre, or a network administrator
    (`trygg create-admin [--network]`)."""
    username = clean_username(username)
    display_name = clean_display_name(display_name)
    check_password(password, username)
    account = StaffAccount(
        username=username,
        display_name=display_name,
        role=Role.ADMIN.value,
        language=language,
        password_hash=await res.passwords.hash(password),
        network_admin=network,
    )
    try:
        async with res.db.begin() as session:
            session.add(account)
            session.add(AuditEvent(action="account.create_admin", subject_id=account.id))
    except IntegrityError:
        raise PublicError(409, USERNAME_TAKEN) from None
    return account


@dataclass(frozen=True)
class NewInvite:
    invite: StaffInvite
    token: str


async def invite_staff(
    res: Resources,
    actor: StaffAccount,
    role: str,
    display_name: str,
    valid_hours: int,
) -> NewInvite:
    """A single-use invitation; the token is returned once and only its hash is kept."""
    token = new_token()
    invite = StaffInvite(
        token_hash=token_hash(token),
        role=clean_role(role).value,
        display_name=clean_display_name(display_name),
        created_by_id=actor.id,
        expires_at=utcnow() + timedelta(hours=valid_hours),
    )
    async with res.db.begin() as session:
        session.add(invite)
        session.add(AuditEvent(actor_id=actor.id, action="invite.create", subject_id=invite.id))
    return NewInvite(invite, token)


async def find_open_invite(res: Resources, token: str) -> StaffInvite:
    """The unused, unexpired invitation for `token`, or PublicError(404)."""
    async with res.db() as session:
        invite = await session.scalar(select(StaffInvite).where(StaffInvite.token_hash == token_hash(token)))
    if invite is None or invite.used_at is not None or invite.expires_at <= utcnow():
        raise PublicError(404, INVITE_INVALID)
    return invite


async def accept_invite(
    res: Resources,
    token: str,
    username: str,
    password: str,
    language: str,
) -> StaffAccount:
    """Create the invited account; the invitation can never be used again."""
    username = clean_username(username)
    check_password(password, username)
    await find_open_invite(res, token)
    password_hash = await res.passwords.hash(password)
    try:
        async with res.db.begin() as session:
            invite = await session.scalar(
                select(StaffInvite).where(StaffInvite.token_hash == token_hash(token))
            )
            # Re-checked inside the write transaction: two tabs cannot both use one link.
            # (A reset link, which names its account already, is for services/credentials.py.)
            if invite is None or invite.used_at is not None or invite.account_id is not None:
                raise PublicError(404, INVITE_INVALID)
            if invite.expires_at <= utcnow():
                raise PublicError(404, INVITE_INVALID)
            account = StaffAccount(
                centre_id=invite.centre_id,  # the centre that invited, whichever address was used
                username=username,
                display_name=invite.display_name,
                role=invite.role,
                language=language,
                password_hash=password_hash,
            )
            session.add(account)
            await session.flush()
            invite.used_at = utcnow()
            invite.account_id = account.id
            session.add(AuditEvent(actor_id=account.id, action="invite.accept", subject_id=invite.id))
    except IntegrityError:
        raise PublicError(409, USERNAME_TAKEN) from None
    return account


async def revoke_invite(res: Resources, actor: StaffAccount, invite_id: uuid.UUID) -> None:
    async with res.db.begin() as session:
        invite = await session.get(StaffInvite, invite_id)
        if invite is None or invite.used_at is not None:
            raise PublicError(404, INVITE_INVALID)
        if invite.centre_id != (await res.centres.current()).id:
            raise PublicError(404, INVITE_INVALID)  # another centre's
        await session.delete(invite)
        session.add(AuditEvent(actor_id=actor.id, action="invite.revoke", subject_id=invite_id))


def _of_this_centre(account_id: uuid.UUID) -> Select[StaffAccount]:
    """An account of the centre being served (another centre's, or a network admin's, is "not found")."""
    return select(StaffAccount).where(
        StaffAccount.id == account_id,
        in_current_centre(StaffAccount.centre_id),
        StaffAccount.network_admin.is_(False),
    )


async def set_active(
    res: Resources, actor: StaffAccount, account_id: uuid.UUID, active: bool
) -> StaffAccount:
    """Deactivate (ending every session at once) or reactivate an account.

    Either may change who is on duty (an inactive counsellor is never listed), so it says so.
    """
    if account_id == actor.id and not active:
        raise PublicError(409, CANNOT_DEACTIVATE_SELF)
    async with res.db.begin() as session:
        account = await session.scalar(_of_this_centre(account_id))
        if account is None:
            raise PublicError(404, NOT_FOUND)
        account.is_active = active
        account.deactivated_at = None if active else utcnow()
        if not active:
            await session.execute(delete(StaffSession).where(StaffSession.account_id == account_id))
        action = "account.reactivate" if active else "account.deactivate"
        session.add(AuditEvent(actor_id=actor.id, action=action, subject_id=account_id))
    await events.presence_changed(res.bus)
    return account


async def set_role(res: Resources, actor: StaffAccount, account_id: uuid.UUID, raw_role: str) -> None:
    """Give an account another role (audited); its open websockets close and load again as the new role.

    No page calls this yet: roles per centre come with the network of centres (issue 16), and
    a participant's certificate names its role, so a changed participant needs a new one.  What
    is here is what every role change must do: write, audit, and announce it on the bus.
    """
    role = clean_role(raw_role)
    async with res.db.begin() as session:
        account = await session.scalar(_of_this_centre(account_id).with_for_update())
        if account is None:
            raise PublicError(404, NOT_FOUND)
        if account.role == role:
            return
        account.role = role
        session.add(AuditEvent(actor_id=actor.id, action="account.role_change", subject_id=account_id))
    await events.session_ended(res.bus, account_id, "role_changed")
    await events.presence_changed(res.bus)


async def set_language(res: Resources, account: StaffAccount, language: str) -> None:
    async with res.db.begin() as session:
        live = await session.get(StaffAccount, account.id)
        if live:
            live.language = language


@dataclass(frozen=True)
class StaffOverview:
    accounts: list[StaffAccount]
    open_invites: list[StaffInvite]


async def staff_overview(res: Resources) -> StaffOverview:
    async with res.db() as session:
        accounts = list(
            await session.scalars(
                select(StaffAccount)
                .where(in_current_centre(StaffAccount.centre_id), StaffAccount.network_admin.is_(False))
                .order_by(StaffAccount.is_active.desc(), StaffAccount.display_name)
            )
        )
        invites = list(
            await session.scalars(
                select(StaffInvite)
                .where(
                    StaffInvite.used_at.is_(None),
                    StaffInvite.expires_at > utcnow(),
                    in_current_centre(StaffInvite.centre_id),
                )
                .order_by(StaffInvite.created_at)
            )
        )
    return StaffOverview(accounts, invites)


# --- interpreters ----------------------------------------------------------------------------


def parse_languages(raw: str) -> list[str]:
    """Language codes separated by spaces or commas, each from server/languages.py; 422 names the bad ones."""
    codes = list(dict.fromkeys(code.lower() for code in _LANGUAGE_SEPARATORS.split(raw) if code))
    bad = [code for code in codes if not is_interpreter_language(code)]
    if bad:
        error = PublicError(422, BAD_LANGUAGES, code="bad_languages")
        error.values = {"codes": ", ".join(code[:12] for code in bad[:5])}
        raise error
    return codes


def languages_of(account: StaffAccount) -> list[str]:
    return account.interpreter_languages.split()


async def set_interpreter_languages(
    res: Resources, actor: StaffAccount, account_id: uuid.UUID, codes: list[str]
) -> None:
    """Record the languages an interpreter covers (counsellors use them to find one)."""
    async with res.db.begin() as session:
        account = await session.scalar(_of_this_centre(account_id))
        if account is None:
            raise PublicError(404, NOT_FOUND)
        if account.role != Role.INTERPRETER:
            raise PublicError(422, NOT_AN_INTERPRETER, code="not_an_interpreter")
        account.interpreter_languages = " ".join(codes)
        session.add(AuditEvent(actor_id=actor.id, action="account.languages", subject_id=account_id))


@dataclass(frozen=True)
class Interpreter:
    staff_id: uuid.UUID
    display_name: str
    languages: list[str]
    certified: bool


async def active_interpreters(res: Resources) -> list[Interpreter]:
    """Active interpreter accounts, by name; `certified` if the admin has certified their key."""
    async with res.db() as session:
        rows = await session.execute(
            select(StaffAccount, StaffCertificate.staff_id.is_not(None))
            .outerjoin(
                StaffCertificate,
                (StaffCertificate.staff_id == StaffAccount.id)
                & in_current_centre(StaffCertificate.centre_id),
            )
            .where(
                StaffAccount.id.in_(staff_of_current_centre(Role.INTERPRETER)),  # shared ones too
                StaffAccount.is_active.is_(True),
            )
            .order_by(StaffAccount.display_name)
        )
        return [
            Interpreter(account.id, account.display_name, languages_of(account), bool(certified))
            for account, certified in rows
        ]
