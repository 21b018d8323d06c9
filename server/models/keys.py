"""Public keys and encrypted key backups: the server stores nothing that opens a message.

- `CentreKey`: an administrator's Ed25519 signing key, a trust anchor for the
  staff directory.  Public key in clear; private key only as a backup under a recovery phrase.
- `StaffKey`: a staff member's X25519 + Ed25519 identity made in their browser,
  with its backup (sealed under a recovery phrase) and, once an admin certified it, the
  certificate (a directory entry).
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
    certificate: Mapped[bytes | None] = mapped_column(LargeBinary(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    certified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
