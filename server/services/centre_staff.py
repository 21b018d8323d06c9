"""Staff of other centres working here: a login of the network given a role at this centre.

A person who works at two centres keeps one login (their home centre is where they were
invited).  A centre's admin adds them here by user name, as a counsellor or interpreter, and
removes them again; each centre certifies them separately (services/keys.py), so removing
them drops this centre's certificate, and the conversations they are in here must re-key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select

from server.errors import PublicError
from server.i18n import N_
from server.models import AuditEvent, Centre, CentreStaff, Role, StaffAccount, StaffCertificate
from server.models.centre import in_current_centre
from server.resources import Resources
from server.services.accounts import NOT_FOUND

SHARED_ROLES = (Role.COUNSELLOR.value, Role.INTERPRETER.value)
BAD_SHARED_ROLE = N_("Choose counsellor or interpreter.")
NO_SUCH_LOGIN = N_("No active login of the network has that user name.")
ALREADY_HERE = N_("%(name)s already works at this centre.")


@dataclass(frozen=True)
class Guest:
    """A login whose home is another centre, with its role here."""

    account: StaffAccount
    role: str
    home: str  # the home centre's slug


async def guests(res: Resources) -> list[Guest]:
    """Everyone given a role at the centre being served whose home is another centre."""
    async with res.db() as db:
        rows = await db.execute(
            select(StaffAccount, CentreStaff.role, Centre.slug)
            .join(CentreStaff, CentreStaff.staff_id == StaffAccount.id)
            .join(Centre, Centre.id == StaffAccount.centre_id)
            .where(in_current_centre(CentreStaff.centre_id))
            .order_by(StaffAccount.display_name)
        )
        return [Guest(account, role, slug) for account, role, slug in rows]


async def add(res: Resources, actor: StaffAccount, username: str, role: str) -> StaffAccount:
    """Give an existing login of the network a role at this centre (audited)."""
    if role not in SHARED_ROLES:
        raise PublicError(422, BAD_SHARED_ROLE, code="bad_role")
    here = (await res.centres.current()).id
    async with res.db.begin() as db:
        account = await db.scalar(
            select(StaffAccount).where(
                StaffAccount.username == username.strip().lower(),
                StaffAccount.is_active.is_(True),
                StaffAccount.network_admin.is_(False),
            )
        )
        if account is None:
            raise PublicError(404, NO_SUCH_LOGIN, code="not_found")
        if account.centre_id == here or await db.get(CentreStaff, (here, account.id)) is not None:
            error = PublicError(409, ALREADY_HERE, code="already_here")
            error.values = {"name": account.display_name}
            raise error
        db.add(CentreStaff(centre_id=here, staff_id=account.id, role=role))
        db.add(AuditEvent(actor_id=actor.id, action="centre_staff.add", subject_id=account.id))
    return account


async def remove(res: Resources, actor: StaffAccount, staff_id: uuid.UUID) -> None:
    """End a login's role at this centre, and this centre's certificate of their key (audited).
    Only a role given here can be removed: the centre's own staff are deactivated instead."""
    here = (await res.centres.current()).id
    async with res.db.begin() as db:
        row = await db.get(CentreStaff, (here, staff_id))
        if row is None:
            raise PublicError(404, NOT_FOUND)
        await db.delete(row)
        await db.execute(
            delete(StaffCertificate).where(
                StaffCertificate.staff_id == staff_id, StaffCertificate.centre_id == here
            )
        )
        db.add(AuditEvent(actor_id=actor.id, action="centre_staff.remove", subject_id=staff_id))
