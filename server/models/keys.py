"""Public keys and encrypted key backups: the server stores nothing that opens a message.

- `CentreKey`: an administrator's Ed25519 signing key, a trust anchor for the
  staff directory.  Public key in clear; private key only as a backup under a recovery phrase.
- `StaffKey`: a staff member's X25519 + Ed25519 identity made in their browser,
  with its backup (sealed under a recovery phrase).
- `StaffCertificate`: once a centre's admin certified that key, the centre's certificate (a
  directory entry); one per centre the person works at, since a certificate names its centre.
- `CentreDirectory`: the latest signed directory of certified staff keys.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base, UTCDateTime, utcnow
from server.models.centre import centre_column


class CentreKey(Base):
    __tablename__ = "centre_keys"

    admin_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    centre_id: Mapped[uuid.UUID] = centre_column()
    sig_public: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    backup: Mapped[bytes] = mapped_column(LargeBinary(4096))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffKey(Base):
    __tablename__ = "staff_keys"

    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    kem_public: Mapped[bytes] = mapped_column(LargeBinary(32))
    sig_public: Mapped[bytes] = mapped_column(LargeBinary(32))
    backup: Mapped[bytes] = mapped_column(LargeBinary(4096))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffCertificate(Base):
    """A centre's certificate of a staff member's current key (bound to that centre's id).

    A person who works at two centres holds one for each; a new key drops them all."""

    __tablename__ = "staff_certificates"

    centre_id: Mapped[uuid.UUID] = centre_column(primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    certificate: Mapped[bytes] = mapped_column(LargeBinary(1024))
    certified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CentreDirectory(Base):
    """One row per published directory; a centre's highest serial is its current one."""

    __tablename__ = "centre_directories"

    centre_id: Mapped[uuid.UUID] = centre_column(primary_key=True)
    serial: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    signed: Mapped[bytes] = mapped_column(LargeBinary(262_144))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="SET NULL")
    )


class TrustRootVersion(Base):
    """One version of a centre's trust root (PROTOCOL.md §5.4), exactly as its anchors signed it.

    Only anchors can add a version: the server accepts one only if it verifies as extending the
    chain from the pinned first anchor, and clients verify the whole chain to the pin themselves,
    so a row written into this table by other means is refused by every client.
    """

    __tablename__ = "trust_roots"

    centre_id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    signed: Mapped[bytes] = mapped_column(LargeBinary(4096))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrustRootDraft(Base):
    """The next root version while it collects the signatures it needs (2-of-n rotation)."""

    __tablename__ = "trust_root_drafts"

    centre_id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    signed: Mapped[bytes] = mapped_column(LargeBinary(4096))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrustLogEntry(Base):
    """One entry of a centre's append-only log of roots and directories (PROTOCOL.md §5.6).

    `chain` is chain(index + 1), the head after this entry; heads are signed when served.
    """

    __tablename__ = "trust_log"

    centre_id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[int] = mapped_column()
    object_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    chain: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
