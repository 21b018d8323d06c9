"""The VTIMEZONE Trygg writes (server/services/booking/vtimezone.py), read back by an
independent parser (vobject builds its own tzinfo from the VTIMEZONE rules).

ical.js reads only the first value of an RDATE list, so we write yearly RRULE observances
(as Outlook does); this proves the rules give the right UTC instant, summer and winter,
around each change, in zones north and south of the equator and without daylight saving.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar, Event

from server.services.booking.vtimezone import transitions, vtimezone

ZONES = ("Europe/Oslo", "Europe/Stockholm", "America/New_York", "Australia/Sydney", "Asia/Tokyo")
YEAR = datetime.now(UTC).year + 1


def instants(zone: ZoneInfo) -> list[datetime]:
    """Noon on the 15th of every month, and two hours either side of every change."""
    out = [datetime(YEAR, month, 15, 12, tzinfo=zone) for month in range(1, 13)]
    for change in transitions(zone, YEAR):
        out += [(change + timedelta(hours=h)).astimezone(zone) for h in (-2, 2)]
    return out


@pytest.mark.parametrize("name", ZONES)
def test_the_rules_give_the_right_instants(name: str) -> None:
    zone = ZoneInfo(name)
    calendar = Calendar()
    calendar.add("prodid", "-//Trygg//test//EN")
    calendar.add("version", "2.0")
    calendar.add_component(vtimezone(name, YEAR))
    expected = instants(zone)
    for number, moment in enumerate(expected):
        event = Event()
        event.add("uid", f"{number}@test")
        event.add("dtstamp", datetime.now(UTC))
        event.add("dtstart", moment)
        calendar.add_component(event)
    text = calendar.to_ical().decode()
    assert "RDATE" not in text
    assert text.count("BEGIN:VTIMEZONE") == 1
    assert ("RRULE:FREQ=YEARLY" in text) == bool(transitions(zone, YEAR))

    parsed = vobject.readOne(text)
    read = {int(str(e.uid.value).split("@")[0]): e.dtstart.value for e in parsed.vevent_list}
    for number, moment in enumerate(expected):
        assert read[number].astimezone(UTC) == moment.astimezone(UTC), (name, moment)
        assert read[number].utcoffset() == moment.utcoffset(), (name, moment)


def test_oslo_changes_on_the_last_sundays_of_march_and_october() -> None:
    text = vtimezone("Europe/Oslo", YEAR).to_ical().decode()
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in text
    assert "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200" in text
