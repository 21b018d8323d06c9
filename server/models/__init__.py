"""All models, imported here so Base.metadata knows every table (Alembic autogenerate needs it)."""

from server.models.base import Base, UTCDateTime, new_id, utcnow
from server.models.centre import AuditEvent, OpeningHours
from server.models.staff import Role, StaffAccount, StaffInvite, StaffSession

__all__ = [
    "AuditEvent",
    "Base",
    "OpeningHours",
    "Role",
    "StaffAccount",
    "StaffInvite",
    "StaffSession",
    "UTCDateTime",
    "new_id",
    "utcnow",
]
