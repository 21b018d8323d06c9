"""Interpreters' languages (admin form) and interpreters at consultations, on SQLite and PostgreSQL.

An admin records the languages an interpreter covers; a counsellor attaches an interpreter
to one of their bookings (POST /api/staff/bookings/{reference}/interpreter); the interpreter
then sees it in their list, their invite and their calendar feed — never the sealed details.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.models import AuditEvent, Booking, StaffAccount
from server.settings import Settings
from tests.booking_helpers import (
    Desk,
    Visitor,
    ahead,
    at,
    make_desk,
    new_feed,
    new_visitor,
    parse_calendar,
    sealed,
)
from tests.chat_helpers import Person
from tests.conftest import BASE_URL, Client

DAY = 7


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings(TRYGG_BOOKINGS_PER_CLIENT_PER_HOUR="1000")


@pytest.fixture
def desk(client: Client) -> Desk:
    """Anna works 09–12 on the test day, Bodil 13–14; Ivan and Jana interpret."""
    desk = make_desk(client, "anna", "bodil")
    desk.hire("ivan", role="interpreter")
    desk.hire("jana", role="interpreter")
    day = ahead(DAY)
    desk.available("anna", [day.weekday()], "09:00", "12:00")
    desk.available("bodil", [day.weekday()], "13:00", "14:00")
    return desk


def account(client: Client, account_id: uuid.UUID) -> StaffAccount:
    async def load() -> StaffAccount:
        async with client.res.db() as db:
            found = await db.get(StaffAccount, account_id)
            assert found is not None
            return found

    return client.run(load)


def languages_form(desk: Desk, account_id: uuid.UUID, value: str, by: Person | None = None) -> Any:
    person = by or desk.admin
    return person.form(
        f"/staff/admin/staff/{account_id}/languages", {"languages": value}, token_from="/staff/"
    )


# --- the admin's form ------------------------------------------------------------------------


def test_an_admin_records_an_interpreters_languages(client: Client, desk: Desk) -> None:
    ivan = desk.ids["ivan"]
    saved = languages_form(desk, ivan, " TI, am;ar  ti ")
    assert saved.status_code == 303
    assert account(client, ivan).interpreter_languages == "ti am ar"
    page = desk.admin.request("GET", "/staff/admin/staff")
    assert 'data-languages="ti am ar"' in page.text
    assert "ትግርኛ" in page.text
    assert f'action="/staff/admin/staff/{ivan}/languages"' in page.text
    assert f'action="/staff/admin/staff/{desk.ids["anna"]}/languages"' not in page.text  # counsellors: none

    async def audited() -> list[str]:
        async with client.res.db() as db:
            rows = await db.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == ivan))
            return list(rows)

    assert "account.languages" in client.run(audited)

    bad = languages_form(desk, ivan, "ti xx klingon")
    assert bad.status_code == 422
    assert 'id="form-error"' in bad.text
    assert "Not a language code from the list: xx, klingon." in bad.text
    assert account(client, ivan).interpreter_languages == "ti am ar"  # unchanged
    assert languages_form(desk, ivan, "ti " * 200).status_code == 422  # over 400 characters

    not_one = languages_form(desk, desk.ids["anna"], "ti")
    assert not_one.status_code == 422
    assert "Languages are recorded only for interpreters." in not_one.text
    assert account(client, desk.ids["anna"]).interpreter_languages == ""
    assert languages_form(desk, uuid.uuid4(), "ti").status_code == 404
    assert languages_form(desk, ivan, "so", by=desk.staff["anna"]).status_code == 403
    assert languages_form(desk, ivan, "so", by=desk.staff["ivan"]).status_code == 403

    assert languages_form(desk, ivan, "").status_code == 303  # cleared
    assert account(client, ivan).interpreter_languages == ""


# --- interpreters at consultations ------------------------------------------------------------


def attach(person: Person, reference: str, interpreter: uuid.UUID | None) -> Any:
    body = {"interpreter": interpreter.hex if interpreter else None}
    return person.api("POST", f"/api/staff/bookings/{reference}/interpreter", body)


def listed(person: Person) -> list[dict[str, Any]]:
    response = person.request("GET", "/api/staff/bookings")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["bookings"]
    return found


def feed_events(client: Client, token: str) -> list[Any]:
    response = Visitor(client).call("GET", f"/calendar/{token}.ics")
    assert response.status_code == 200
    return parse_calendar(response.content, "PUBLISH").events


def test_a_counsellor_attaches_an_interpreter_to_a_booking(client: Client, desk: Desk) -> None:
    day = ahead(DAY)
    visitor = new_visitor(client)
    hers = visitor.booked(at(day, "09:00"), payload=sealed() + b"needs Tigrinya")
    bodils = new_visitor(client).booked(at(day, "13:00"))
    anna, bodil, ivan = desk.staff["anna"], desk.staff["bodil"], desk.staff["ivan"]
    ivan_feed = new_feed(ivan)
    assert feed_events(client, ivan_feed) == []
    reference = hers["reference"]

    attached = attach(anna, reference, desk.ids["ivan"])
    assert attached.status_code == 200, attached.text
    booking = attached.json()["booking"]
    assert booking["reference"] == reference
    assert booking["interpreter_id"] == desk.ids["ivan"].hex
    assert booking["interpreter_name"] == "Ivan"
    assert booking["sequence"] == 1
    assert attach(anna, reference, desk.ids["ivan"]).json()["booking"]["sequence"] == 1  # no change
    (mine,) = [b for b in listed(anna) if b["reference"] == reference]
    assert mine["interpreter_name"] == "Ivan"
    assert mine["payload"] is not None

    # The interpreter: the booking in their list without the sealed details, the invite, the feed.
    (theirs,) = listed(ivan)
    assert theirs["reference"] == reference
    assert theirs["payload"] is None
    assert theirs["counsellor_name"] == "Anna"
    assert theirs["kind"] == "phone"
    invite = ivan.request("GET", f"/staff/bookings/{reference}/invite.ics")
    assert invite.status_code == 200
    event = parse_calendar(invite.content, "REQUEST").event
    assert int(event["SEQUENCE"]) == 1
    assert b"Tigrinya" not in invite.content
    assert ivan.request("GET", f"/staff/bookings/{bodils['reference']}/invite.ics").status_code == 403
    assert desk.staff["jana"].request("GET", f"/staff/bookings/{reference}/invite.ics").status_code == 403
    (in_feed,) = feed_events(client, ivan_feed)
    assert str(in_feed["UID"]) == str(event["UID"])
    assert listed(desk.staff["jana"]) == []

    # Only the booking's own counsellor; only an active interpreter; well-formed requests.
    assert attach(bodil, reference, desk.ids["jana"]).status_code == 403
    assert attach(ivan, reference, desk.ids["jana"]).status_code == 403
    assert attach(desk.admin, reference, desk.ids["jana"]).status_code == 403
    for not_an_interpreter in (desk.ids["bodil"], desk.ids["anna"], uuid.uuid4()):
        refused = attach(anna, reference, not_an_interpreter)
        assert refused.status_code == 422
        assert refused.json()["error"] == "not_an_interpreter"
    assert attach(anna, "0000-0000", desk.ids["jana"]).status_code == 404
    for body in ({"interpreter": "nope"}, {}, {"interpreter": 7}, {"interpreter": None, "x": 1}):
        response = anna.api("POST", f"/api/staff/bookings/{reference}/interpreter", body)
        assert response.status_code == 422, body
    no_token = anna.request(
        "POST",
        f"/api/staff/bookings/{reference}/interpreter",
        json={"interpreter": None},
        headers={"origin": BASE_URL},
    )
    assert no_token.status_code == 403  # CSRF
    deactivated = desk.admin.form(
        f"/staff/admin/staff/{desk.ids['jana']}/deactivate", {}, token_from="/staff/admin/staff"
    )
    assert deactivated.status_code == 303
    assert attach(anna, reference, desk.ids["jana"]).status_code == 422

    # Detaching takes it out of the interpreter's list, invite and feed; SEQUENCE goes up again.
    detached = attach(anna, reference, None)
    assert detached.status_code == 200
    assert detached.json()["booking"]["interpreter_id"] is None
    assert detached.json()["booking"]["sequence"] == 2
    assert listed(ivan) == []
    assert ivan.request("GET", f"/staff/bookings/{reference}/invite.ics").status_code == 403
    assert feed_events(client, ivan_feed) == []

    # Attached again, then the visitor cancels: the interpreter's feed shows it cancelled,
    # and a cancelled booking takes no interpreter.
    assert attach(anna, reference, desk.ids["ivan"]).json()["booking"]["sequence"] == 3
    assert visitor.cancel(reference).status_code == 200
    (cancelled,) = feed_events(client, ivan_feed)
    assert str(cancelled["STATUS"]) == "CANCELLED"
    refused = attach(anna, reference, None)
    assert refused.status_code == 409
    assert refused.json()["error"] == "already_cancelled"


def test_a_past_booking_takes_no_interpreter(client: Client, desk: Desk) -> None:
    reference = new_visitor(client).booked(at(ahead(DAY), "10:15"))["reference"]

    async def move_to_the_past() -> None:
        async with client.res.db.begin() as db:
            booking = await db.scalar(select(Booking).where(Booking.reference == reference.replace("-", "")))
            assert booking is not None
            booking.starts_at -= timedelta(days=DAY + 1)
            booking.ends_at -= timedelta(days=DAY + 1)

    client.run(move_to_the_past)
    refused = attach(desk.staff["anna"], reference, desk.ids["ivan"])
    assert refused.status_code == 409
    assert refused.json()["error"] == "past"


def test_an_interpreter_has_a_calendar_link_but_no_weekly_times(client: Client, desk: Desk) -> None:
    ivan = desk.staff["ivan"]
    page = ivan.request("GET", "/staff/availability")
    assert page.status_code == 200
    assert 'id="interpreter-calendar"' in page.text
    assert 'id="add-rule"' not in page.text
    added = ivan.form(
        "/staff/availability/rules",
        {"weekday": "1", "starts": "09:00", "ends": "12:00"},
        token_from="/staff/",
    )
    assert added.status_code == 403
    off = ivan.form(
        "/staff/availability/exceptions", {"first": "2030-01-01", "last": ""}, token_from="/staff/"
    )
    assert off.status_code == 403
    token = new_feed(ivan)
    revoked = ivan.form("/staff/availability/feed/revoke", {}, token_from="/staff/availability")
    assert revoked.status_code == 303
    assert Visitor(client).call("GET", f"/calendar/{token}.ics").status_code == 404
    # Never bookable: with no counsellor free on a day, no slots, whatever interpreters there are.
    response = Visitor(client).call("GET", f"/api/booking/slots?from={ahead(DAY + 1).isoformat()}&days=1")
    assert response.status_code == 200
    assert response.json()["days"] == []
