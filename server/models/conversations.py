"""Conversations, their ordered log of encrypted messages, members and visitor access.

The server keeps only routing data in clear: ids, status, timestamps, sequence
numbers, epochs, member ids and roles.  Message bodies, the visitor's key state
and everything a person writes are ciphertext made in a browser.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, UTCDateTime, utcnow
from server.models.centre import centre_column


class Status(enum.StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    CLOSED = "closed"
    DELETED = "deleted"


STATUS_VALUES = tuple(s.value for s in Status)
# Outcome tags a counsellor picks when closing; never free text.
OUTCOMES = ("support_given", "information_given", "referred", "booked", "no_contact", "other")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUS_VALUES!r}", name="status"),
        CheckConstraint("language IN ('nb', 'sv', 'en')", name="language"),
        CheckConstraint(f"outcome IS NULL OR outcome IN {OUTCOMES!r}", name="outcome"),
        Index("ix_conversations_status_queued_at", "status", "queued_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # chosen by the visitor's client
    centre_id: Mapped[uuid.UUID] = centre_column()
    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED.value)
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counsellor_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="SET NULL"), index=True
    )
    outcome: Mapped[str | None] = mapped_column(String(32))
    # Visitor access: a lookup id and a slow hash of a verifier, both derived from the resume code.
    resume_lookup: Mapped[str | None] = mapped_column(String(64), unique=True)
    verifier_hash: Mapped[str | None] = mapped_column(String(255))
    visitor_state: Mapped[bytes | None] = mapped_column(LargeBinary(8192))
    last_seq: Mapped[int] = mapped_column(default=-1)
    last_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # A member must go (deactivated, no longer listed, expired): the next commit clears it (§8.5).
    rekey_needed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The centre its counsellor offered to move it to, until the visitor consents or declines.
    move_to_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("centres.id", ondelete="SET NULL"))


class ConversationMessage(Base):
    """One entry of a conversation's log; `seq` is gap-free from 0 (the genesis)."""

    __tablename__ = "conversation_messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_id", name="uq_conversation_messages_client_id"),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    client_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[int] = mapped_column()  # the protocol object type (genesis, commit, application, history)
    epoch: Mapped[int] = mapped_column()
    sender_id: Mapped[bytes] = mapped_column(LargeBinary(16))
    message_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    body: Mapped[bytes] = mapped_column(LargeBinary(131_072))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationMember(Base):
    """Who is in the current epoch (from the latest genesis/commit), and how far they have read."""

    __tablename__ = "conversation_members"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    role: Mapped[int] = mapped_column()
    staff_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    delivered_seq: Mapped[int] = mapped_column(default=-1)
    read_seq: Mapped[int] = mapped_column(default=-1)
    # The member's Ed25519 key in that genesis/commit: what their messages must be signed with.
    sig_public: Mapped[bytes | None] = mapped_column(LargeBinary(32))


class VisitorToken(Base):
    """A visitor's session capability for one conversation; only its SHA-256 is stored."""

    __tablename__ = "visitor_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffPresence(Base):
    """One open staff websocket (for "colleagues on duty").

    The row is written when the socket opens and deleted when it closes; a heartbeat keeps
    `last_seen_at` fresh, so the row of a socket whose process died lapses and is swept.
    """

    __tablename__ = "staff_presence"

    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedReply(Base):
    """A counsellor's saved reply, encrypted in their browser to their own key."""

    __tablename__ = "canned_replies"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    centre_id: Mapped[uuid.UUID] = centre_column()
    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[bytes] = mapped_column(LargeBinary(8192))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
