"""Staff login, logout and session lifetime (idle and absolute expiry).

Login attempts are reserved before the password is hashed (server/security/limits.py):
a browser holding the account's device cookie spends its own allowance; any other
client spends the client's and the account's allowance for untrusted clients.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from server.errors import PublicError
from server.i18n import N_
from server.models import StaffAccount, StaffSession, utcnow
from server.passwords import MAX_LENGTH
from server.realtime import events
from server.resources import Resources
from server.security.limits import Bucket, Want
from server.services.tokens import new_token, token_hash

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


async def current_account(res: Resources, token: str) -> StaffAccount | None:
    """The active account behind a session cookie, or None if the session is unknown or expired."""
    now = utcnow()
    settings = res.settings
    async with res.db() as db:
        row = await db.scalar(
            select(StaffSession)
            .options(joinedload(StaffSession.account))
            .where(StaffSession.token_hash == token_hash(token))
        )
    if row is None:
        return None
    idle_limit = timedelta(minutes=settings.session_idle_minutes)
    absolute_limit = timedelta(hours=settings.session_max_hours)
    expired = now - row.last_seen_at > idle_limit or now - row.created_at > absolute_limit
    if expired or not row.account.is_active:
        await log_out(res, token)
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        async with res.db.begin() as db:
            live = await db.get(StaffSession, row.token_hash)
            if live:
                live.last_seen_at = now
    return row.account


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
