"""Staff, visitors and calendar checks for the booking tests, all through the real HTTP interfaces.

Staff act through their pages (forms with CSRF tokens); a visitor is a holder token
talking JSON to /api/booking/ with no cookies.  Times are built in the centre's zone
from dates relative to today, so the tests hold whatever day they run on.
"""

from __future__ import annotations

import base64
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import vobject
from sqlalchemy import select

from server.app import create_app
from server.models import Booking
from tests.chat_helpers import Centre, Person
from tests.conftest import BASE_URL, Client

OSLO = ZoneInfo("Europe/Oslo")
EVERY_DAY = range(7)
# The policy form as an admin would submit it; tests change single fields.
POLICY = {
    "slot_minutes": "60",
    "buffer_minutes": "15",
    "min_notice_hours": "24",
    "horizon_days": "28",
    "max_future_bookings": "2",
    "address": "",
    "phone": "on",
    "video_link": "",
}
SLOT_TAKEN = "This time is no longer available"


@contextmanager
def client_with(make_settings: Any, **env: str) -> Iterator[Client]:
    """A client for an app built with extra settings (e.g. TRYGG_TIME_ZONE) on this test's database."""
    with Client(create_app(make_settings(**env)), base_url=BASE_URL) as client:
        yield client


# --- staff --------------------------------------------------------------------------------


@dataclass
class Desk:
    """The centre's staff for booking tests: an admin and logged-in counsellors (own cookie jars)."""

    client: Client
    admin: Person
    staff: dict[str, Person] = field(default_factory=dict)
    ids: dict[str, uuid.UUID] = field(default_factory=dict)

    def hire(self, name: str, role: str = "counsellor") -> Person:
        self.ids[name] = self.client.make_staff(name, role=role).account.id
        person = Person(self.client, BASE_URL)
        person.login(name)
        self.staff[name] = person
        return person

    def policy(self, **changes: Any) -> Any:
        """Submit the booking policy form (phone=False leaves the checkbox unticked)."""
        data = {**POLICY, **{k: str(v) for k, v in changes.items()}}
        if changes.get("phone") is False:
            del data["phone"]
        return self.admin.form("/staff/admin/booking", data)

    def rule(self, name: str, weekday: int, starts: str, ends: str) -> Any:
        return self.staff[name].form(
            "/staff/availability/rules",
            {"weekday": str(weekday), "starts": starts, "ends": ends},
            token_from="/staff/availability",
        )

    def available(self, name: str, weekdays: Any, starts: str, ends: str) -> None:
        for weekday in weekdays:
            response = self.rule(name, weekday, starts, ends)
            assert response.status_code == 303, response.text

    def day_off(self, name: str, first: str, last: str = "") -> Any:
        return self.staff[name].form(
            "/staff/availability/exceptions", {"first": first, "last": last}, token_from="/staff/availability"
        )


def desk_of(client: Client, centre: Centre) -> Desk:
    """A chat test's centre (keys, directory) as booking staff: the same people, logged in."""
    return Desk(
        client,
        centre.admin,
        {name: m.person for name, m in centre.staff.items()},
        {name: m.account_id for name, m in centre.staff.items()},
    )


def make_desk(client: Client, *counsellors: str) -> Desk:
    client.make_staff("admin")
    admin = Person(client, BASE_URL)
    admin.login("admin")
    desk = Desk(client, admin)
    for name in counsellors:
        desk.hire(name)
    return desk


# --- visitors -----------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_code() -> dict[str, str]:
    """A booking code as the browser derives it: a lookup id and a verifier (random here)."""
    return {"lookup": os.urandom(16).hex(), "verifier": b64(os.urandom(32))}


def sealed(recipients: int = 1, text_bytes: int = 40) -> bytes:
    """Bytes with the sealed box's structure (the server checks nothing more)."""
    return bytes([2, recipients]) + os.urandom(recipients * 96 + 12 + 16 + text_bytes)


@dataclass
class Visitor:
    """A visitor's browser on the booking API: JSON, a holder token, never a cookie."""

    client: Client
    token: str | None = None
    code: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Any:
        self.client.cookies.clear()
        headers = {"origin": BASE_URL, **kw.pop("headers", {})}
        bearer = token if token is not None else self.token
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        if body is not None:
            kw["json"] = body
        return self.client.request(method, path, headers=headers, **kw)

    def book(self, start: str, kind: str = "phone", **extra: Any) -> Any:
        body = {
            "start": start,
            "kind": kind,
            "payload": b64(extra.pop("payload", None) or sealed()),
            "fuller_invite": extra.pop("fuller_invite", False),
            "same_counsellor": extra.pop("same_counsellor", False),
        }
        return self.call("POST", "/api/booking/bookings" + extra.pop("query", ""), body, **extra)

    def booked(self, start: str, **extra: Any) -> dict[str, Any]:
        response = self.book(start, **extra)
        assert response.status_code == 201, response.text
        booking: dict[str, Any] = response.json()["booking"]
        return booking

    def cancel(self, reference: str) -> Any:
        return self.call("POST", f"/api/booking/bookings/{reference}/cancel")

    def reschedule(self, reference: str, start: str) -> Any:
        return self.call("POST", f"/api/booking/bookings/{reference}/reschedule", {"start": start})

    def invite(self, reference: str, lang: str = "") -> Any:
        query = f"?lang={lang}" if lang else ""
        return self.call("GET", f"/api/booking/bookings/{reference}/invite.ics{query}")

    def mine(self) -> list[dict[str, Any]]:
        response = self.call("GET", "/api/booking/bookings")
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["bookings"]
        return found


def new_visitor(client: Client) -> Visitor:
    visitor = Visitor(client, code=new_code())
    response = visitor.call("POST", "/api/booking/holders", visitor.code)
    assert response.status_code == 201, response.text
    visitor.token = response.json()["token"]
    return visitor


def slots(
    client: Client, first: date, days: int = 1, token: str | None = None, same_counsellor: bool = False
) -> list[dict[str, str]]:
    """Every free slot listed from `first` for `days` days, each with its local `date`."""
    query = f"/api/booking/slots?from={first.isoformat()}&days={days}"
    if same_counsellor:
        query += "&same_counsellor=1"
    response = Visitor(client).call("GET", query, token=token)
    assert response.status_code == 200, response.text
    return [{**slot, "date": day["date"]} for day in response.json()["days"] for slot in day["slots"]]


def times(client: Client, day: date, **kw: Any) -> list[str]:
    return [slot["time"] for slot in slots(client, day, **kw)]


# --- times --------------------------------------------------------------------------------


def today(zone: ZoneInfo = OSLO) -> date:
    return datetime.now(zone).date()


def ahead(days: int, zone: ZoneInfo = OSLO) -> date:
    return today(zone) + timedelta(days=days)


def at(day: date, clock: str, zone: ZoneInfo = OSLO) -> str:
    """The UTC instant (ISO 8601, Z) of a local wall time."""
    local = datetime.combine(day, time.fromisoformat(clock)).replace(tzinfo=zone)
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)


def next_transition(month: int, after: date) -> date:
    """The next last Sunday of `month` (a DST change in Europe) after `after`."""
    for year in (after.year, after.year + 1):
        sunday = last_sunday(year, month)
        if sunday > after:
            return sunday
    raise AssertionError("unreachable")


# --- the database -------------------------------------------------------------------------


def stored(client: Client) -> list[Booking]:
    async def load() -> list[Booking]:
        async with client.res.db() as db:
            return list(await db.scalars(select(Booking).order_by(Booking.created_at)))

    return client.run(load)


# --- calendars ----------------------------------------------------------------------------

FEED_RE = re.compile(r'<code id="feed-url">[^<]*/calendar/([^<]+)\.ics</code>')


def new_feed(person: Person) -> str:
    """A counsellor makes (or remakes) their calendar feed; its token, shown once."""
    page = person.form("/staff/availability/feed", {}, token_from="/staff/availability")
    assert page.status_code == 200
    match = FEED_RE.search(page.text)
    assert match, page.text
    return match.group(1)


DTSTAMP_RE = re.compile(r"^DTSTAMP:\d{8}T\d{6}Z\r?$", re.MULTILINE)


@dataclass
class Parsed:
    """One .ics read by two independent parsers, with the checks every calendar must pass."""

    raw: str
    ical: icalendar.Calendar
    vobj: Any

    @property
    def events(self) -> list[icalendar.Event]:
        return list(self.ical.walk("VEVENT"))

    @property
    def event(self) -> icalendar.Event:
        (event,) = self.events
        return event


def parse_calendar(body: bytes, method: str) -> Parsed:
    raw = body.decode()
    ical = icalendar.Calendar.from_ical(body)
    vobj = vobject.readOne(raw)
    every_field_parses(ical, vobj)
    assert str(ical["VERSION"]) == "2.0"
    assert vobj.version.value == "2.0"
    assert str(ical["PRODID"]) == vobj.prodid.value
    assert ical["PRODID"]
    assert str(ical["METHOD"]) == vobj.method.value == method
    zones = {str(z["TZID"]) for z in ical.walk("VTIMEZONE")}
    assert zones == {z.tzid.value for z in vobj.contents.get("vtimezone", [])}, raw
    v_events = vobj.contents.get("vevent", [])
    i_events = list(ical.walk("VEVENT"))
    assert len(v_events) == len(i_events)
    for mine, theirs in zip(i_events, v_events, strict=True):
        if "TZID" in mine["DTSTART"].params:  # local time with the zone's VTIMEZONE
            assert mine["DTSTART"].params["TZID"] in zones
            assert mine["DTEND"].params["TZID"] == mine["DTSTART"].params["TZID"]
        else:  # UTC (an ambiguous local time): both ends, no TZID
            assert "TZID" not in mine["DTEND"].params
            assert mine["DTSTART"].dt.utcoffset() == mine["DTEND"].dt.utcoffset() == timedelta(0)
        assert mine["DTSTAMP"].dt.utcoffset() == timedelta(0)
        assert str(mine["UID"]) == theirs.uid.value
        for name in ("dtstart", "dtend"):  # the same instants, and the same offsets, in both parsers
            assert mine[name].dt == theirs.contents[name][0].value
            assert mine[name].dt.utcoffset() == theirs.contents[name][0].value.utcoffset()
        assert mine["DTSTART"].dt < mine["DTEND"].dt
        assert int(mine["SEQUENCE"]) == int(theirs.sequence.value)
        assert str(mine["ORGANIZER"]).startswith("mailto:")
        if method == "REQUEST":  # RFC 5546: a REQUEST names at least one ATTENDEE
            assert str(mine["ATTENDEE"]).startswith("mailto:")
    # The yearly-rule VTIMEZONE (ical.js reads only the first RDATE of a list).
    assert "RDATE" not in raw, raw
    assert len(DTSTAMP_RE.findall(raw)) == len(i_events), raw
    return Parsed(raw, ical, vobj)


def every_field_parses(ical: icalendar.Calendar, vobj: Any) -> None:
    """Neither parser stumbles on any property of any component."""
    for component in ical.walk():
        assert not component.errors, (component.name, component.errors)
        for name, value in component.property_items(recursive=False):
            assert value is not None, name
    assert vobj.validate()

    def values(component: Any) -> None:
        for child in component.getChildren():
            if isinstance(child, vobject.base.Component):
                values(child)
            else:
                assert child.value is not None, child.name

    values(vobj)


def instants(event: icalendar.Event, v_event: Any) -> tuple[datetime, datetime]:
    """(start, end) in UTC as icalendar reads them, after checking vobject reads the same."""
    start, end = event["DTSTART"].dt.astimezone(UTC), event["DTEND"].dt.astimezone(UTC)
    assert (v_event.dtstart.value.astimezone(UTC), v_event.dtend.value.astimezone(UTC)) == (start, end)
    return start, end
