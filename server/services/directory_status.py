"""Whether the published staff directory still matches the staff: what admins must act on.

A directory is signed in the admin's browser, so the server cannot fix it; it
can only tell the admin when a new one is due: nothing published yet, expired
or expiring soon, someone listed whose account is deactivated, someone
certified and active who is not listed (e.g. after a reactivation), or keys
waiting for a certificate.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from crypto import ProtocolError
from crypto.certificates import Directory, parse_directory
from server.resources import Resources
from server.services import keys

EXPIRING_SOON_SECONDS = 14 * 86_400


@dataclass(frozen=True)
class DirectoryStatus:
    """The current directory's serial and dates, and what is wrong with it (empty if nothing)."""

    serial: int
    issued_at: int | None
    expires_at: int | None
    listed: list[uuid.UUID] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    deactivated_listed: list[str] = field(default_factory=list)
    waiting: int = 0


async def status(res: Resources) -> DirectoryStatus:
    """Compare the newest published directory with the accounts and keys as they are now."""
    signed = await keys.current_directory(res)
    working = await keys.staff_keys_all(res)
    certified_active = {i.account.id for i in working if i.account.is_active and i.certificate is not None}
    waiting = sum(1 for i in working if i.account.is_active and i.certificate is None)
    names = {i.account.id: i.account.display_name for i in working}
    active = {i.account.id for i in working if i.account.is_active}
    problems: list[str] = []
    if signed is None:
        if certified_active or waiting:
            problems.append("missing")
        if waiting:
            problems.append("waiting")
        return DirectoryStatus(0, None, None, problems=problems, waiting=waiting)
    try:
        directory = parse_directory(signed)
    except ProtocolError:  # the server verified it when it was published; belt and braces
        return DirectoryStatus(0, None, None, problems=["missing"], waiting=waiting)
    listed = [uuid.UUID(bytes=c.staff_id) for c in directory.certificates]
    now = int(time.time())
    if directory.expires_at < now:
        problems.append("expired")
    elif directory.expires_at < now + EXPIRING_SOON_SECONDS:
        problems.append("expiring")
    # Deactivated, or no longer working here (a role given here removed): a new directory is due.
    deactivated = [
        names.get(staff_id) or directory_name(directory, staff_id)
        for staff_id in listed
        if staff_id not in active
    ]
    if deactivated:
        problems.append("lists_deactivated")
    if certified_active - set(listed):
        problems.append("not_listed")
    if waiting:
        problems.append("waiting")
    return DirectoryStatus(
        directory.serial,
        directory.issued_at,
        directory.expires_at,
        listed,
        problems,
        sorted(deactivated),
        waiting,
    )


def directory_name(directory: Directory, staff_id: uuid.UUID) -> str:
    """The name a directory's certificate gives someone (who may no longer work at the centre)."""
    return next((c.display_name for c in directory.certificates if c.staff_id == staff_id.bytes), "?")
