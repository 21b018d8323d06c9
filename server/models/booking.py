"""Bookings of informal consultations, the availability they come from, and calendar feeds.

The server keeps the slot, the type and flags in clear (it must, to prevent double
booking and to build invites); the visitor's note, contact details and interpreter
request are one sealed blob only counsellors' devices open (docs/BOOKING.md).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Time,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, UTCDateTime, new_id, utcnow
from server.models.centre import centre_column

KINDS = ("in_person", "phone", "video")


class BookingStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


BOOKING_STATUSES = tuple(s.value for s in BookingStatus)


class BookingPolicy(Base):
    """A centre's booking rules (one row per centre); edited by its admins."""

    __tablename__ = "booking_policy"
    __table_args__ = (
        CheckConstraint("slot_minutes BETWEEN 15 AND 240", name="slot_minutes"),
        CheckConstraint("buffer_minutes BETWEEN 0 AND 120", name="buffer_minutes"),
        CheckConstraint("min_notice_hours BETWEEN 0 AND 336", name="min_notice_hours"),
        CheckConstraint("horizon_days BETWEEN 1 AND 400", name="horizon_days"),
        CheckConstraint("max_future_bookings BETWEEN 1 AND 20", name="max_future_bookings"),
    )

    centre_id: Mapped[uuid.UUID] = centre_column(primary_key=True)
    slot_minutes: Mapped[int] = mapped_column(default=60)
    buffer_minutes: Mapped[int] = mapped_column(default=15)
    min_notice_hours: Mapped[int] = mapped_column(default=24)
    horizon_days: Mapped[int] = mapped_column(default=28)
    max_future_bookings: Mapped[int] = mapped_column(default=2)
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[bool] = mapped_column(Boolean, default=True)
    video_link: Mapped[str] = mapped_column(String(300), default="")


class AvailabilityRule(Base):
    """A counsellor is bookable every `weekday` (0 = Monday) from `starts` to `ends`, local time."""

    __tablename__ = "availability_rules"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("starts < ends", name="order"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    centre_id: Mapped[uuid.UUID] = centre_column()
    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column()
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)


class AvailabilityException(Base):
    """Days a counsellor is not bookable (holidays, sick days), `first` to `last` inclusive."""

    __tablename__ = "availability_exceptions"
    __table_args__ = (CheckConstraint("first_day <= last_day", name="order"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    centre_id: Mapped[uuid.UUID] = centre_column()
    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)


class BookingHolder(Base):
    """Whoever holds a booking code (or a chat's resume code): the visitor's only identity here."""

    __tablename__ = "booking_holders"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    lookup: Mapped[str | None] = mapped_column(String(64), unique=True)
    verifier_hash: Mapped[str | None] = mapped_column(String(255))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Booking(Base):
    """One consultation. At most one confirmed booking per counsellor and start (a database rule)."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS!r}", name="kind"),
        CheckConstraint(f"status IN {BOOKING_STATUSES!r}", name="status"),
        CheckConstraint("starts_at < ends_at", name="order"),
        CheckConstraint("sequence >= 0", name="sequence"),
        Index(
            "uq_bookings_confirmed_slot",
            "counsellor_id",
            "starts_at",
            unique=True,
            sqlite_where=text("status = 'confirmed'"),
            postgresql_where=text("status = 'confirmed'"),
        ),
        Index("ix_bookings_counsellor_starts", "counsellor_id", "starts_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    centre_id: Mapped[uuid.UUID] = centre_column()
    reference: Mapped[str] = mapped_column(String(8), unique=True)
    holder_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("booking_holders.id", ondelete="CASCADE"), index=True
    )
    counsellor_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE")
    )
    interpreter_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="SET NULL"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=BookingStatus.CONFIRMED.value)
    sequence: Mapped[int] = mapped_column(default=0)
    same_counsellor: Mapped[bool] = mapped_column(Boolean, default=False)
    fuller_invite: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(2), default="nb")
    payload: Mapped[bytes] = mapped_column(LargeBinary(16_384))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarFeed(Base):
    """A counsellor's private feed URL; only the token's hash is kept."""

    __tablename__ = "calendar_feeds"

    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    centre_id: Mapped[uuid.UUID] = centre_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
