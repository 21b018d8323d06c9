"""A VTIMEZONE in the form every calendar reads: one STANDARD and one DAYLIGHT rule (RRULE).

icalendar's `add_missing_timezones()` writes a zone's whole history as long comma-separated
RDATE lists; ical.js (Thunderbird and several web calendars) reads only the first value of
such a list, which puts a summer appointment an hour off.  Outlook writes one yearly rule
per observance, e.g. "the last Sunday of March at 02:00"; so do we, derived from the zone's
actual transitions in the year of the event (zoneinfo), so it is right for any IANA zone
whose rule is "the n-th / last weekday of a month".  A zone without daylight saving gets a
single STANDARD observance.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@cache
def transitions(zone: ZoneInfo, year: int) -> tuple[datetime, ...]:
    """The UTC instants in `year` where the zone's UTC offset changes (hour resolution, then exact)."""
    found: list[datetime] = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    step = timedelta(hours=1)
    while moment < end:
        after = moment + step
        if moment.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset():
            low, high = moment, after  # narrow down to the minute
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if low.astimezone(zone).utcoffset() == middle.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(second=0, microsecond=0))
        moment = after
    return tuple(found)


def _byday(local: datetime) -> str:
    """ "-1SU" for the last Sunday of the month, "2SU" for the second, and so on."""
    last_day = calendar.monthrange(local.year, local.month)[1]
    weekday = _WEEKDAYS[local.weekday()]
    if local.day + 7 > last_day:
        return f"-1{weekday}"
    return f"{(local.day - 1) // 7 + 1}{weekday}"


def vtimezone(name: str, year: int) -> Timezone:
    """The VTIMEZONE for zone `name`, with rules as they stand in `year`."""
    zone = ZoneInfo(name)
    component = Timezone()
    component.add("tzid", name)
    changes = transitions(zone, year)
    if not changes:
        standard = TimezoneStandard()
        instant = datetime(year, 1, 1, tzinfo=UTC).astimezone(zone)
        offset = instant.utcoffset() or timedelta(0)
        standard.add("dtstart", datetime(1970, 1, 1))
        standard.add("tzoffsetfrom", offset)
        standard.add("tzoffsetto", offset)
        standard.add("tzname", instant.tzname() or name)
        component.add_component(standard)
        return component
    for change in changes:
        before = (change - timedelta(minutes=1)).astimezone(zone)
        after = change.astimezone(zone)
        observance = TimezoneDaylight() if after.dst() else TimezoneStandard()
        # DTSTART is the local wall-clock time of the change, in the offset before it.
        local_start = (change + (before.utcoffset() or timedelta(0))).replace(tzinfo=None)
        observance.add("dtstart", local_start.replace(year=1970, day=_first_matching_day(local_start)))
        observance.add(
            "rrule", {"freq": "yearly", "bymonth": local_start.month, "byday": _byday(local_start)}
        )
        observance.add("tzoffsetfrom", before.utcoffset() or timedelta(0))
        observance.add("tzoffsetto", after.utcoffset() or timedelta(0))
        observance.add("tzname", after.tzname() or name)
        component.add_component(observance)
    return component


def _first_matching_day(local: datetime) -> int:
    """The day in 1970 (the rule's first year) that the same weekday rule picks."""
    rule = _byday(local)
    weekday = _WEEKDAYS.index(rule[-2:])
    days_in_month = calendar.monthrange(1970, local.month)[1]
    matches = [d for d in range(1, days_in_month + 1) if calendar.weekday(1970, local.month, d) == weekday]
    ordinal = int(rule[:-2])
    return matches[ordinal] if ordinal < 0 else matches[ordinal - 1]
