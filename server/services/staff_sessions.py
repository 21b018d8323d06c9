"""Staff login, logout and session lifetime (idle and absolute expiry)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from server.errors import PublicError, ThrottledError
from server.i18n import N_
from server.models import StaffAccount, StaffSession, utcnow
from server.passwords import MAX_LENGTH
from server.resources import Resources
from server.services.tokens import new_token, token_hash

TOUCH_INTERVAL = timedelta(minutes=1)
WRONG_CREDENTIALS = N_("Wrong user name or password.")
TOO_MANY_FROM_CLIENT = N_("Too many login attempts from this device. Try again in %(minutes)s minutes.")
TOO_MANY_FOR_ACCOUNT = N_("Too many failed attempts for this user name. Try again in %(minutes)s minutes.")


@dataclass(frozen=True)
class LoginResult:
    account: StaffAccount
    token: str


def normalize_username(username: str) -> str:
    return username.strip().lower()


async def log_in(
    res: Resources, client: str, username: str, password: str, old_token: str | None
) -> LoginResult:
    """Check the password (throttled per client and per account name) and start a new session.

    Raises ThrottledError or PublicError(400, WRONG_CREDENTIALS); the same answer
    and the same work whether or not the account exists.
    """
    name = normalize_username(username)[:64]
    account_key = "login-account:" + token_hash(name)
    for limiter, key, message in (
        (res.login_per_client, "login-client:" + client, TOO_MANY_FROM_CLIENT),
        (res.login_per_account, account_key, TOO_MANY_FOR_ACCOUNT),
    ):
        verdict = await limiter.check(key)
        if not verdict.allowed:
            raise ThrottledError(message, verdict.retry_after)

    async with res.db() as db:
        account = await db.scalar(select(StaffAccount).where(StaffAccount.username == name))
    ok = await res.passwords.verify(account.password_hash if account else None, password[:MAX_LENGTH])
    if not ok or account is None or not account.is_active:
        await res.login_per_client.hit("login-client:" + client)
        await res.login_per_account.hit(account_key)
        raise PublicError(400, WRONG_CREDENTIALS)
    await res.login_per_account.reset(account_key)
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
                fresh.password_hash = new_hash
        db.add(StaffSession(token_hash=token_hash(token), account_id=account.id))
    return LoginResult(account, token)


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


async def log_out(res: Resources, token: str) -> None:
    """End one session."""
    async with res.db.begin() as session:
        await session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(token)))
