"""Calendar files for bookings, built with `icalendar`: invites (iTIP) and counsellors' feeds.

A visitor's invite is discreet unless they asked otherwise: the summary is the plain word
"Appointment" in their language, the description holds only the booking reference, and
there is no location, no centre name and nothing about why.  Nor do its identifiers tell:
the UID is the booking's bare UUID, PRODID is generic, and ORGANIZER and ATTENDEE are
`noreply@` / `guest@` at `TRYGG_INVITE_DOMAIN` (by default `invalid`, a name reserved never
to exist, RFC 6761), never the service's host name.  Counsellors' events say the type and
reference; the sealed details never reach the server, so never reach a feed.

Times are written in the centre's zone (TZID and VTIMEZONE), except for an event whose
start or end falls in the hour that repeats when clocks go back: there a wall-clock time
names two instants and parsers pick different ones, so that event is written in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from server.i18n import N_, Translator
from server.models import Booking, BookingStatus
from server.services.booking.setup import Policy
from server.services.booking.vtimezone import vtimezone
from server.settings import Settings

PRODID = "-//Calendar//Appointment//EN"  # names no product and no centre
APPOINTMENT = N_("Appointment")
REFERENCE = N_("Booking reference: %(reference)s")
KIND_TITLES = {
    "in_person": N_("Consultation in person"),
    "phone": N_("Consultation by phone"),
    "video": N_("Consultation by video"),
}
FULLER_TITLE = N_("Conversation with %(centre)s")
VIDEO_AT = N_("Video link: %(link)s")
PHONE_NOTE = N_("The centre will call you.")
FEED_NAME = N_("Bookings")


@dataclass(frozen=True)
class Sender:
    """Who a centre's calendar files say they come from, and in which zone (read in one place)."""

    domain: str  # of the noreply@ organizer and guest@ attendee addresses
    centre_name: str  # only ever in the fuller invite the visitor asked for
    time_zone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def sender(settings: Settings) -> Sender:
    """The installation's values today; a centre's own once there are several (issue 16)."""
    return Sender(settings.invite_domain, settings.centre_name, settings.time_zone)


def uid(booking: Booking) -> str:
    """Stable for the booking's whole life, so calendars update rather than duplicate it.

    The bare UUID (RFC 7986 section 5.3 recommends one) with no domain that could name a service.
    """
    return str(booking.id)


def organizer(who: Sender, name: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:noreply@{who.domain}")
    if name:
        address.params["CN"] = name
    return address


def attendee(who: Sender) -> vCalAddress:
    """RFC 5546 wants an ATTENDEE on a REQUEST; visitors give no address, so a neutral one."""
    address = vCalAddress(f"mailto:guest@{who.domain}")
    address.params["ROLE"] = "REQ-PARTICIPANT"
    address.params["PARTSTAT"] = "ACCEPTED"
    address.params["RSVP"] = "FALSE"
    return address


def _calendar(method: str | None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    return calendar


def _event(booking: Booking, who: Sender, now: datetime, organizer_name: str | None = None) -> Event:
    event = Event()
    event.add("uid", uid(booking))
    event.add("sequence", booking.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    start, end = booking.starts_at.astimezone(who.zone), booking.ends_at.astimezone(who.zone)
    if is_ambiguous(start) or is_ambiguous(end):
        start, end = start.astimezone(UTC), end.astimezone(UTC)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("status", "CANCELLED" if booking.status == BookingStatus.CANCELLED else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("organizer", organizer(who, organizer_name))
    event.add("attendee", attendee(who))
    return event


def is_ambiguous(local: datetime) -> bool:
    """This wall-clock time occurs twice in its zone (clocks went back), so it alone names no instant.

    (True as well for a time in the hour skipped when clocks go forward, which no instant has.)
    """
    return local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()


def _finish(calendar: Calendar, who: Sender) -> bytes:
    """Put the centre zone's VTIMEZONE (yearly rules, vtimezone.py) first if a time uses it; serialise."""
    if any("TZID" in event["DTSTART"].params for event in calendar.walk("VEVENT")):
        calendar.subcomponents.insert(0, vtimezone(who.time_zone, datetime.now(UTC).year))
    return bytes(calendar.to_ical())


def visitor_invite(booking: Booking, policy: Policy, settings: Settings, language: str) -> bytes:
    """The visitor's invite: REQUEST while confirmed, CANCEL once cancelled; discreet by default."""
    _ = Translator(language)
    who = sender(settings)
    calendar = _calendar("CANCEL" if booking.status == BookingStatus.CANCELLED else "REQUEST")
    event = _event(booking, who, datetime.now(UTC), who.centre_name if booking.fuller_invite else None)
    lines = [_(REFERENCE, reference=display_reference(booking.reference))]
    if booking.fuller_invite:
        event.add("summary", _(FULLER_TITLE, centre=who.centre_name))
        lines.insert(0, _(KIND_TITLES[booking.kind]))
        if booking.kind == "in_person" and policy.address:
            event.add("location", vText(policy.address))
        elif booking.kind == "video" and policy.video_link:
            lines.append(_(VIDEO_AT, link=policy.video_link))
            event.add("url", policy.video_link)
        elif booking.kind == "phone":
            lines.append(_(PHONE_NOTE))
    else:
        event.add("summary", _(APPOINTMENT))
    event.add("description", "\n".join(lines))
    calendar.add_component(event)
    return _finish(calendar, who)


def _staff_event(booking: Booking, policy: Policy, who: Sender, language: str, now: datetime) -> Event:
    _ = Translator(language)
    event = _event(booking, who, now)
    reference = display_reference(booking.reference)
    event.add("summary", f"{_(KIND_TITLES[booking.kind])} · {reference}")
    event.add("description", _(REFERENCE, reference=reference))
    if booking.kind == "in_person" and policy.address:
        event.add("location", vText(policy.address))
    elif booking.kind == "video" and policy.video_link:
        event.add("url", policy.video_link)
    return event


def staff_invite(booking: Booking, policy: Policy, settings: Settings, language: str) -> bytes:
    """The counsellor's invite for one booking (REQUEST, or CANCEL once cancelled)."""
    who = sender(settings)
    calendar = _calendar("CANCEL" if booking.status == BookingStatus.CANCELLED else "REQUEST")
    calendar.add_component(_staff_event(booking, policy, who, language, datetime.now(UTC)))
    return _finish(calendar, who)


def feed(bookings: Iterable[Booking], policy: Policy, settings: Settings, language: str) -> bytes:
    """A counsellor's subscribed feed (PUBLISH): cancelled bookings stay, as STATUS:CANCELLED."""
    _ = Translator(language)
    who = sender(settings)
    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", _(FEED_NAME))
    calendar.add("x-wr-timezone", who.time_zone)
    calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vText("PT15M"))
    now = datetime.now(UTC)
    for booking in bookings:
        calendar.add_component(_staff_event(booking, policy, who, language, now))
    return _finish(calendar, who)


def display_reference(reference: str) -> str:
    """K7M4QX2P → K7M4-QX2P (easier to read out on the phone)."""
    return f"{reference[:4]}-{reference[4:]}"
