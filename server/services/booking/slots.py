"""Which consultation slots are free: pure functions over rules, exceptions and bookings.

Times are laid out in the centre's zone and returned in UTC.  A slot is *slot length*
long; the next one starts *slot length + buffer* later; bookings block the slot widened
by the buffer on both sides.  Local times that do not exist (the hour skipped when
daylight saving starts) are never offered; an ambiguous local time (when it ends) means
its first occurrence (fold=0).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Rules:
    """The booking policy numbers that shape slots."""

    slot_minutes: int
    buffer_minutes: int
    min_notice_hours: int
    horizon_days: int


@dataclass(frozen=True)
class Weekly:
    weekday: int  # 0 = Monday
    starts: time
    ends: time


@dataclass(frozen=True)
class Busy:
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Slot:
    start: datetime  # UTC
    end: datetime  # UTC
    counsellors: tuple[uuid.UUID, ...]  # who is free for it, in a stable order


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime | None:
    """`day` at `at` in `zone` as an aware UTC datetime; None if that local time does not exist."""
    local = datetime.combine(day, at).replace(tzinfo=zone, fold=0)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def window(rules: Rules, now: datetime) -> tuple[datetime, datetime]:
    """The earliest and latest start a visitor may book now."""
    return now + timedelta(hours=rules.min_notice_hours), now + timedelta(days=rules.horizon_days)


def counsellor_slots(
    rules: Rules,
    weekly: Sequence[Weekly],
    days_off: Sequence[tuple[date, date]],
    days: Iterable[date],
    zone: ZoneInfo,
) -> list[tuple[datetime, datetime]]:
    """Every slot one counsellor's weekly rules give on `days`, ignoring bookings and the clock."""
    length = timedelta(minutes=rules.slot_minutes)
    step = timedelta(minutes=rules.slot_minutes + rules.buffer_minutes)
    out: list[tuple[datetime, datetime]] = []
    for day in days:
        if any(first <= day <= last for first, last in days_off):
            continue
        for rule in weekly:
            if rule.weekday != day.weekday():
                continue
            cursor = datetime.combine(day, rule.starts)
            end_of_rule = datetime.combine(day, rule.ends)
            while cursor + length <= end_of_rule:
                start = local_instant(day, cursor.time(), zone)
                if start is not None:
                    out.append((start, start + length))
                cursor += step
    return sorted(set(out))


def is_free(start: datetime, end: datetime, busy: Sequence[Busy], buffer_minutes: int) -> bool:
    """No booking overlaps [start, end) widened by the buffer."""
    pad = timedelta(minutes=buffer_minutes)
    return all(not (b.starts_at < end + pad and b.ends_at + pad > start) for b in busy)


def free_slots(
    rules: Rules,
    weekly: Mapping[uuid.UUID, Sequence[Weekly]],
    days_off: Mapping[uuid.UUID, Sequence[tuple[date, date]]],
    busy: Mapping[uuid.UUID, Sequence[Busy]],
    days: Sequence[date],
    zone: ZoneInfo,
    now: datetime,
) -> list[Slot]:
    """The centre's bookable slots on `days`: each with the counsellors free for it."""
    earliest, latest = window(rules, now)
    pad = timedelta(minutes=rules.buffer_minutes)
    found: dict[tuple[datetime, datetime], list[uuid.UUID]] = {}
    for staff_id in sorted(weekly):
        candidates = counsellor_slots(rules, weekly[staff_id], days_off.get(staff_id, ()), days, zone)
        # One sweep over slots and bookings, both in start order (a counsellor's confirmed
        # bookings never overlap, so they are in end order too): linear, not slots × bookings.
        taken = sorted(busy.get(staff_id, ()), key=lambda b: b.starts_at)
        first = 0
        for start, end in candidates:
            if not earliest <= start <= latest:
                continue
            while first < len(taken) and taken[first].ends_at + pad <= start:
                first += 1
            if is_free(start, end, _overlapping(taken, first, end + pad), rules.buffer_minutes):
                found.setdefault((start, end), []).append(staff_id)
    return [Slot(start, end, tuple(ids)) for (start, end), ids in sorted(found.items())]


def _overlapping(taken: Sequence[Busy], first: int, before: datetime) -> list[Busy]:
    """The bookings from `first` on that start before `before` (the only ones that can clash)."""
    out = []
    for booking in taken[first:]:
        if booking.starts_at >= before:
            break
        out.append(booking)
    return out


def days_from(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]
