"""Changing a staff password, and an admin forcing a reset; each ends sessions and is audited.

A change needs the current password (wrong ones are limited per account, reserved
before the hash), follows the invitation's strength rules, and ends every other
session of the account: the browser that made the change gets a new session (the old
one ends too, rotated).  A forced reset makes the password match nothing, ends every
session, and hands the admin a fresh single-use invitation link (the invitation
machinery of server/services/accounts.py, with `account_id` already set) through
which the person sets a new password.  Both announce `session_ended` on the staff
member's bus channel so their open websockets can close (server/realtime/events.py).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, select

from server.errors import PublicError
from server.i18n import N_
from server.models import AuditEvent, StaffAccount, StaffInvite, StaffSession, utcnow
from server.models.centre import in_current_centre
from server.passwords import MAX_LENGTH, unusable_hash
from server.resources import Resources
from server.security.limits import Bucket, Want
from server.services import staff_sessions
from server.services.accounts import INVITE_INVALID, NOT_FOUND, NewInvite, check_password, find_open_invite
from server.services.staff_sessions import LoginResult
from server.services.tokens import new_token, token_hash

WRONG_CURRENT = N_("The current password is not right.")
SAME_PASSWORD = N_("The new password must be different from the current one.")
CHANGED_MEANWHILE = N_("Your password was changed at the same time from elsewhere. Log in again.")
RESET_SELF = N_("To change your own password, use “Change password”.")
RESET_INACTIVE = N_("This account is deactivated.")


def is_reset(invite: StaffInvite) -> bool:
    """A reset link names its account from the start; an invitation gets one when it is used."""
    return invite.account_id is not None and invite.used_at is None


async def change_password(
    res: Resources, account_id: uuid.UUID, current: str, new: str, device: str | None
) -> LoginResult:
    """Replace the password of a logged-in staff member; every session of theirs ends, a new one starts."""
    async with res.db() as db:
        account = await db.get(StaffAccount, account_id)
    if account is None or not account.is_active:
        raise PublicError(404, NOT_FOUND)
    check_password(new, account.username)
    if new == current:
        raise PublicError(422, SAME_PASSWORD)
    async with res.limits.counting_failures(Want(Bucket.PASSWORD_CHECK, account.id.hex)):
        if not await res.passwords.verify(account.password_hash, current[:MAX_LENGTH]):
            raise PublicError(422, WRONG_CURRENT, code="wrong_password")
    new_hash = await res.passwords.hash(new)
    token = new_token()
    async with res.db.begin() as db:
        live = await db.get(StaffAccount, account.id, with_for_update=True)
        if live is None or live.password_hash != account.password_hash:
            raise PublicError(409, CHANGED_MEANWHILE, code="changed")
        live.password_hash = new_hash
        await db.execute(delete(StaffSession).where(StaffSession.account_id == account.id))
        db.add(StaffSession(token_hash=token_hash(token), account_id=account.id))
        db.add(AuditEvent(actor_id=account.id, action="account.password_change", subject_id=account.id))
    await staff_sessions.announce_ended(res, account.id, "password_changed")
    return LoginResult(live, token, res.devices.issue(device, account.id, new_hash))


async def force_reset(res: Resources, actor: StaffAccount, account_id: uuid.UUID) -> NewInvite:
    """An admin ends every session of an account and gets a fresh link for setting a new password."""
    if account_id == actor.id:
        raise PublicError(409, RESET_SELF, code="own_account")
    token = new_token()
    async with res.db.begin() as db:
        account = await db.scalar(
            select(StaffAccount)
            .where(StaffAccount.id == account_id, in_current_centre(StaffAccount.centre_id))
            .with_for_update()
        )
        if account is None:  # or another centre's: an admin resets only their own centre's staff
            raise PublicError(404, NOT_FOUND)
        if not account.is_active:
            raise PublicError(409, RESET_INACTIVE, code="deactivated")
        account.password_hash = unusable_hash()
        await db.execute(delete(StaffSession).where(StaffSession.account_id == account_id))
        # Only the newest link works: earlier reset links for this account are withdrawn.
        await db.execute(
            delete(StaffInvite).where(StaffInvite.account_id == account_id, StaffInvite.used_at.is_(None))
        )
        invite = StaffInvite(
            centre_id=account.centre_id,
            token_hash=token_hash(token),
            role=account.role,
            display_name=account.display_name,
            created_by_id=actor.id,
            expires_at=utcnow() + timedelta(hours=res.settings.invite_valid_hours),
            account_id=account_id,
        )
        db.add(invite)
        db.add(AuditEvent(actor_id=actor.id, action="account.force_reset", subject_id=account_id))
    await staff_sessions.announce_ended(res, account_id, "password_reset")
    return NewInvite(invite, token)


async def reset_account(res: Resources, invite: StaffInvite) -> StaffAccount:
    """The account a reset link is for (404 if it is gone or deactivated)."""
    async with res.db() as db:
        account = await db.get(StaffAccount, invite.account_id)
    if account is None or not account.is_active:
        raise PublicError(404, INVITE_INVALID)
    return account


async def complete_reset(res: Resources, token: str, password: str) -> StaffAccount:
    """Set the new password through a reset link; the link can never be used again."""
    account = await reset_account(res, await find_open_invite(res, token))
    check_password(password, account.username)
    password_hash = await res.passwords.hash(password)
    async with res.db.begin() as db:
        invite = await db.scalar(
            select(StaffInvite).where(StaffInvite.token_hash == token_hash(token)).with_for_update()
        )
        # Re-checked inside the write transaction: two tabs cannot both use one link.
        if invite is None or not is_reset(invite) or invite.expires_at <= utcnow():
            raise PublicError(404, INVITE_INVALID)
        live = await db.get(StaffAccount, account.id, with_for_update=True)
        if live is None or not live.is_active:
            raise PublicError(404, INVITE_INVALID)
        live.password_hash = password_hash
        invite.used_at = utcnow()
        await db.execute(delete(StaffSession).where(StaffSession.account_id == account.id))
        db.add(AuditEvent(actor_id=account.id, action="account.password_reset", subject_id=account.id))
    return live
