"""Invite times every calendar reads alike, also in the hour that repeats when clocks go back.

In that hour a wall-clock time names two instants and parsers pick different ones (an
invite once said DTSTART…T023000 / DTEND…T020000, the end before the start, for a booking
that ran 15:30Z–16:00Z).  Such events are written in UTC; the rest keep local time and the
VTIMEZONE.  Checked in both hemispheres, for the visitor's invite, the counsellor's invite
and the counsellor's feed, through icalendar and vobject, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.services.booking.vtimezone import transitions
from tests.booking_helpers import (
    Desk,
    Visitor,
    at,
    client_with,
    instant,
    instants,
    make_desk,
    new_feed,
    new_visitor,
    parse_calendar,
)


def next_fall_back(zone: ZoneInfo) -> date:
    """The next local day (from tomorrow) on which the clocks go back an hour, 03:00 → 02:00."""
    now = datetime.now(UTC)
    for year in (now.year, now.year + 1):
        for change in transitions(zone, year):
            before = (change - timedelta(minutes=1)).astimezone(zone)
            after = change.astimezone(zone)
            if change > now + timedelta(days=1) and (after.utcoffset() or timedelta(0)) < (
                before.utcoffset() or timedelta(0)
            ):
                assert (before.hour, after.hour) == (2, 2)  # 02:59 summer time, then 02:00 winter time
                return after.date()
    raise AssertionError("no fall-back change within a year")


@pytest.mark.parametrize(
    "zone_name",
    [
        "Europe/Oslo",  # the last Sunday of October
        "Australia/Sydney",  # the first Sunday of April
    ],
)
def test_times_in_the_repeated_hour_are_written_in_utc(make_settings: Any, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    day = next_fall_back(zone)
    env = {"TRYGG_TIME_ZONE": zone_name, "TRYGG_BOOKINGS_PER_CLIENT_PER_HOUR": "1000"}
    with client_with(make_settings, **env) as client:
        desk = make_desk(client, "anna", "bodil")
        visitor = new_visitor(client)
        rules = {"horizon_days": 400, "min_notice_hours": 0, "buffer_minutes": 0, "max_future_bookings": 5}
        assert desk.policy(slot_minutes=30, **rules).status_code == 303
        desk.available("anna", [day.weekday()], "02:30", "03:00")
        desk.available("anna", [day.weekday()], "09:00", "09:30")
        # 02:30 (the first one, summer time) to 03:00 summer time = 02:00 winter time.
        repeated = visitor.booked(at(day, "02:30", zone))
        plain = visitor.booked(at(day, "09:00", zone))
        assert desk.policy(slot_minutes=120, **rules).status_code == 303
        desk.available("bodil", [day.weekday()], "01:00", "03:00")
        # 01:00 summer time for two hours: it ends at 02:00 winter time, the second 02:00.
        into = visitor.booked(at(day, "01:00", zone))

        expected = {b["reference"]: (instant(b["start"]), instant(b["end"])) for b in (repeated, plain, into)}
        assert expected[repeated["reference"]][1] - expected[repeated["reference"]][0] == timedelta(
            minutes=30
        )
        assert expected[into["reference"]][1] - expected[into["reference"]][0] == timedelta(hours=2)
        assert expected[into["reference"]][1].astimezone(zone).strftime("%H:%M") == "02:00"

        feeds = {name: new_feed(desk.staff[name]) for name in ("anna", "bodil")}
        for booking in (repeated, plain, into):
            reference = booking["reference"]
            staff = "bodil" if booking is into else "anna"
            calendars = [
                parse_calendar(visitor.invite(reference).content, "REQUEST"),
                parse_calendar(staff_invite(desk, staff, reference).content, "REQUEST"),
            ]
            for parsed in calendars:
                check_event(
                    parsed.event, parsed.vobj.vevent, expected[reference], zone, local=booking is plain
                )
        for name, token in feeds.items():
            parsed = parse_calendar(Visitor(client).call("GET", f"/calendar/{token}.ics").content, "PUBLISH")
            assert len(parsed.events) == (1 if name == "bodil" else 2)
            for event, v_event in zip(parsed.events, parsed.vobj.vevent_list, strict=True):
                reference = str(event["SUMMARY"]).rsplit(" ", 1)[-1]
                check_event(event, v_event, expected[reference], zone, local=reference == plain["reference"])


def staff_invite(desk: Desk, name: str, reference: str) -> Any:
    response = desk.staff[name].request("GET", f"/staff/bookings/{reference}/invite.ics")
    assert response.status_code == 200, response.text
    return response


def check_event(
    event: Any, v_event: Any, expected: tuple[datetime, datetime], zone: ZoneInfo, local: bool
) -> None:
    """Both parsers give the booking's true start and end; local time only where it is unambiguous."""
    assert instants(event, v_event) == expected
    if local:
        assert event["DTSTART"].params["TZID"] == zone.key
        assert event["DTSTART"].dt.replace(tzinfo=None) == expected[0].astimezone(zone).replace(tzinfo=None)
    else:
        assert "TZID" not in event["DTSTART"].params
        assert event.to_ical().decode().count("Z\r\n") >= 3  # DTSTART, DTEND and DTSTAMP end in Z
