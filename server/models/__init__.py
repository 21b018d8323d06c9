"""All models, imported here so Base.metadata knows every table (Alembic autogenerate needs it)."""

from server.models.base import Base, UTCDateTime, new_id, utcnow
from server.models.booking import (
    KINDS,
    AvailabilityException,
    AvailabilityRule,
    Booking,
    BookingHolder,
    BookingPolicy,
    BookingStatus,
    CalendarFeed,
)
from server.models.centre import AuditEvent, OpeningHours
from server.models.conversations import (
    OUTCOMES,
    CannedReply,
    Conversation,
    ConversationMember,
    ConversationMessage,
    StaffPresence,
    Status,
    VisitorToken,
)
from server.models.keys import (
    CentreDirectory,
    CentreIdentity,
    CentreKey,
    StaffKey,
    TrustLogEntry,
    TrustRootDraft,
    TrustRootVersion,
)
from server.models.staff import Role, StaffAccount, StaffInvite, StaffSession

__all__ = [
    "KINDS",
    "OUTCOMES",
    "AuditEvent",
    "AvailabilityException",
    "AvailabilityRule",
    "Base",
    "Booking",
    "BookingHolder",
    "BookingPolicy",
    "BookingStatus",
    "CalendarFeed",
    "CannedReply",
    "CentreDirectory",
    "CentreIdentity",
    "CentreKey",
    "Conversation",
    "ConversationMember",
    "ConversationMessage",
    "OpeningHours",
    "Role",
    "StaffAccount",
    "StaffInvite",
    "StaffKey",
    "StaffPresence",
    "StaffSession",
    "Status",
    "TrustLogEntry",
    "TrustRootDraft",
    "TrustRootVersion",
    "UTCDateTime",
    "VisitorToken",
    "new_id",
    "utcnow",
]
