"""Staff login, logout and session lifetime (idle and absolute expiry).

Login attempts are reserved before the password is hashed (server/security/limits.py):
a browser holding the account's device cookie spends its own allowance; any other
client spends the client's and the account's allowance for untrusted clients.

Every end of a session that is not its own expiry is announced on the bus
(`announce_ended`), so the websockets of that session close on every process
(server/realtime/hub.py); expiry is watched there by the clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.orm import joinedload

from server.errors import PublicError
from server.i18n import N_
from server.models import AuditEvent, StaffAccount, StaffSession, utcnow
from server.passwords import MAX_LENGTH
from server.realtime import events
from server.security.limits import Bucket, Want
from server.services.tokens import new_token, token_hash
from server.settings import Settings

if TYPE_CHECKING:  # server/resources.py builds the websocket hub, which reads sessions here
    from server.resources import Resources

TOUCH_INTERVAL = timedelta(minutes=1)
WRONG_CREDENTIALS = N_("Wrong user name or password.")


@dataclass(frozen=True)
class LoginResult:
    account: StaffAccount
    token: str
    device: str  # the browser's device cookie, renewed with an entry for this account


def normalize_username(username: str) -> str:
    return username.strip().lower()


async def log_in(
    res: Resources,
    client: str,
    username: str,
    password: str,
    old_token: str | None,
    device: str | None = None,
) -> LoginResult:
    """Check the password (attempts reserved first) and start a new session.

    Raises ThrottledError or PublicError(400, WRONG_CREDENTIALS); the same answer
    and the same work whether or not the account exists.
    """
    name = normalize_username(username)[:64]
    async with res.db() as db:
        account = await db.scalar(select(StaffAccount).where(StaffAccount.username == name))
    trusted = res.devices.trusted(device, account.id, account.password_hash) if account else None
    if trusted:
        wants = [Want(Bucket.LOGIN_DEVICE, trusted)]
    else:
        wants = [Want(Bucket.LOGIN_CLIENT, client), Want(Bucket.LOGIN_ACCOUNT, token_hash(name))]
    async with res.limits.counting_failures(*wants):
        ok = await res.passwords.verify(account.password_hash if account else None, password[:MAX_LENGTH])
        if not ok or account is None or not account.is_active:
            raise PublicError(400, WRONG_CREDENTIALS)
    password_hash = account.password_hash
    if res.passwords.needs_rehash(account.password_hash):
        new_hash = await res.passwords.hash(password)
    else:
        new_hash = None
    token = new_token()
    async with res.db.begin() as db:
        if old_token:  # rotate: the pre-login session (if any) never survives a login
            await db.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(old_token)))
        if new_hash:
            fresh = await db.get(StaffAccount, account.id)
            if fresh:
                fresh.password_hash = password_hash = new_hash
        db.add(StaffSession(token_hash=token_hash(token), account_id=account.id))
    return LoginResult(account, token, res.devices.issue(device, account.id, password_hash))


async def start_session(res: Resources, account: StaffAccount) -> str:
    """A new session for an account that has just proved who it is (e.g. by accepting an invite)."""
    token = new_token()
    async with res.db.begin() as session:
        session.add(StaffSession(token_hash=token_hash(token), account_id=account.id))
    return token


@dataclass(frozen=True)
class SessionState:
    """What a live websocket needs to know about its session, read again when it may have changed."""

    account_id: uuid.UUID
    role: str
    active: bool
    created_at: datetime
    last_seen_at: datetime


def expiry(settings: Settings, created_at: datetime, last_seen_at: datetime, now: datetime) -> str | None:
    """Why a session has ended by the clock (`expired`: maximum age, `expired_idle`), or None."""
    if now - created_at > timedelta(hours=settings.session_max_hours):
        return "expired"
    if now - last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        return "expired_idle"
    return None


async def current_session(res: Resources, token: str) -> StaffSession | None:
    """The live session behind a cookie (its `account` loaded and active), or None if unknown or expired."""
    now = utcnow()
    async with res.db() as db:
        row = await db.scalar(
            select(StaffSession)
            .options(joinedload(StaffSession.account))
            .where(StaffSession.token_hash == token_hash(token))
        )
    if row is None:
        return None
    if expiry(res.settings, row.created_at, row.last_seen_at, now) or not row.account.is_active:
        await log_out(res, token)
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        async with res.db.begin() as db:
            live = await db.get(StaffSession, row.token_hash)
            if live:
                live.last_seen_at = now
    return row


async def current_account(res: Resources, token: str) -> StaffAccount | None:
    """The active account behind a session cookie, or None if the session is unknown or expired."""
    row = await current_session(res, token)
    return row.account if row else None


async def session_states(res: Resources, keys: Collection[str]) -> dict[str, SessionState]:
    """The sessions (by token hash) that still exist, with their account's role and state: one query."""
    if not keys:
        return {}
    async with res.db() as db:
        rows = await db.execute(
            select(
                StaffSession.token_hash,
                StaffSession.account_id,
                StaffSession.created_at,
                StaffSession.last_seen_at,
                StaffAccount.role,
                StaffAccount.is_active,
            )
            .join(StaffAccount, StaffAccount.id == StaffSession.account_id)
            .where(StaffSession.token_hash.in_(list(keys)))
        )
        return {
            row.token_hash: SessionState(
                row.account_id, row.role, row.is_active, row.created_at, row.last_seen_at
            )
            for row in rows
        }


async def touch_sessions(res: Resources, keys: Collection[str], when: datetime) -> None:
    """Record activity on these sessions' websockets (as a request would): one statement."""
    if not keys:
        return
    async with res.db.begin() as db:
        await db.execute(
            update(StaffSession)
            .where(StaffSession.token_hash.in_(list(keys)), StaffSession.last_seen_at < when)
            .values(last_seen_at=when)
        )


async def log_out_everywhere(res: Resources, account_id: uuid.UUID) -> None:
    """End every session of an account ("Log out everywhere"); its sockets close on every process."""
    async with res.db.begin() as db:
        await db.execute(delete(StaffSession).where(StaffSession.account_id == account_id))
        db.add(AuditEvent(actor_id=account_id, action="account.logout_everywhere", subject_id=account_id))
    await announce_ended(res, account_id, "logout_everywhere")


async def log_out(res: Resources, token: str) -> uuid.UUID | None:
    """End one session; returns whose it was (None if there was none)."""
    async with res.db.begin() as session:
        row = await session.get(StaffSession, token_hash(token))
        if row is None:
            return None
        await session.delete(row)
        return row.account_id


async def announce_ended(res: Resources, staff_id: uuid.UUID, reason: str) -> None:
    """Tell every connection of this staff member, on every process, that sessions of theirs ended."""
    await events.session_ended(res.bus, staff_id, reason)
