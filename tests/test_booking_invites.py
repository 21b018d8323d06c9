"""Booking from a chat, calendar invites and feeds, staff's view of bookings, and what is stored.

Every calendar is read by two independent parsers (icalendar and vobject); each test runs
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.models import Base
from server.settings import Settings
from tests.booking_helpers import (
    Desk,
    Visitor,
    ahead,
    at,
    b64,
    client_with,
    desk_of,
    make_desk,
    new_feed,
    new_visitor,
    parse_calendar,
    sealed,
    slots,
    stored,
)
from tests.chat_helpers import Centre, Socket, staff_view, start_visitor
from tests.conftest import BASE_URL, Client

CENTRE = "Støttesenteret Nord"
ADDRESS = "Storgata 1, 0155 Oslo"
VIDEO = "https://meet.example.org/trygg-room"
DAY = 7


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    """A named centre (its name must stay out of discreet invites); bookings not rate limited here."""
    return make_settings(TRYGG_CENTRE_NAME=CENTRE, TRYGG_BOOKINGS_PER_CLIENT_PER_HOUR="1000")


@pytest.fixture
def desk(client: Client, centre: Centre) -> Desk:
    """The same people as booking staff; Anna works 09–10 and Bodil 13–14 on the test day."""
    desk = desk_of(client, centre)
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "10:00")
    desk.available("bodil", [day.weekday()], "13:00", "14:00")
    assert desk.policy(address=ADDRESS, video_link=VIDEO).status_code == 303
    return desk


def claim(client: Client, centre: Centre, name: str, chat: Any) -> None:
    """A counsellor takes the conversation over the websocket, as the staff page does."""
    view = staff_view(centre, name, chat.genesis)
    client.cookies.clear()
    headers = {"origin": BASE_URL, "cookie": centre.staff[name].person.cookie_header()}
    with client.websocket_connect("/ws", headers=headers) as raw:
        socket = Socket(raw)
        frame = {
            "type": "claim",
            "conversation": chat.id.hex,
            "client_id": str(uuid.uuid4()),
            "message": b64(view.claim()),
            "ref": "c",
        }
        socket.send(frame)
        socket.until("ack", ref="c")


# --- from a chat ------------------------------------------------------------------------------


def test_booking_from_a_chat_with_the_same_counsellor(client: Client, centre: Centre, desk: Desk) -> None:
    day = ahead(DAY)
    chat = start_visitor(client, BASE_URL, centre)
    visitor = Visitor(client)
    assert visitor.call("POST", "/api/booking/from-chat", token="not-a-chat-token-at-all").status_code == 401
    queued = visitor.call("POST", "/api/booking/from-chat", token=chat.token)
    assert queued.status_code == 200, queued.text
    assert queued.json()["counsellor_name"] is None
    holder = Visitor(client, queued.json()["token"])
    same = holder.call("GET", f"/api/booking/slots?from={day}&days=1&same_counsellor=1")
    assert same.status_code == 409
    assert same.json()["error"] == "no_counsellor"

    claim(client, centre, "anna", chat)
    answer = visitor.call("POST", "/api/booking/from-chat", token=chat.token).json()
    assert answer["counsellor_name"] == "Anna"
    holder = Visitor(client, answer["token"])
    assert [s["time"] for s in slots(client, day)] == ["09:00", "13:00"]
    assert [s["time"] for s in slots(client, day, token=holder.token, same_counsellor=True)] == ["09:00"]
    not_hers = holder.book(at(day, "13:00"), same_counsellor=True)
    assert not_hers.status_code == 422
    assert not_hers.json()["error"] == "not_a_slot"
    booking = holder.booked(at(day, "09:00"), same_counsellor=True)
    assert booking["counsellor_name"] == "Anna"
    other = holder.booked(at(day, "13:00"))  # not asked for the same counsellor: no name shown
    assert other["counsellor_name"] is None
    (row,) = [b for b in stored(client) if b.same_counsellor]
    assert row.counsellor_id == desk.ids["anna"]

    # The chat's resume code opens the same bookings, with no separate booking code.
    code = {"lookup": chat.keys.lookup_id.hex(), "verifier": b64(chat.keys.access_verifier)}
    opened = visitor.call("POST", "/api/booking/access", code)
    assert opened.status_code == 200, opened.text
    listed = Visitor(client, opened.json()["token"]).mine()
    assert {b["reference"] for b in listed} == {booking["reference"], other["reference"]}
    assert {b["counsellor_name"] for b in listed} == {"Anna", None}
    taken = visitor.call("POST", "/api/booking/holders", code)
    assert taken.status_code == 409  # a chat's code cannot become someone's new booking code
    from_chat = {b["reference"]: b["from_chat"] for b in staff_list(desk.staff["anna"])}
    assert from_chat[booking["reference"]] is True


# --- visitors' invites ------------------------------------------------------------------------


def test_the_visitors_invite_is_discreet(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    visitor = new_visitor(client)
    booking = visitor.booked(at(day, "09:00"), kind="in_person")
    reference = booking["reference"]
    for lang, word in (("", "Appointment"), ("en", "Appointment"), ("nb", "Avtale"), ("sv", "Möte")):
        response = visitor.invite(reference, lang)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/calendar")
        parsed = parse_calendar(response.content, "REQUEST")
        event = parsed.event
        assert str(event["SUMMARY"]) == word
        assert parsed.vobj.vevent.summary.value == word
        assert "LOCATION" not in event
        assert reference in str(event["DESCRIPTION"])
        assert str(event["DESCRIPTION"]).count("\n") == 0  # the reference, nothing more
        for telling in (
            CENTRE,
            "Storgata",
            "Consultation",
            "Samtale",
            "crime",
            "abuse",
            "in_person",
            "meet.",
        ):
            assert telling.lower() not in parsed.raw.lower(), telling
        assert event["DTSTART"].params["TZID"] == "Europe/Oslo"
        assert str(event["STATUS"]) == "CONFIRMED"
        assert_neutral_identifiers(parsed)
    assert visitor.cancel(reference).status_code == 200
    cancelled = parse_calendar(visitor.invite(reference, "nb").content, "CANCEL")
    assert str(cancelled.event["SUMMARY"]) == "Avtale"
    assert str(cancelled.event["STATUS"]) == "CANCELLED"
    assert int(cancelled.event["SEQUENCE"]) == 1


def assert_neutral_identifiers(parsed: Any, domain: str = "invalid") -> None:
    """No identifier names the product, the centre or the host the service runs on."""
    for event in parsed.events:
        assert str(uuid.UUID(str(event["UID"]))) == str(event["UID"])  # a bare UUID, no @domain
        assert str(event["ORGANIZER"]) == f"mailto:noreply@{domain}"
        assert "CN" not in event["ORGANIZER"].params
        assert str(event["ATTENDEE"]) == f"mailto:guest@{domain}"
    assert str(parsed.ical["PRODID"]) == "-//Calendar//Appointment//EN"
    for telling in ("trygg", "localhost", "8000", "stottesenter", "støttesenter", "@", "x-wr-calname:t"):
        body = parsed.raw.replace("\r\n ", "").lower()  # unfolded
        body = body.replace(f"noreply@{domain}", "").replace(f"guest@{domain}", "")
        assert telling not in body, telling


def test_invites_name_the_configured_domain_only(make_settings: Any) -> None:
    env = {"TRYGG_INVITE_DOMAIN": "Kalender.Example", "TRYGG_PUBLIC_URL": "https://stottesenter-nord.example"}
    with client_with(make_settings, **env) as other:
        desk = make_desk(other, "anna")
        day = ahead(DAY)
        desk.available("anna", [day.weekday()], "09:00", "10:00")
        visitor = new_visitor(other)
        booking = visitor.booked(at(day, "09:00"))
        assert_neutral_identifiers(
            parse_calendar(visitor.invite(booking["reference"]).content, "REQUEST"), "kalender.example"
        )
        staff = desk.staff["anna"].request("GET", f"/staff/bookings/{booking['reference']}/invite.ics")
        assert_neutral_identifiers(parse_calendar(staff.content, "REQUEST"), "kalender.example")
        assert_neutral_identifiers(
            parse_calendar(feed(other, new_feed(desk.staff["anna"])).content, "PUBLISH"), "kalender.example"
        )


def test_the_fuller_invite_names_the_centre_and_the_place(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    visitor = new_visitor(client)
    in_person = visitor.booked(at(day, "09:00"), kind="in_person", fuller_invite=True)
    assert in_person["fuller_invite"] is True
    parsed = parse_calendar(visitor.invite(in_person["reference"]).content, "REQUEST")
    assert str(parsed.event["SUMMARY"]) == f"Conversation with {CENTRE}"
    assert parsed.vobj.vevent.summary.value == f"Conversation with {CENTRE}"
    assert str(parsed.event["LOCATION"]) == ADDRESS
    assert parsed.vobj.vevent.location.value == ADDRESS
    assert parsed.event["ORGANIZER"].params["CN"] == CENTRE  # the visitor asked for the centre's name
    assert parsed.vobj.vevent.organizer.params["CN"] == [CENTRE]
    assert "trygg" not in parsed.raw.lower()
    assert "Consultation in person" in str(parsed.event["DESCRIPTION"])
    swedish = parse_calendar(visitor.invite(in_person["reference"], "sv").content, "REQUEST")
    assert str(swedish.event["SUMMARY"]) == f"Samtal med {CENTRE}"

    video = visitor.booked(at(day, "13:00"), kind="video", fuller_invite=True)
    parsed = parse_calendar(visitor.invite(video["reference"]).content, "REQUEST")
    assert "LOCATION" not in parsed.event
    assert str(parsed.event["URL"]) == VIDEO
    assert VIDEO in str(parsed.event["DESCRIPTION"])


# --- staff: invites, the list, the feed -------------------------------------------------------


def staff_list(person: Any) -> list[dict[str, Any]]:
    response = person.request("GET", "/api/staff/bookings")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["bookings"]
    return found


def test_staff_invites_and_the_bookings_list(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    visitor = new_visitor(client)
    payload = sealed(recipients=2)
    hers = visitor.booked(at(day, "09:00"), payload=payload)
    his_payload = sealed()
    bodils = visitor.booked(at(day, "13:00"), kind="video", payload=his_payload)
    anna, bodil = desk.staff["anna"], desk.staff["bodil"]

    invite = anna.request("GET", f"/staff/bookings/{hers['reference']}/invite.ics")
    assert invite.status_code == 200
    parsed = parse_calendar(invite.content, "REQUEST")
    assert str(parsed.event["SUMMARY"]) == f"Consultation by phone · {hers['reference']}"
    assert_neutral_identifiers(parsed)
    assert (
        parsed.event["UID"]
        == parse_calendar(visitor.invite(hers["reference"]).content, "REQUEST").event["UID"]
    )
    assert anna.request("GET", f"/staff/bookings/{bodils['reference']}/invite.ics").status_code == 403
    assert bodil.request("GET", f"/staff/bookings/{bodils['reference']}/invite.ics").status_code == 200
    assert desk.admin.request("GET", f"/staff/bookings/{hers['reference']}/invite.ics").status_code == 200
    assert anna.request("GET", "/staff/bookings/0000-0000/invite.ics").status_code == 404
    assert (
        desk.staff["ivan"].request("GET", f"/staff/bookings/{hers['reference']}/invite.ics").status_code
        == 403
    )
    anonymous = visitor.call("GET", f"/staff/bookings/{hers['reference']}/invite.ics", follow_redirects=False)
    assert anonymous.headers["location"] == "/staff/login"

    (mine,) = staff_list(anna)
    assert mine["reference"] == hers["reference"]
    assert mine["payload"] == b64(payload)
    assert mine["counsellor_name"] == "Anna"
    assert mine["from_chat"] is False
    (his,) = staff_list(bodil)
    assert his["payload"] == b64(his_payload)
    everyone = staff_list(desk.admin)
    assert {b["reference"] for b in everyone} == {hers["reference"], bodils["reference"]}
    assert all(b["payload"] is None for b in everyone)
    assert desk.staff["ivan"].request("GET", "/api/staff/bookings").json()["bookings"] == []  # none attached
    assert Visitor(client).call("GET", "/api/staff/bookings").status_code == 401

    assert visitor.cancel(hers["reference"]).status_code == 200
    cancelled = parse_calendar(
        anna.request("GET", f"/staff/bookings/{hers['reference']}/invite.ics").content, "CANCEL"
    )
    assert str(cancelled.event["STATUS"]) == "CANCELLED"
    assert int(cancelled.event["SEQUENCE"]) == 1


def feed(client: Client, token: str) -> Any:
    return Visitor(client).call("GET", f"/calendar/{token}.ics")


def test_the_calendar_feed(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    visitor = new_visitor(client)
    note = b"the visitor's secret note"
    kept = visitor.booked(at(day, "09:00"), payload=sealed() + note)
    dropped = visitor.booked(at(day, "13:00"))  # Bodil's: not in Anna's feed
    anna = desk.staff["anna"]
    token = new_feed(anna)
    assert "feed-url" not in anna.request("GET", "/staff/availability").text  # shown once only
    response = feed(client, token)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    parsed = parse_calendar(response.content, "PUBLISH")
    assert [str(e["SUMMARY"]) for e in parsed.events] == [f"Consultation by phone · {kept['reference']}"]
    assert str(parsed.ical["X-WR-CALNAME"]) == parsed.vobj.x_wr_calname.value == "Bookings"
    assert_neutral_identifiers(parsed)
    assert dropped["reference"] not in parsed.raw
    assert note.decode() not in parsed.raw
    assert b64(note) not in parsed.raw

    assert visitor.reschedule(kept["reference"], at(day + timedelta(days=7), "09:00")).status_code == 200
    assert visitor.cancel(kept["reference"]).status_code == 200
    (event,) = parse_calendar(feed(client, token).content, "PUBLISH").events
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 2
    assert str(event["UID"]) == str(
        parse_calendar(visitor.invite(kept["reference"]).content, "CANCEL").event["UID"]
    )

    fresh = new_feed(anna)
    assert feed(client, token).status_code == 404  # the old link stops working
    assert feed(client, fresh).status_code == 200
    revoked = anna.form("/staff/availability/feed/revoke", {}, token_from="/staff/availability")
    assert revoked.status_code == 303
    assert feed(client, fresh).status_code == 404
    for unknown in ("x" * 43, "short", "a" * 200, "..%2F..%2Fetc"):
        assert feed(client, unknown).status_code == 404
    assert desk.admin.form("/staff/availability/feed", {}, token_from="/staff/").status_code == 403


# --- the server never holds plaintext ---------------------------------------------------------


def everything_stored(client: Client) -> list[tuple[str, str, Any]]:
    """Every value of every row of every table, as (table, column, value)."""

    async def dump() -> list[tuple[str, str, Any]]:
        found = []
        async with client.res.db() as db:
            for table in Base.metadata.sorted_tables:
                for row in (await db.execute(select(table))).mappings():
                    found += [(table.name, column, value) for column, value in row.items()]
        return found

    return client.run(dump)


def test_the_payload_is_stored_as_sent_and_nothing_else_of_the_request(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    visitor = new_visitor(client)
    marker = uuid.uuid4().bytes
    payload = sealed(recipients=3) + marker
    booking = visitor.booked(at(day, "09:00"), kind="video", payload=payload, query="?lang=sv")
    (row,) = stored(client)
    assert row.payload == payload
    assert (row.kind, row.language, row.fuller_invite, row.same_counsellor) == ("video", "sv", False, False)
    assert row.reference == booking["reference"].replace("-", "")
    holding = [
        (table, column)
        for table, column, value in everything_stored(client)
        if isinstance(value, (bytes, str))
        and any(
            form in (value if isinstance(value, bytes) else value.encode())
            for form in (marker, marker.hex().encode(), b64(marker).encode(), b64(payload).encode())
        )
    ]
    assert holding == [("bookings", "payload")]
