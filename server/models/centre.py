"""The centres of a network, who works at which, their opening hours, and the audit trail.

One installation serves one or more centres.  A centre's id is a UUID whose 16 bytes are the
protocol's centre id (the salt of resume codes, bound into every certificate), so each centre
is its own root of trust.  The first centre (the oldest) is the default: an installation with
one centre needs no configuration, and a centre's empty profile fields fall back to the
installation's settings (TRYGG_CENTRE_NAME, TRYGG_TIME_ZONE, ...).
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from datetime import datetime, time
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ColumnElement, ForeignKey, String, Time, Uuid, select
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, UTCDateTime, new_id, utcnow

# The centre the current request or websocket is for (set by server.centres.CentreMiddleware).
CURRENT_CENTRE: ContextVar[uuid.UUID | None] = ContextVar("trygg_current_centre", default=None)
CENTRE_KINDS = ("victim_support", "sexual_abuse", "other")


class Centre(Base):
    """One centre of the network: its address on the site, profile and public numbers."""

    __tablename__ = "centres"
    __table_args__ = (
        CheckConstraint(f"kind IN {CENTRE_KINDS!r}", name="kind"),
        CheckConstraint("slug <> ''", name="slug"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    host: Mapped[str | None] = mapped_column(String(253), unique=True)  # its own host name, if any
    # None: the installation's setting (so a single-centre installation needs no configuration).
    name: Mapped[str | None] = mapped_column(String(80))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    exit_url: Mapped[str | None] = mapped_column(String(300))
    emergency_numbers: Mapped[str | None] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(80), default="", server_default="")
    kind: Mapped[str] = mapped_column(String(20), default="victim_support", server_default="victim_support")
    languages: Mapped[str] = mapped_column(String(20), default="nb sv en", server_default="nb sv en")
    interpreters: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CentreStaff(Base):
    """A login working at a centre other than its home centre, with its role there
    (an interpreter shared by several centres, a counsellor who works at two)."""

    __tablename__ = "centre_staff"
    __table_args__ = (CheckConstraint("role IN ('admin', 'counsellor', 'interpreter')", name="role"),)

    centre_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("centres.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))


def centre_default(context: Any) -> uuid.UUID:
    """The default of every `centre_id` column: the centre being served, else the first centre
    (command-line tools and tests that call services directly act for the first centre)."""
    current = CURRENT_CENTRE.get()
    if current is not None:
        return current
    first = context.connection.scalar(
        select(Centre.__table__.c.id).order_by(Centre.__table__.c.created_at, Centre.__table__.c.id).limit(1)
    )
    if first is None:
        raise LookupError("no centre: run the migrations first")
    assert isinstance(first, uuid.UUID)
    return first


def first_centre_id() -> Any:
    """The first (oldest) centre's id, as a scalar subquery."""
    table = Centre.__table__
    return select(table.c.id).order_by(table.c.created_at, table.c.id).limit(1).scalar_subquery()


def in_current_centre(column: Any) -> ColumnElement[bool]:
    """The condition that scopes a query of per-centre rows to the centre being served
    (outside a request: the first centre)."""
    current = CURRENT_CENTRE.get()
    return bool_clause(column == (current if current is not None else first_centre_id()))


def bool_clause(value: Any) -> ColumnElement[bool]:
    assert isinstance(value, ColumnElement)
    return value


def centre_column(*, primary_key: bool = False) -> Mapped[Any]:
    """The `centre_id` of a per-centre row (filled by `centre_default` unless given)."""
    return mapped_column(
        Uuid,
        ForeignKey("centres.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
        index=not primary_key,
        default=centre_default,
    )


class OpeningHours(Base):
    """When the chat is staffed, per weekday (0 = Monday), in the centre's time zone."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("opens_at < closes_at", name="order"),
    )

    centre_id: Mapped[uuid.UUID] = centre_column(primary_key=True)
    weekday: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    opens_at: Mapped[time] = mapped_column(Time)
    closes_at: Mapped[time] = mapped_column(Time)


class AuditEvent(Base):
    """Who did what to which staff account or setting; never anything a visitor wrote.
    Network-wide events (a centre created) have the new centre as their centre."""

    __tablename__ = "audit_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    centre_id: Mapped[uuid.UUID] = centre_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
