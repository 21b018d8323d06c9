"""Simultaneous changes to one booking, through the visitor API, on SQLite and PostgreSQL.

Twenty rounds of each pair (move+move, move+cancel, cancel+cancel), two real requests
at the same moment.  Sent with the SEQUENCE the visitor saw, exactly one wins and the
other gets 409 `changed`; sent without it, both may win one after the other, but
SEQUENCE rises once per accepted change and the last answer is what the database holds.
Either way every answer a visitor got was true when it was given, and the invite agrees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from server.settings import Settings
from tests.booking_helpers import Desk, Visitor, ahead, at, make_desk, new_visitor, parse_calendar, stored
from tests.conftest import BASE_URL, Client

DAY = 7
ROUNDS = 20
A, B, C = "09:00", "10:15", "11:30"
PAIRS = {
    "move+move": (("move", B), ("move", C)),
    "move+cancel": (("move", B), ("cancel", None)),
    "cancel+cancel": (("cancel", None), ("cancel", None)),
}


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    """Hundreds of bookings and moves from one client: the limits are tested elsewhere."""
    env = {"TRYGG_BOOKINGS_PER_CLIENT_PER_HOUR": "10000", "TRYGG_BOOKINGS_PER_CODE_PER_HOUR": "10000"}
    result: Settings = make_settings(**env)
    return result


@pytest.fixture
def desk(client: Client) -> Desk:
    desk = make_desk(client, "anna")  # one counsellor: every move competes for the same person
    desk.available("anna", [ahead(DAY).weekday()], "09:00", "13:00")
    return desk


async def change(
    client: Client, visitor: Visitor, reference: str, action: str, clock: str | None, seen: int | None
) -> httpx.Response:
    body: dict[str, Any] = {} if seen is None else {"sequence": seen}
    if action == "move":
        assert clock is not None
        body["start"] = at(ahead(DAY), clock)
    transport = httpx.ASGITransport(app=client.app)
    headers = {"origin": BASE_URL, "authorization": f"Bearer {visitor.token}"}
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as http:
        path = f"/api/booking/bookings/{reference}/{'reschedule' if action == 'move' else 'cancel'}"
        return await http.post(path, json=body if body else None)


def both_at_once(
    client: Client, visitor: Visitor, reference: str, pair: str, seen: int | None
) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        first, second = PAIRS[pair]
        return list(
            await asyncio.gather(
                change(client, visitor, reference, *first, seen),
                change(client, visitor, reference, *second, seen),
            )
        )

    return client.run(run)


def check_against_database(client: Client, visitor: Visitor, reference: str, answer: dict[str, Any]) -> None:
    """The database, the visitor's list and the invite all say what the last accepted answer said."""
    (row,) = [b for b in stored(client) if b.reference == reference.replace("-", "")]
    assert (row.status, row.sequence) == (answer["status"], answer["sequence"])
    assert row.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ") == answer["start"]
    (listed,) = [b for b in visitor.mine() if b["reference"] == reference]
    assert listed == answer
    method = "CANCEL" if answer["status"] == "cancelled" else "REQUEST"
    event = parse_calendar(visitor.invite(reference).content, method).event
    assert int(event["SEQUENCE"]) == answer["sequence"]


def free_the_times(visitor: Visitor, reference: str, answer: dict[str, Any]) -> None:
    if answer["status"] == "confirmed":
        done = visitor.call(
            "POST", f"/api/booking/bookings/{reference}/cancel", {"sequence": answer["sequence"]}
        )
        assert done.status_code == 200, done.text


def rounds(client: Client, pair: str, versioned: bool) -> Iterator[tuple[Visitor, str, list[httpx.Response]]]:
    """ROUNDS fresh bookings, each changed by the pair at once; yields the two answers."""
    for _ in range(ROUNDS):
        visitor = new_visitor(client)
        booking = visitor.booked(at(ahead(DAY), A))
        seen = booking["sequence"] if versioned else None
        yield visitor, booking["reference"], both_at_once(client, visitor, booking["reference"], pair, seen)


@pytest.mark.parametrize("pair", list(PAIRS))
def test_with_the_seen_sequence_exactly_one_wins(client: Client, desk: Desk, pair: str) -> None:
    for visitor, reference, answers in rounds(client, pair, versioned=True):
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        (winner,) = [a.json()["booking"] for a in answers if a.status_code == 200]
        (loser,) = [a.json() for a in answers if a.status_code == 409]
        assert loser["error"] == "changed"
        assert loser["message"] == "This booking was changed in the meantime. Look at it again and try again."
        assert winner["sequence"] == 1
        check_against_database(client, visitor, reference, winner)
        free_the_times(visitor, reference, winner)


@pytest.mark.parametrize("pair", list(PAIRS))
def test_without_it_no_change_is_lost(client: Client, desk: Desk, pair: str) -> None:
    for visitor, reference, answers in rounds(client, pair, versioned=False):
        accepted = sorted(
            (a.json()["booking"] for a in answers if a.status_code == 200), key=lambda b: b["sequence"]
        )
        assert accepted, [a.text for a in answers]
        # One SEQUENCE per accepted change, none shared: the second change saw the first.
        assert [b["sequence"] for b in accepted] == list(range(1, len(accepted) + 1))
        for refused in (a.json() for a in answers if a.status_code != 200):
            assert refused["error"] in {"already_cancelled", "slot_taken"}, refused
        check_against_database(client, visitor, reference, accepted[-1])
        free_the_times(visitor, reference, accepted[-1])


def test_a_change_from_an_old_version_is_refused_and_changes_nothing(client: Client, desk: Desk) -> None:
    visitor = new_visitor(client)
    booking = visitor.booked(at(ahead(DAY), A))
    reference = booking["reference"]
    moved = visitor.call(
        "POST", f"/api/booking/bookings/{reference}/reschedule", {"start": at(ahead(DAY), B), "sequence": 0}
    )
    assert moved.status_code == 200
    for path, body in (
        ("reschedule", {"start": at(ahead(DAY), C), "sequence": 0}),
        ("cancel", {"sequence": 0}),
        ("cancel", {"sequence": 7}),
    ):
        stale = visitor.call("POST", f"/api/booking/bookings/{reference}/{path}", body)
        assert stale.status_code == 409
        assert stale.json()["error"] == "changed"
    for bad in ({"sequence": -1}, {"sequence": "1"}, {"sequence": True}, {"sequence": 1, "x": 1}):
        assert visitor.call("POST", f"/api/booking/bookings/{reference}/cancel", bad).status_code == 422
    check_against_database(client, visitor, reference, moved.json()["booking"])
