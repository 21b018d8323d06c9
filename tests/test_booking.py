"""Booking through its real interfaces (staff forms, the visitor API), on SQLite and PostgreSQL.

Slots, daylight saving, no double booking (also under 100 concurrent requests), bad input
that changes nothing, limits, cancelling and moving.  Invites, feeds and chats are in
tests/test_booking_invites.py.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.models import Booking, StaffAccount
from server.settings import Settings
from tests.booking_helpers import (
    EVERY_DAY,
    OSLO,
    SLOT_TAKEN,
    Desk,
    Visitor,
    ahead,
    at,
    b64,
    client_with,
    instant,
    make_desk,
    new_code,
    new_visitor,
    next_transition,
    parse_calendar,
    sealed,
    slots,
    stored,
    times,
    today,
)
from tests.conftest import BASE_URL, Client

DAY = 7  # days ahead: inside the default notice (24 h) and horizon (28 days) whatever the time now


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    """These tests book more than the default 5 times an hour from one client; the limit itself is
    tested with its own app (test_booking_is_rate_limited_per_client)."""
    return make_settings(TRYGG_BOOKINGS_PER_CLIENT_PER_HOUR="1000")


@pytest.fixture
def desk(client: Client) -> Desk:
    return make_desk(client, "anna", "bodil")


def set_role(client: Client, account_id: uuid.UUID, role: str) -> None:
    """There is no page to change a role; set it in the database as an operator would."""

    async def change() -> None:
        async with client.res.db.begin() as db:
            account = await db.get(StaffAccount, account_id)
            assert account is not None
            account.role = role

    client.run(change)


# --- availability and slots -----------------------------------------------------------------


def test_weekly_rules_give_the_centres_slots(client: Client, desk: Desk) -> None:
    """Slots step by length + buffer and end by the rule's end; counsellors' slots merge, unnamed."""
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "12:00")
    page = desk.staff["anna"].request("GET", "/staff/availability")
    assert "09:00–12:00" in page.text
    found = slots(client, day)
    assert [s["time"] for s in found] == ["09:00", "10:15"]  # 11:30 would end after 12:00
    assert found[0] == {
        "start": at(day, "09:00"),
        "end": at(day, "10:00"),
        "time": "09:00",
        "date": day.isoformat(),
    }
    desk.available("bodil", [day.weekday()], "09:30", "11:00")
    assert times(client, day) == ["09:00", "09:30", "10:15"]
    assert times(client, day + timedelta(days=1)) == []
    listing = Visitor(client).call("GET", f"/api/booking/slots?from={day}&days=1")
    assert listing.json()["time_zone"] == "Europe/Oslo"
    assert "Anna" not in listing.text
    assert "Bodil" not in listing.text
    assert "anna" not in listing.text


def test_slot_length_and_buffer_come_from_the_policy(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "12:00")
    assert desk.policy(slot_minutes=30, buffer_minutes=0).status_code == 303
    assert times(client, day) == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert desk.policy(slot_minutes=50, buffer_minutes=10).status_code == 303
    found = slots(client, day)
    assert [s["time"] for s in found] == ["09:00", "10:00", "11:00"]
    assert instant(found[0]["end"]) - instant(found[0]["start"]) == timedelta(minutes=50)
    options = Visitor(client).call("GET", "/api/booking/options").json()
    assert options["slot_minutes"] == 50
    assert options["time_zone"] == "Europe/Oslo"


def test_minimum_notice_and_horizon(client: Client, desk: Desk) -> None:
    """Only starts from now + notice to now + horizon are listed (checked against the clock on both
    sides of the request, so a slot starting right at a boundary cannot make this flaky)."""
    desk.available("anna", EVERY_DAY, "09:00", "12:00")
    assert desk.policy(min_notice_hours=50, horizon_days=6).status_code == 303
    before = datetime.now(UTC)
    found = {instant(s["start"]) for s in slots(client, today(), days=10)}
    after = datetime.now(UTC)
    every = {
        instant(at(ahead(n), clock)) for n in range(-1, 11) for clock in ("09:00", "10:15")
    }  # the rules' slots, ignoring the clock
    assert found <= every
    assert all(before + timedelta(hours=50) <= s <= after + timedelta(days=6) for s in found)
    surely = {s for s in every if after + timedelta(hours=50) <= s <= before + timedelta(days=6)}
    assert surely <= found
    assert len(surely) >= 6


def test_days_off_remove_days(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    desk.available("anna", EVERY_DAY, "09:00", "10:00")
    assert desk.day_off("anna", day.isoformat()).status_code == 303  # one day: "last" left empty
    nxt = day + timedelta(days=2)
    assert desk.day_off("anna", nxt.isoformat(), (nxt + timedelta(days=1)).isoformat()).status_code == 303
    by_day = {s["date"] for s in slots(client, day - timedelta(days=1), days=6)}
    expected = {day - timedelta(days=1), day + timedelta(days=1), day + timedelta(days=4)}
    assert by_day == {d.isoformat() for d in expected}
    # Removing the day off (its own form) brings the day back.
    page = desk.staff["anna"].request("GET", "/staff/availability").text
    first_id = page.split('data-exception="')[1].split('"')[0]
    removed = desk.staff["anna"].form(
        f"/staff/availability/exceptions/{first_id}/remove", {}, token_from="/staff/availability"
    )
    assert removed.status_code == 303
    assert times(client, day) == ["09:00"]


def test_deactivated_staff_interpreters_and_admins_offer_nothing(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "10:00")
    desk.available("bodil", [day.weekday()], "13:00", "14:00")
    assert times(client, day) == ["09:00", "13:00"]
    deactivate = f"/staff/admin/staff/{desk.ids['anna']}/deactivate"
    assert desk.admin.form(deactivate, {}, token_from="/staff/admin/staff").status_code == 303
    assert times(client, day) == ["13:00"]
    ended = desk.staff["anna"].request("GET", "/staff/availability", follow_redirects=False)
    assert ended.headers["location"] == "/staff/login"  # her session ended with her account
    reactivate = f"/staff/admin/staff/{desk.ids['anna']}/reactivate"
    assert desk.admin.form(reactivate, {}, token_from="/staff/admin/staff").status_code == 303
    assert times(client, day) == ["09:00", "13:00"]
    set_role(client, desk.ids["bodil"], "interpreter")
    assert times(client, day) == ["09:00"]
    set_role(client, desk.ids["anna"], "admin")
    assert times(client, day) == []
    assert new_visitor(client).book(at(day, "09:00")).status_code == 422
    assert stored(client) == []


def test_a_booked_slot_disappears(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "12:00")
    desk.available("bodil", [day.weekday()], "09:00", "10:00")
    visitor = new_visitor(client)
    visitor.booked(at(day, "09:00"))
    assert times(client, day) == ["09:00", "10:15"]  # the other counsellor is still free at 09:00
    visitor.booked(at(day, "09:00"))
    assert times(client, day) == ["10:15"]
    assert {b.counsellor_id for b in stored(client)} == {desk.ids["anna"], desk.ids["bodil"]}


def test_the_buffer_blocks_a_neighbouring_slot_of_the_same_counsellor(client: Client, desk: Desk) -> None:
    """Anna's 10:10 slot is within 15 minutes of her 09:00–10:00 booking, so 10:10 goes to Bodil;
    once Bodil has it too, 10:10 is taken for everyone."""
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "10:00")
    desk.available("anna", [day.weekday()], "10:10", "11:10")
    desk.available("bodil", [day.weekday()], "10:10", "11:10")
    first, second, third = new_visitor(client), new_visitor(client), new_visitor(client)
    first.booked(at(day, "09:00"))
    assert times(client, day) == ["10:10"]
    second.booked(at(day, "10:10"))
    by_start = {b.starts_at: b.counsellor_id for b in stored(client)}
    assert by_start[instant(at(day, "10:10"))] == desk.ids["bodil"]
    assert times(client, day) == []
    taken = third.book(at(day, "10:10"))
    assert taken.status_code == 409
    assert taken.json()["error"] == "slot_taken"
    assert len(stored(client)) == 2


# --- daylight saving --------------------------------------------------------------------------


def check_transition(client: Client, desk: Desk, sunday: Any, zone: ZoneInfo, winter_first: bool) -> None:
    """09:00 local on the Friday before and the Monday after a change; UTC moves by an hour."""
    friday, monday = sunday - timedelta(days=2), sunday + timedelta(days=1)
    winter, summer = "08:00:00Z", "07:00:00Z"
    expected = {friday: winter if winter_first else summer, monday: summer if winter_first else winter}
    visitor = new_visitor(client)
    for day, utc_time in expected.items():
        (first, *_) = slots(client, day)
        assert first["time"] == "09:00"
        assert first["start"] == f"{day.isoformat()}T{utc_time}"
        booking = visitor.booked(first["start"])
        assert (booking["date"], booking["time"], booking["start"]) == (
            day.isoformat(),
            "09:00",
            first["start"],
        )
        event = parse_calendar(visitor.invite(booking["reference"]).content, "REQUEST").event
        assert event["DTSTART"].params["TZID"] == zone.key
        assert event["DTSTART"].dt.replace(tzinfo=None) == datetime.combine(day, datetime.min.time()).replace(
            hour=9
        )
        assert event["DTSTART"].dt.astimezone(UTC).strftime("%H:%M:%SZ") == utc_time
        assert (
            f"DTSTART;TZID={zone.key}:{day.strftime('%Y%m%d')}T090000"
            in visitor.invite(booking["reference"]).text
        )
        assert visitor.cancel(booking["reference"]).status_code == 200  # room for the next one


@pytest.mark.parametrize("month", [3, 10])
def test_dst_keeps_local_times_in_oslo(client: Client, desk: Desk, month: int) -> None:
    sunday = next_transition(month, ahead(3))
    assert desk.policy(horizon_days=400, min_notice_hours=0).status_code == 303
    desk.available("anna", EVERY_DAY, "09:00", "12:00")
    check_transition(client, desk, sunday, OSLO, winter_first=month == 3)


def test_dst_in_stockholm(make_settings: Any) -> None:
    zone = ZoneInfo("Europe/Stockholm")
    with client_with(make_settings, TRYGG_TIME_ZONE="Europe/Stockholm") as client:
        desk = make_desk(client, "anna")
        assert desk.policy(horizon_days=400, min_notice_hours=0).status_code == 303
        desk.available("anna", EVERY_DAY, "09:00", "12:00")
        sunday = next_transition(3, ahead(3, zone))
        check_transition(client, desk, sunday, zone, winter_first=True)
        assert Visitor(client).call("GET", "/api/booking/options").json()["time_zone"] == "Europe/Stockholm"


def test_the_skipped_hour_is_never_offered_and_the_repeated_hour_means_the_first(
    client: Client, desk: Desk
) -> None:
    spring, autumn = next_transition(3, ahead(1)), next_transition(10, ahead(1))
    assert desk.policy(horizon_days=400, min_notice_hours=0, buffer_minutes=0).status_code == 303
    desk.available("anna", [6], "02:00", "04:00")
    found = slots(client, spring)
    assert [s["time"] for s in found] == ["03:00"]  # 02:00 does not exist that night
    assert found[0]["start"] == f"{spring.isoformat()}T01:00:00Z"
    found = slots(client, autumn)
    assert [s["time"] for s in found] == ["02:00", "03:00"]
    assert found[0]["start"] == f"{autumn.isoformat()}T00:00:00Z"  # 02:00 summer time, the first one
    assert found[1]["start"] == f"{autumn.isoformat()}T02:00:00Z"


# --- no double booking ------------------------------------------------------------------------


def test_the_second_booking_of_a_slot_is_refused(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "10:00")
    first, second = new_visitor(client), new_visitor(client)
    assert first.book(at(day, "09:00")).status_code == 201
    refused = second.book(at(day, "09:00"))
    assert refused.status_code == 409
    assert refused.json()["error"] == "slot_taken"
    assert refused.json()["message"].startswith(SLOT_TAKEN)
    assert len(stored(client)) == 1


def test_a_hundred_simultaneous_bookings_of_one_slot_exactly_one_wins(make_settings: Any) -> None:
    """100 visitors, each with their own code, press "Book" for the same slot at the same time."""
    day = ahead(DAY)
    with client_with(make_settings, TRYGG_BOOKINGS_PER_CLIENT_PER_HOUR="1000") as client:
        desk = make_desk(client, "anna")
        desk.available("anna", [day.weekday()], "09:00", "10:00")
        start = at(day, "09:00")

        def http(number: int) -> httpx2.AsyncClient:
            # Each visitor is its own client address (codes are throttled per client).
            address = (f"10.0.{number // 200}.{number % 200 + 1}", 40000)
            transport = httpx2.ASGITransport(app=client.app, client=address)
            return httpx2.AsyncClient(transport=transport, base_url=BASE_URL, headers={"origin": BASE_URL})

        async def holder(number: int) -> str:
            async with http(number) as visitor:
                answer = await visitor.post("/api/booking/holders", json=new_code())
                assert answer.status_code == 201, answer.text
                return str(answer.json()["token"])

        async def book(token: str) -> httpx2.Response:
            body = {
                "start": start,
                "kind": "phone",
                "payload": b64(sealed()),
                "fuller_invite": False,
                "same_counsellor": False,
            }
            async with http(0) as visitor:
                return await visitor.post(
                    "/api/booking/bookings", json=body, headers={"authorization": f"Bearer {token}"}
                )

        async def everyone() -> list[httpx2.Response]:
            tokens = await asyncio.gather(*(holder(n) for n in range(100)))
            return await asyncio.gather(*(book(token) for token in tokens))

        answers = client.run(everyone)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] + [409] * 99, statuses
        losers = [a.json() for a in answers if a.status_code == 409]
        assert {loser["error"] for loser in losers} == {"slot_taken"}
        assert all(loser["message"].startswith(SLOT_TAKEN) for loser in losers)
        rows = [b for b in stored(client) if b.status == "confirmed"]
        assert len(rows) == 1
        assert rows[0].starts_at == instant(start)


# --- bad input changes nothing ----------------------------------------------------------------


def refused(visitor: Visitor, client: Client, response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["error"] == code, response.text
    assert len(stored(client)) == 0


def test_bad_times_are_refused(client: Client, desk: Desk) -> None:
    desk.available("anna", EVERY_DAY, "09:00", "12:00")
    assert desk.policy(min_notice_hours=48, horizon_days=10).status_code == 303
    visitor = new_visitor(client)
    day = ahead(5)
    cases = {
        at(ahead(-1), "09:00"): "in_the_past",
        at(ahead(1), "10:15"): "too_soon",
        at(ahead(12), "09:00"): "too_far",
        at(day, "09:07"): "not_a_slot",
        at(day, "13:00"): "not_a_slot",  # outside availability
        at(day, "11:30"): "not_a_slot",  # would end after the rule's end
    }
    for start, code in cases.items():
        refused(visitor, client, visitor.book(start), 422, code)
    for start in ("2027-13-01T09:00:00Z", "yesterday", f"{day}T09:00:00", "", 1800000000, None):
        refused(visitor, client, visitor.book(start), 422, "bad_fields")  # type: ignore[arg-type]
    # The same instant written with an offset is accepted (it is one instant).
    offset = datetime.fromisoformat(at(day, "09:00").replace("Z", "+00:00")).astimezone(OSLO).isoformat()
    assert visitor.book(offset).status_code == 201


def test_bad_kinds_and_payloads_are_refused(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "12:00")
    visitor = new_visitor(client)
    start = at(day, "09:00")
    refused(visitor, client, visitor.book(start, kind="chat"), 422, "bad_fields")
    refused(visitor, client, visitor.book(start, kind="in_person"), 422, "kind_not_offered")  # no address
    refused(visitor, client, visitor.book(start, kind="video"), 422, "kind_not_offered")  # no link
    assert desk.policy(phone=False, address="Storgata 1").status_code == 303
    refused(visitor, client, visitor.book(start, kind="phone"), 422, "kind_not_offered")
    assert Visitor(client).call("GET", "/api/booking/options").json()["kinds"] == ["in_person"]
    bad_payloads = [
        b"\x01\x01" + sealed()[2:],  # version 1: not bound to its booking
        b"\x03\x01" + sealed()[2:],  # unknown version
        b"\x02\x00" + sealed()[2:],  # no recipients
        sealed()[:100],  # too short for its recipients
        sealed(recipients=2, text_bytes=16 * 1024),  # over 16 KiB
    ]
    for payload in bad_payloads:
        refused(visitor, client, visitor.book(start, kind="in_person", payload=payload), 422, "bad_fields")
    good = {"start": start, "kind": "in_person", "payload": b64(sealed()), "fuller_invite": False}
    for body in (
        {**good, "payload": "not base64 at all!", "same_counsellor": False},
        {**good, "fuller_invite": "yes", "same_counsellor": False},
        good,  # a field missing
        {**good, "same_counsellor": False, "note": "in clear"},  # an extra field
        [good],
    ):
        refused(visitor, client, visitor.call("POST", "/api/booking/bookings", body), 422, "bad_fields")
    as_form = visitor.call("POST", "/api/booking/bookings", data={"start": start})
    refused(visitor, client, as_form, 415, "unsupported_media_type")
    broken = visitor.call(
        "POST", "/api/booking/bookings", content=b"{not json", headers={"content-type": "application/json"}
    )
    refused(visitor, client, broken, 400, "bad_json")
    huge = visitor.call(
        "POST", "/api/booking/bookings", content=b"[" * 300_000, headers={"content-type": "application/json"}
    )
    refused(visitor, client, huge, 413)
    assert visitor.book(start, kind="in_person").status_code == 201


def test_bad_tokens_and_codes_are_refused(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "12:00")
    visitor = new_visitor(client)
    assert visitor.token is not None
    start = at(day, "09:00")
    head, holder_hex, expiry, mac = visitor.token.split(".")
    other = uuid.uuid4().hex
    for token in (
        "",
        "nonsense",
        f"{head}.{other}.{expiry}.{mac}",  # another holder, same MAC
        f"{head}.{holder_hex}.{int(expiry) + 3600}.{mac}",  # longer life, same MAC
        f"{head}.{holder_hex}.{expiry}.{mac[:-2]}AA",
        f"{head}.{holder_hex}.1.{mac}",  # expired
    ):
        response = visitor.book(start, token=token)
        refused(visitor, client, response, 401, "unauthorized")
        assert visitor.call("GET", "/api/booking/bookings", token=token).status_code == 401
    # A validly signed but expired token (made with the server's own key) is refused too.
    from server.services.tokens import holder_token

    old = holder_token(client.res.settings.secret_key, uuid.UUID(hex=holder_hex), now=0)
    refused(visitor, client, visitor.book(start, token=old), 401, "unauthorized")
    wrong = {**visitor.code, "verifier": b64(b"\x00" * 32)}
    refused(visitor, client, visitor.call("POST", "/api/booking/access", wrong), 401, "wrong_code")
    unknown = visitor.call("POST", "/api/booking/access", new_code())
    refused(visitor, client, unknown, 401, "wrong_code")
    again = visitor.call("POST", "/api/booking/holders", visitor.code)
    refused(visitor, client, again, 409, "taken")
    bad_lookup = visitor.call("POST", "/api/booking/access", {**visitor.code, "lookup": "ABC"})
    refused(visitor, client, bad_lookup, 422, "bad_fields")
    opened = visitor.call("POST", "/api/booking/access", visitor.code)
    assert opened.status_code == 200
    booking = Visitor(client, opened.json()["token"]).booked(start)
    assert [b["reference"] for b in visitor.mine()] == [booking["reference"]]


def test_references_and_other_peoples_bookings(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "12:00")
    owner, stranger = new_visitor(client), new_visitor(client)
    booking = owner.booked(at(day, "09:00"))
    reference = booking["reference"]
    assert len(reference) == 9
    assert reference[4] == "-"
    for bad in ("XXXX", "IIII-IIII", "ABCD-EFGH-J", "0000-0000"):
        assert owner.cancel(bad).status_code == 404
        assert owner.invite(bad).status_code == 404
    assert stranger.cancel(reference).status_code == 404
    assert stranger.reschedule(reference, at(day, "10:15")).status_code == 404
    assert stranger.invite(reference).status_code == 404
    assert Visitor(client).cancel(reference).status_code == 401
    (row,) = stored(client)
    assert (row.status, row.sequence, row.starts_at) == ("confirmed", 0, instant(at(day, "09:00")))
    # Lower case and without the dash is the same reference.
    assert owner.cancel(reference.replace("-", "").lower()).status_code == 200
    twice = owner.cancel(reference)
    assert twice.status_code == 409
    assert twice.json()["error"] == "already_cancelled"
    moved = owner.reschedule(reference, at(day, "10:15"))
    assert moved.status_code == 409
    assert moved.json()["error"] == "already_cancelled"
    (row,) = stored(client)
    assert (row.status, row.sequence) == ("cancelled", 1)


def test_bad_slot_queries(client: Client, desk: Desk) -> None:
    visitor = Visitor(client)
    for query in (
        "from=2027-13-01",
        "from=yesterday",
        "days=0",
        "days=63",
        "days=two",
        "same_counsellor=yes",
        "colour=red",
    ):
        response = visitor.call("GET", f"/api/booking/slots?{query}")
        assert response.status_code == 422, query
        assert response.json()["error"] == "bad_query"
    assert visitor.call("GET", "/api/booking/slots?days=62").status_code == 200
    no_chat = visitor.call("GET", "/api/booking/slots?same_counsellor=1")
    assert no_chat.status_code == 401
    holder = new_visitor(client)
    without = visitor.call("GET", "/api/booking/slots?same_counsellor=1", token=holder.token)
    assert without.status_code == 409
    assert without.json()["error"] == "no_counsellor"


# --- staff forms --------------------------------------------------------------------------------


def rules_saved(client: Client, desk: Desk, name: str) -> str:
    return str(desk.staff[name].request("GET", "/staff/availability").text)


def test_bad_availability_forms_save_nothing(client: Client, desk: Desk) -> None:
    bad_rules = [
        ("1", "9:00", "12:00"),
        ("1", "09:00", "24:00"),
        ("1", "12:00", "09:00"),
        ("1", "09:00", "09:00"),
        ("7", "09:00", "12:00"),
        ("-1", "09:00", "12:00"),
        ("monday", "09:00", "12:00"),
        ("1", "09:00:00", "12:00"),
    ]
    for weekday, starts, ends in bad_rules:
        response = desk.rule("anna", weekday, starts, ends)  # type: ignore[arg-type]
        assert response.status_code == 422, (weekday, starts, ends)
        assert 'id="form-error"' in response.text
    assert "Enter times as HH:MM" in desk.rule("anna", 1, "12:00", "09:00").text
    assert "Choose a weekday" in desk.rule("anna", 9, "09:00", "12:00").text
    for first, last in (("2027-02-30", ""), ("tomorrow", ""), ("2027-03-02", "2027-03-01"), ("", "")):
        response = desk.day_off("anna", first, last)
        assert response.status_code == 422, (first, last)
        assert "Enter dates as YYYY-MM-DD" in response.text
    page = rules_saved(client, desk, "anna")
    assert 'id="no-rules"' in page
    assert 'id="no-exceptions"' in page
    assert slots(client, ahead(1), days=14) == []


def test_bad_policy_forms_save_nothing(client: Client, desk: Desk) -> None:
    bad = [
        {"slot_minutes": "10"},
        {"slot_minutes": "241"},
        {"slot_minutes": "sixty"},
        {"slot_minutes": "-60"},
        {"slot_minutes": ""},
        {"buffer_minutes": "121"},
        {"min_notice_hours": "337"},
        {"horizon_days": "0"},
        {"horizon_days": "401"},
        {"max_future_bookings": "21"},
        {"max_future_bookings": "1.5"},
        {"video_link": "http://meet.example.org/room"},
        {"video_link": "javascript:alert(1)"},
        {"video_link": "https://"},
    ]
    for change in bad:
        response = desk.policy(**change)
        assert response.status_code == 422, change
        assert 'id="form-error"' in response.text
    assert "Slot length (minutes) must be a whole number from 15 to 240" in desk.policy(slot_minutes=9).text
    assert "must be an https:// address" in desk.policy(video_link="ftp://x.org").text
    options = Visitor(client).call("GET", "/api/booking/options").json()
    assert (options["slot_minutes"], options["horizon_days"], options["max_future_bookings"]) == (60, 28, 2)
    assert options["kinds"] == ["phone"]
    assert options["video"] is False
    assert desk.policy(video_link="https://meet.example.org/room", address="Storgata 1").status_code == 303
    options = Visitor(client).call("GET", "/api/booking/options").json()
    assert options["kinds"] == ["in_person", "phone", "video"]
    assert options["address"] == "Storgata 1"


def test_only_the_right_staff_reach_the_booking_pages(client: Client, desk: Desk) -> None:
    ivan = desk.hire("ivan", role="interpreter")
    assert desk.admin.request("GET", "/staff/availability").status_code == 403
    # An interpreter has a calendar link there, but no weekly times: they are never booked directly.
    page = ivan.request("GET", "/staff/availability")
    assert page.status_code == 200
    assert 'id="feed-new"' in page.text
    assert 'id="add-rule"' not in page.text
    assert 'id="add-exception"' not in page.text
    assert (
        ivan.form(
            "/staff/availability/rules",
            {"weekday": "1", "starts": "09:00", "ends": "12:00"},
            token_from="/staff/",
        ).status_code
        == 403
    )
    assert desk.staff["anna"].request("GET", "/staff/admin/booking").status_code == 403
    denied = desk.staff["anna"].form("/staff/admin/booking", {"slot_minutes": "15"}, token_from="/staff/")
    assert denied.status_code == 403
    assert ivan.request("GET", "/api/staff/bookings").json()["bookings"] == []  # only those attached to
    nobody = Visitor(client)
    for path in ("/staff/availability", "/staff/admin/booking"):
        response = nobody.call("GET", path, follow_redirects=False)
        assert response.status_code == 303
        assert "/staff/login" in response.headers["location"]
    no_token = desk.staff["anna"].request(
        "POST", "/staff/availability/rules", data={"weekday": "1", "starts": "09:00", "ends": "12:00"}
    )
    assert no_token.status_code == 403
    assert 'id="no-rules"' in desk.staff["anna"].request("GET", "/staff/availability").text
    options = nobody.call("GET", "/api/booking/options").json()
    assert options["slot_minutes"] == 60


# --- limits -------------------------------------------------------------------------------------


def test_a_code_holds_at_most_the_allowed_future_bookings(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "13:00")
    visitor = new_visitor(client)
    first = visitor.booked(at(day, "09:00"))
    visitor.booked(at(day, "10:15"))
    too_many = visitor.book(at(day, "11:30"))
    assert too_many.status_code == 409
    assert too_many.json()["error"] == "too_many_bookings"
    assert len(stored(client)) == 2
    assert new_visitor(client).book(at(day, "11:30")).status_code == 201  # another code may
    assert visitor.cancel(first["reference"]).status_code == 200
    assert visitor.book(at(day, "09:00")).status_code == 201  # cancelling freed a place
    assert desk.policy(max_future_bookings=1).status_code == 303
    assert visitor.book(at(ahead(DAY + 7), "09:00")).json()["error"] == "too_many_bookings"
    assert visitor.call("GET", "/api/booking/bookings").json()["max_future_bookings"] == 1


def test_booking_is_rate_limited_per_code_and_per_client(make_settings: Any) -> None:
    """Accepted bookings count, per code and per client; refused attempts count for nothing
    (tests/test_limits.py has the shared-address cases)."""
    day = ahead(DAY)
    env = {"TRYGG_BOOKINGS_PER_CLIENT_PER_HOUR": "3", "TRYGG_BOOKINGS_PER_CODE_PER_HOUR": "2"}
    with client_with(make_settings, **env) as client:
        desk = make_desk(client, "anna")
        desk.available("anna", [day.weekday()], "09:00", "16:00")
        assert desk.policy(max_future_bookings=20).status_code == 303
        visitor = new_visitor(client)
        assert visitor.book(at(day, "09:00")).status_code == 201
        for _ in range(5):  # refused attempts cost nothing, so they count for nothing
            assert visitor.book(at(day, "09:07")).status_code == 422
            assert visitor.book(at(day, "09:00")).status_code == 409
        assert visitor.book(at(day, "10:15")).status_code == 201
        blocked = visitor.book(at(day, "11:30"))
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert blocked.json()["message"] == (
            "You have booked or moved as many times as allowed for now. Try again in 60 minutes."
        )
        assert new_visitor(client).book(at(day, "11:30")).status_code == 201  # another code may
        per_client = new_visitor(client).book(at(day, "12:45"))
        assert per_client.status_code == 429
        assert per_client.json()["message"] == "Too many attempts from this device. Try again in 60 minutes."
        assert len(stored(client)) == 3


# --- cancelling and moving ----------------------------------------------------------------------


def test_reschedule_then_cancel(client: Client, desk: Desk) -> None:
    """Sequence 0 → 1 (moved: same reference and UID, new start) → 2 (cancelled); times freed."""
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "12:00")
    visitor = new_visitor(client)
    booking = visitor.booked(at(day, "09:00"))
    reference = booking["reference"]
    assert (booking["sequence"], booking["status"], booking["time"]) == (0, "confirmed", "09:00")
    first = parse_calendar(visitor.invite(reference).content, "REQUEST").event
    assert times(client, day) == ["10:15"]

    moved = visitor.reschedule(reference, at(day, "10:15"))
    assert moved.status_code == 200, moved.text
    assert moved.json()["booking"]["reference"] == reference
    assert (moved.json()["booking"]["sequence"], moved.json()["booking"]["time"]) == (1, "10:15")
    second = parse_calendar(visitor.invite(reference).content, "REQUEST").event
    assert second["UID"] == first["UID"]
    assert int(second["SEQUENCE"]) == 1
    assert second["DTSTART"].dt - first["DTSTART"].dt == timedelta(minutes=75)
    assert times(client, day) == ["09:00"]  # the old time is free again

    not_a_slot = visitor.reschedule(reference, at(day, "09:30"))
    assert not_a_slot.status_code == 422
    assert not_a_slot.json()["error"] == "not_a_slot"
    assert stored(client)[0].sequence == 1

    cancelled = visitor.cancel(reference)
    assert cancelled.status_code == 200
    assert (cancelled.json()["booking"]["status"], cancelled.json()["booking"]["sequence"]) == (
        "cancelled",
        2,
    )
    third = parse_calendar(visitor.invite(reference).content, "CANCEL").event
    assert third["UID"] == first["UID"]
    assert int(third["SEQUENCE"]) == 2
    assert str(third["STATUS"]) == "CANCELLED"
    assert times(client, day) == ["09:00", "10:15"]
    assert [b["status"] for b in visitor.mine()] == ["cancelled"]
    assert new_visitor(client).book(at(day, "10:15")).status_code == 201


def test_reschedule_onto_a_taken_time_changes_nothing(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "12:00")
    mine, theirs = new_visitor(client), new_visitor(client)
    booking = mine.booked(at(day, "09:00"))
    theirs.booked(at(day, "10:15"))
    taken = mine.reschedule(booking["reference"], at(day, "10:15"))
    assert taken.status_code == 409
    assert taken.json()["error"] == "slot_taken"
    for bad in ("yesterday", at(ahead(-1), "09:00"), at(ahead(40), "09:00")):
        assert mine.reschedule(booking["reference"], bad).status_code == 422
    extra = mine.call(
        "POST",
        f"/api/booking/bookings/{booking['reference']}/reschedule",
        {"start": at(day, "10:15"), "x": 1},
    )
    assert extra.status_code == 422
    assert [(b.sequence, b.starts_at) for b in stored(client)] == [
        (0, instant(at(day, "09:00"))),
        (0, instant(at(day, "10:15"))),
    ]


def test_removing_a_weekly_rule_removes_its_slots(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "10:00")
    assert times(client, day) == ["09:00"]
    page = desk.staff["anna"].request("GET", "/staff/availability").text
    rule_id = page.split('data-rule="')[1].split('"')[0]
    removed = desk.staff["anna"].form(
        f"/staff/availability/rules/{rule_id}/remove", {}, token_from="/staff/availability"
    )
    assert removed.status_code == 303
    assert times(client, day) == []
    # Removing it again, or someone else's, is a clear 404.
    again = desk.staff["anna"].form(
        f"/staff/availability/rules/{rule_id}/remove", {}, token_from="/staff/availability"
    )
    assert again.status_code == 404


def test_one_person_has_at_most_fifty_weekly_rules_and_fifty_days_off(client: Client, desk: Desk) -> None:
    for number in range(50):
        assert (
            desk.rule("anna", number % 7, f"{number % 24:02d}:00", f"{number % 24:02d}:30").status_code == 303
        )
    refused = desk.rule("anna", 0, "23:00", "23:30")
    assert refused.status_code == 409
    assert "as many entries as one person may have" in refused.text
    start = ahead(DAY)
    for number in range(50):
        assert desk.day_off("anna", (start + timedelta(days=number)).isoformat()).status_code == 303
    assert desk.day_off("anna", (start + timedelta(days=60)).isoformat()).status_code == 409


def test_a_booking_that_has_taken_place_cannot_be_cancelled_or_moved(client: Client, desk: Desk) -> None:
    """Its time is moved into the past in the database (the clock cannot be turned forward)."""
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "12:00")
    visitor = new_visitor(client)
    booking = visitor.booked(at(day, "09:00"))

    async def into_the_past() -> None:
        async with client.res.db.begin() as db:
            row = (await db.scalars(select(Booking))).one()
            row.starts_at = datetime.now(UTC) - timedelta(days=2, hours=1)
            row.ends_at = row.starts_at + timedelta(hours=1)

    client.run(into_the_past)
    for response in (
        visitor.cancel(booking["reference"]),
        visitor.reschedule(booking["reference"], at(day, "10:15")),
    ):
        assert response.status_code == 409, response.text
        assert response.json()["error"] == "past"
    assert [b.status for b in stored(client)] == ["confirmed"]


def test_the_database_itself_refuses_overlapping_confirmed_bookings(client: Client, desk: Desk) -> None:
    """Below the service's checks: an exclusion constraint (PostgreSQL) or triggers (SQLite)
    refuse any overlap of one counsellor's confirmed bookings, on insert and on update."""
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "12:00")
    visitor = new_visitor(client)
    visitor.booked(at(day, "09:00"))  # 09:00-10:00

    async def write(starts: str, minutes: int, status: str = "confirmed") -> str:
        async with client.res.db() as db:
            first = (await db.scalars(select(Booking))).first()
        assert first is not None
        start = instant(at(day, starts))
        row = Booking(
            reference=uuid.uuid4().hex[:8].upper(),
            holder_id=first.holder_id,
            counsellor_id=first.counsellor_id,
            starts_at=start,
            ends_at=start + timedelta(minutes=minutes),
            kind="phone",
            status=status,
            payload=b"\x01",
        )
        try:
            async with client.res.db.begin() as db:
                db.add(row)
        except IntegrityError:
            return "refused"
        return "stored"

    assert client.run(write, "09:30", 60) == "refused"  # overlaps the end
    assert client.run(write, "08:30", 45) == "refused"  # overlaps the start
    assert client.run(write, "09:15", 15) == "refused"  # inside
    assert client.run(write, "10:00", 60) == "stored"  # touching is not overlapping
    assert client.run(write, "09:30", 60, "cancelled") == "stored"  # cancelled ones do not count

    async def confirm_the_cancelled() -> str:
        try:
            async with client.res.db.begin() as db:
                row = (await db.scalars(select(Booking).where(Booking.status == "cancelled"))).one()
                row.status = "confirmed"
        except IntegrityError:
            return "refused"
        return "stored"

    assert client.run(confirm_the_cancelled) == "refused"
