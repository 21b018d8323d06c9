"""The network of centres: creating a centre, appointing its first admin, and counts per centre.

A network administrator works here and nowhere else: the flag gives no role at any centre
(server/access.py), so they can neither read a conversation nor certify staff nor add a trust
anchor anywhere.  What they see of a centre is counts, never content.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server.centres import CentreInfo
from server.errors import PublicError
from server.i18n import N_
from server.models import (
    CENTRE_KINDS,
    AuditEvent,
    Booking,
    Centre,
    Conversation,
    Role,
    StaffAccount,
    StaffInvite,
    utcnow,
)
from server.models.conversations import Status
from server.resources import Resources
from server.services.accounts import clean_display_name
from server.services.tokens import new_token, token_hash

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
RESERVED_SLUGS = {"main", "network", "api", "static", "staff", "ws"}
BAD_SLUG = N_("A centre's short name is 1-40 lower-case letters, digits and dashes, and not already in use.")
BAD_CENTRE = N_("The centre's details could not be used.")
NO_CENTRE = N_("There is no such centre.")
HAS_ADMIN = N_("This centre already has an administrator: its own administrators invite more.")


@dataclass(frozen=True)
class NewCentre:
    slug: str
    name: str
    region: str = ""
    kind: str = "victim_support"
    host: str | None = None
    time_zone: str | None = None
    exit_url: str | None = None
    emergency_numbers: str | None = None


def _clean(new: NewCentre) -> NewCentre:
    slug = new.slug.strip().lower()
    if not SLUG.match(slug) or slug in RESERVED_SLUGS:
        raise PublicError(422, BAD_SLUG)
    name = " ".join(new.name.split())
    region = " ".join(new.region.split())
    host = new.host.strip().lower().rstrip(".") if new.host else None
    if not 1 <= len(name) <= 80 or len(region) > 80 or new.kind not in CENTRE_KINDS:
        raise PublicError(422, BAD_CENTRE)
    if host is not None and not HOST.match(host):
        raise PublicError(422, BAD_CENTRE)
    if new.time_zone:
        try:
            ZoneInfo(new.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PublicError(422, BAD_CENTRE) from None
    if new.exit_url and not new.exit_url.startswith("https://"):
        raise PublicError(422, BAD_CENTRE)
    if new.emergency_numbers and len(new.emergency_numbers) > 40:
        raise PublicError(422, BAD_CENTRE)
    return NewCentre(
        slug, name, region, new.kind, host, new.time_zone or None, new.exit_url or None, new.emergency_numbers
    )


async def create_centre(res: Resources, new: NewCentre, actor: StaffAccount | None) -> CentreInfo:
    """A new, empty centre: no staff yet (appoint its first admin next), closed until it sets hours."""
    clean = _clean(new)
    centre = Centre(
        slug=clean.slug,
        name=clean.name,
        region=clean.region,
        kind=clean.kind,
        host=clean.host,
        time_zone=clean.time_zone,
        exit_url=clean.exit_url,
        emergency_numbers=clean.emergency_numbers,
    )
    try:
        async with res.db.begin() as db:
            db.add(centre)
            await db.flush()
            db.add(_audit(centre.id, actor, "network.centre_create", centre.id))
    except IntegrityError:
        raise PublicError(409, BAD_SLUG) from None
    found = await res.centres.by_id(centre.id)
    assert found is not None
    return found


async def appoint_first_admin(
    res: Resources, centre_id: uuid.UUID, display_name: str, actor: StaffAccount | None
) -> str:
    """A single-use invitation to be an administrator of the centre; returns its link."""
    centre = await res.centres.by_id(centre_id)
    if centre is None:
        raise PublicError(404, NO_CENTRE)
    if actor is not None and await _has_admin(res, centre.id):
        # The network admin holds the link: at a centre that has admins it would make her one.
        raise PublicError(409, HAS_ADMIN)
    token = new_token()
    invite = StaffInvite(
        centre_id=centre.id,
        token_hash=token_hash(token),
        role=Role.ADMIN.value,
        display_name=clean_display_name(display_name),
        created_by_id=actor.id if actor else None,
        expires_at=utcnow() + timedelta(hours=res.settings.invite_valid_hours),
    )
    async with res.db.begin() as db:
        db.add(invite)
        db.add(_audit(centre.id, actor, "network.appoint_admin", invite.id))
    return f"{centre_url(res, centre)}/staff/invite/{token}"


async def _has_admin(res: Resources, centre_id: uuid.UUID) -> bool:
    """Whether the centre has an active administrator of its own (the command line may add more)."""
    async with res.db() as db:
        found = await db.scalar(
            select(StaffAccount.id).where(
                StaffAccount.centre_id == centre_id,
                StaffAccount.role == Role.ADMIN.value,
                StaffAccount.is_active.is_(True),
                StaffAccount.network_admin.is_(False),
            )
        )
    return found is not None


def _audit(centre_id: uuid.UUID, actor: StaffAccount | None, action: str, subject: uuid.UUID) -> AuditEvent:
    """A network admin's act, in the audit trail of the centre it concerns (None: the command line)."""
    return AuditEvent(
        centre_id=centre_id, actor_id=actor.id if actor else None, action=action, subject_id=subject
    )


def centre_url(res: Resources, centre: CentreInfo) -> str:
    """Where the centre's pages are: its own host, else the installation's address and its prefix."""
    if centre.host:
        scheme = "https" if res.settings.https else "http"
        return f"{scheme}://{centre.host}"
    return f"{res.settings.public_url}{centre.prefix}"


@dataclass(frozen=True)
class CentreCounts:
    """What a network admin sees of a centre: numbers, never content."""

    centre: CentreInfo
    staff: int
    queued: int
    active: int
    closed_last_7_days: int
    upcoming_bookings: int


async def counts(res: Resources) -> list[CentreCounts]:
    now = datetime.now(UTC)
    week_ago = now - timedelta(days=7)
    async with res.db() as db:
        staff = dict(
            (
                await db.execute(
                    select(StaffAccount.centre_id, func.count())
                    .where(StaffAccount.network_admin.is_(False))
                    .group_by(StaffAccount.centre_id)
                )
            ).all()
        )
        by_status = (
            await db.execute(
                select(Conversation.centre_id, Conversation.status, func.count()).group_by(
                    Conversation.centre_id, Conversation.status
                )
            )
        ).all()
        closed = dict(
            (
                await db.execute(
                    select(Conversation.centre_id, func.count())
                    .where(Conversation.closed_at >= week_ago)
                    .group_by(Conversation.centre_id)
                )
            ).all()
        )
        upcoming = dict(
            (
                await db.execute(
                    select(Booking.centre_id, func.count())
                    .where(Booking.starts_at >= now, Booking.status == "confirmed")
                    .group_by(Booking.centre_id)
                )
            ).all()
        )
    status_counts: dict[tuple[uuid.UUID, str], int] = {(c, s): n for c, s, n in by_status}
    return [
        CentreCounts(
            centre,
            staff.get(centre.id, 0),
            status_counts.get((centre.id, Status.QUEUED.value), 0),
            status_counts.get((centre.id, Status.ACTIVE.value), 0),
            closed.get(centre.id, 0),
            upcoming.get(centre.id, 0),
        )
        for centre in await res.centres.all(fresh=True)
    ]
