"""Calendar files for bookings, built with `icalendar`: invites (iTIP) and counsellors' feeds.

A visitor's invite is discreet unless they asked otherwise: the summary is the plain word
"Appointment" in their language, the description holds only the booking reference, and
there is no location, no centre name and nothing about why.  Counsellors' events say the
type and reference; the sealed details never reach the server, so never reach a feed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from server.i18n import N_, Translator
from server.models import Booking, BookingStatus
from server.services.booking.setup import Policy
from server.services.booking.vtimezone import vtimezone
from server.settings import Settings

PRODID = "-//Trygg//Booking//EN"
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
FEED_NAME = N_("Trygg bookings")


def uid(booking: Booking) -> str:
    """Stable for the booking's whole life, so calendars update rather than duplicate it."""
    return f"{booking.id}@trygg"


def _address(settings: Settings, local_part: str) -> str:
    return f"mailto:{local_part}@{urlsplit(settings.public_url).hostname or 'localhost'}"


def organizer(settings: Settings) -> vCalAddress:
    return vCalAddress(_address(settings, "noreply"))


def attendee(settings: Settings) -> vCalAddress:
    """RFC 5546 wants an ATTENDEE on a REQUEST; visitors give no address, so a neutral one."""
    address = vCalAddress(_address(settings, "guest"))
    address.params["ROLE"] = "REQ-PARTICIPANT"
    address.params["PARTSTAT"] = "ACCEPTED"
    address.params["RSVP"] = "FALSE"
    return address


def _calendar(method: str | None, settings: Settings) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    return calendar


def _event(booking: Booking, zone: ZoneInfo, now: datetime, settings: Settings) -> Event:
    event = Event()
    event.add("uid", uid(booking))
    event.add("sequence", booking.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", booking.starts_at.astimezone(zone))
    event.add("dtend", booking.ends_at.astimezone(zone))
    event.add("status", "CANCELLED" if booking.status == BookingStatus.CANCELLED else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("organizer", organizer(settings))
    event.add("attendee", attendee(settings))
    return event


def _finish(calendar: Calendar, settings: Settings) -> bytes:
    """Put the centre zone's VTIMEZONE (yearly rules, vtimezone.py) first, and serialise."""
    if calendar.walk("VEVENT"):
        calendar.subcomponents.insert(0, vtimezone(settings.time_zone, datetime.now(UTC).year))
    return bytes(calendar.to_ical())


def visitor_invite(booking: Booking, policy: Policy, settings: Settings, language: str) -> bytes:
    """The visitor's invite: REQUEST while confirmed, CANCEL once cancelled; discreet by default."""
    _ = Translator(language)
    now = datetime.now(UTC)
    calendar = _calendar("CANCEL" if booking.status == BookingStatus.CANCELLED else "REQUEST", settings)
    event = _event(booking, settings.zone, now, settings)
    lines = [_(REFERENCE, reference=display_reference(booking.reference))]
    if booking.fuller_invite:
        event.add("summary", _(FULLER_TITLE, centre=settings.centre_name))
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
    return _finish(calendar, settings)


def _staff_event(booking: Booking, policy: Policy, settings: Settings, language: str, now: datetime) -> Event:
    _ = Translator(language)
    event = _event(booking, settings.zone, now, settings)
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
    calendar = _calendar("CANCEL" if booking.status == BookingStatus.CANCELLED else "REQUEST", settings)
    calendar.add_component(_staff_event(booking, policy, settings, language, datetime.now(UTC)))
    return _finish(calendar, settings)


def feed(bookings: Iterable[Booking], policy: Policy, settings: Settings, language: str) -> bytes:
    """A counsellor's subscribed feed (PUBLISH): cancelled bookings stay, as STATUS:CANCELLED."""
    _ = Translator(language)
    calendar = _calendar("PUBLISH", settings)
    calendar.add("x-wr-calname", _(FEED_NAME))
    calendar.add("x-wr-timezone", settings.time_zone)
    calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vText("PT15M"))
    now = datetime.now(UTC)
    for booking in bookings:
        calendar.add_component(_staff_event(booking, policy, settings, language, now))
    return _finish(calendar, settings)


def display_reference(reference: str) -> str:
    """K7M4QX2P → K7M4-QX2P (easier to read out on the phone)."""
    return f"{reference[:4]}-{reference[4:]}"
