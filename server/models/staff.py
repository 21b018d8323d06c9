"""Staff accounts, their server-side sessions and single-use invitations."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, CompoundSelect, ForeignKey, Index, String, Uuid, select, union
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, UTCDateTime, new_id, utcnow
from server.models.centre import CentreStaff, centre_column, in_current_centre


class Role(enum.StrEnum):
    """What a staff member may do; see server/access.py for the decisions."""

    ADMIN = "admin"
    COUNSELLOR = "counsellor"
    INTERPRETER = "interpreter"


ROLE_VALUES = tuple(role.value for role in Role)


class StaffAccount(Base):
    """A person who works for the centre.  Visitors never have accounts."""

    __tablename__ = "staff_accounts"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLE_VALUES!r}", name="role"),
        CheckConstraint("language IN ('nb', 'sv', 'en')", name="language"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    # The home centre, where `role` applies; other centres through CentreStaff.
    centre_id: Mapped[uuid.UUID] = centre_column()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2), default="nb")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Interpreters only: the ISO 639 codes they cover, space-separated (server/languages.py).
    interpreter_languages: Mapped[str] = mapped_column(String(400), default="", server_default="")
    # Creates centres and appoints their first admins; sees counts, never content.
    network_admin: Mapped[bool] = mapped_column(default=False, server_default="0")

    sessions: Mapped[list[StaffSession]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )


class StaffSession(Base):
    """A logged-in browser.  Only a SHA-256 of the cookie value is stored, never the value."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_account_id", "account_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[StaffAccount] = relationship(back_populates="sessions")


class StaffInvite(Base):
    """A single-use, expiring link with which a new staff member sets their password."""

    __tablename__ = "staff_invites"
    __table_args__ = (CheckConstraint(f"role IN {ROLE_VALUES!r}", name="role"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    centre_id: Mapped[uuid.UUID] = centre_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(80))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="SET NULL")
    )


def staff_of_current_centre(role: str | None = None) -> CompoundSelect[tuple[uuid.UUID]]:
    """The ids of the accounts that work at the centre being served (with `role` there, if given):
    those whose home it is, and those given a role there (CentreStaff); never a network admin."""
    home = select(StaffAccount.id).where(
        in_current_centre(StaffAccount.centre_id), StaffAccount.network_admin.is_(False)
    )
    other = select(CentreStaff.staff_id).where(in_current_centre(CentreStaff.centre_id))
    if role is not None:
        home = home.where(StaffAccount.role == role)
        other = other.where(CentreStaff.role == role)
    return union(home, other)


def roles_at_current_centre() -> CompoundSelect[tuple[uuid.UUID, str]]:
    """(account id, role here) of everyone who works at the centre being served: its own staff in
    their home role, and those given a role here (CentreStaff); never a network admin."""
    home = select(StaffAccount.id.label("staff_id"), StaffAccount.role.label("role")).where(
        in_current_centre(StaffAccount.centre_id), StaffAccount.network_admin.is_(False)
    )
    other = select(CentreStaff.staff_id, CentreStaff.role).where(in_current_centre(CentreStaff.centre_id))
    return union(home, other)
