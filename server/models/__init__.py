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
from server.models.centre import CENTRE_KINDS, CURRENT_CENTRE, AuditEvent, Centre, CentreStaff, OpeningHours
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
    CentreKey,
    StaffKey,
    TrustLogEntry,
    TrustRootDraft,
    TrustRootVersion,
)
from server.models.staff import Role, StaffAccount, StaffInvite, StaffSession, staff_of_current_centre

__all__ = [
    "CENTRE_KINDS",
    "CURRENT_CENTRE",
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
    "Centre",
    "CentreDirectory",
    "CentreKey",
    "CentreStaff",
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
    "staff_of_current_centre",
    "utcnow",
]
