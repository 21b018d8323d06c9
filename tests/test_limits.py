"""Limits that stop abuse without locking out the people they protect (issue 13), through HTTP.

Every test here comes from one address (the test client's), as twenty visitors behind a
shelter's Wi-Fi would.  Separate actions spend separate buckets; refused requests cost
nothing; a code that exists is judged by its own allowance, not by its address's.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from server.app import create_app
from server.settings import Settings, load_settings
from tests.booking_helpers import (
    EVERY_DAY,
    Desk,
    Visitor,
    ahead,
    at,
    b64,
    client_with,
    make_desk,
    new_code,
    new_visitor,
    slots,
    stored,
)
from tests.chat_helpers import Centre, build_centre, start_visitor
from tests.conftest import BASE_URL, Client, app_env
from tests.services import need_redis

DAY = 7


@pytest.fixture
def desk(client: Client) -> Desk:
    desk = make_desk(client, "anna", "bodil")
    desk.available("anna", EVERY_DAY, "08:00", "20:00")
    desk.available("bodil", EVERY_DAY, "08:00", "20:00")
    assert desk.policy(max_future_bookings=5).status_code == 303
    return desk


def wrong_code() -> dict[str, str]:
    return {"lookup": os.urandom(16).hex(), "verifier": b64(os.urandom(32))}


def spend_wrong_codes(client: Client, path: str) -> int:
    """Present codes that exist nowhere from this address until it is refused; returns how many."""
    for tries in range(10_000):
        answer = Visitor(client).call("POST", path, wrong_code())
        if answer.status_code == 429:
            assert answer.json()["message"].startswith("Too many attempts from this device.")
            return tries
        assert answer.status_code in (401, 404), answer.text
    raise AssertionError("never refused")


# --- booking ---------------------------------------------------------------------------------


def test_slot_taken_answers_do_not_count_against_the_booking_limit(client: Client, desk: Desk) -> None:
    """Was: 5 × 409 "slot taken", then a free slot got 429 for an hour."""
    day = ahead(DAY)
    for _ in range(2):  # both counsellors' 08:00 go to others: it is taken for everyone
        assert new_visitor(client).book(at(day, "08:00")).status_code == 201
    visitor = new_visitor(client)
    limit = client.res.settings.bookings_per_code_per_hour
    for _ in range(limit * 3):
        taken = visitor.book(at(day, "08:00"))
        assert taken.status_code == 409, taken.text
        assert taken.json()["error"] == "slot_taken"
        assert visitor.book(at(day, "08:10")).status_code == 422  # not a slot: costs nothing either
    booking = visitor.booked(at(day, "09:15"))  # 1
    for _ in range(limit * 2):  # a move counts only when it is made, too
        assert visitor.reschedule(booking["reference"], at(day, "08:00")).status_code == 409
    for clock in ("10:30", "11:45", "13:00"):  # 2, 3, 4
        assert visitor.reschedule(booking["reference"], at(day, clock)).status_code == 200
    assert visitor.book(at(day, "14:15")).status_code == 201  # 5
    refused = visitor.book(at(day, "15:30"))
    assert refused.status_code == 429
    assert refused.json()["message"].startswith("You have booked or moved as many times as allowed")
    assert new_visitor(client).book(at(day, "15:30")).status_code == 201  # the address is not blocked


def test_twenty_visitors_behind_one_address_do_not_lock_each_other_out(client: Client, desk: Desk) -> None:
    """Was: creating and guessing codes shared one bucket of 10 per address; the right code got 429."""
    visitors = [new_visitor(client) for _ in range(20)]  # twenty new codes from one address
    guesses = spend_wrong_codes(client, "/api/booking/access")  # someone there guesses codes
    assert guesses == client.res.settings.wrong_codes_per_client_per_hour
    for visitor in visitors:  # every real code still opens its bookings from that address
        answer = visitor.call("POST", "/api/booking/access", visitor.code, token="")
        assert answer.status_code == 200, answer.text
        visitor.token = answer.json()["token"]
    free = slots(client, ahead(DAY), days=4)
    assert len(free) >= 20
    for visitor, slot in zip(visitors, free, strict=False):  # and each books from that address
        assert visitor.book(slot["start"]).status_code == 201
    assert len(stored(client)) == 20
    assert new_visitor(client).token  # making a new code is its own bucket, still open


def test_a_code_that_exists_has_its_own_allowance_of_wrong_verifiers(client: Client, desk: Desk) -> None:
    visitor = new_visitor(client)
    limit = client.res.settings.wrong_codes_per_code_per_hour
    someone_elses_guess = {"lookup": visitor.code["lookup"], "verifier": b64(os.urandom(32))}
    for _ in range(limit):
        assert Visitor(client).call("POST", "/api/booking/access", someone_elses_guess).status_code == 401
    refused = Visitor(client).call("POST", "/api/booking/access", someone_elses_guess)
    assert refused.status_code == 429
    assert refused.json()["message"].startswith("Too many attempts with this code.")

    async def from_elsewhere() -> int:  # the code's allowance, whatever the address
        transport = httpx.ASGITransport(app=client.app, client=("203.0.113.9", 5000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            answer = await http.post(
                "/api/booking/access", json=someone_elses_guess, headers={"origin": BASE_URL}
            )
            return answer.status_code

    assert client.run(from_elsewhere) == 429
    # Other codes, and this address's allowance for unknown codes, are untouched.
    other = new_visitor(client)
    assert Visitor(client).call("POST", "/api/booking/access", other.code).status_code == 200
    assert Visitor(client).call("POST", "/api/booking/access", wrong_code()).status_code == 401


def test_new_codes_count_only_when_made(make_settings: Any) -> None:
    with client_with(make_settings, TRYGG_BOOKING_CODES_PER_CLIENT_PER_HOUR="3") as client:
        code = new_code()
        assert Visitor(client).call("POST", "/api/booking/holders", code).status_code == 201
        for _ in range(5):  # the same code again: refused, and free
            assert Visitor(client).call("POST", "/api/booking/holders", code).status_code == 409
        for _ in range(2):
            assert Visitor(client).call("POST", "/api/booking/holders", new_code()).status_code == 201
        refused = Visitor(client).call("POST", "/api/booking/holders", new_code())
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 3000
        # Using codes is another bucket: the three made still open their bookings.
        assert Visitor(client).call("POST", "/api/booking/access", code).status_code == 200


def test_one_ipv6_network_is_one_client(make_settings: Any) -> None:
    """A phone or a home line is given a whole IPv6 /64 and may use any address in it: counted
    address by address, one person walked past every per-client limit by changing address."""
    with client_with(make_settings, TRYGG_BOOKING_CODES_PER_CLIENT_PER_HOUR="3") as client:

        def make_code_from(address: str) -> int:
            async def run() -> int:
                transport = httpx.ASGITransport(app=client.app, client=(address, 5000))
                async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
                    answer = await http.post(
                        "/api/booking/holders", json=new_code(), headers={"origin": BASE_URL}
                    )
                    return answer.status_code

            return int(client.run(run))

        one_network = [f"2001:db8:7:8::{n:x}" for n in range(1, 5)] + ["2001:db8:7:8:ffff:1:2:3"]
        assert [make_code_from(address) for address in one_network] == [201, 201, 201, 429, 429]
        assert make_code_from("2001:db8:7:9::1") == 201  # the next /64 is someone else
        # An IPv4 client seen through an IPv6 socket is that IPv4 address.
        assert [make_code_from(a) for a in ("192.0.2.5", "::ffff:192.0.2.5", "192.0.2.5")] == [201, 201, 201]
        assert make_code_from("::ffff:192.0.2.5") == 429


def test_booking_codes_made_in_several_processes_share_one_count(tmp_path: Path, database_url: str) -> None:
    env = app_env(
        tmp_path / "data",
        database_url,
        TRYGG_REDIS_URL=need_redis(),
        TRYGG_BOOKING_CODES_PER_CLIENT_PER_HOUR="4",
    )
    apps = [create_app(load_settings(env)) for _ in range(2)]
    where = (f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7", 5000)  # Redis outlives the test

    with Client(apps[0], base_url=BASE_URL) as one, Client(apps[1], base_url=BASE_URL) as two:

        def burst(client: Client) -> list[int]:
            async def run() -> list[int]:
                transport = httpx.ASGITransport(app=client.app, client=where)
                async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
                    answers = await asyncio.gather(
                        *(
                            http.post("/api/booking/holders", json=new_code(), headers={"origin": BASE_URL})
                            for _ in range(10)
                        )
                    )
                return [a.status_code for a in answers]

            return client.run(run)

        statuses = burst(one) + burst(two)
        assert sorted(statuses) == [201] * 4 + [429] * 16


# --- conversations ---------------------------------------------------------------------------


@pytest.fixture
def few_chats(make_settings: Any) -> Settings:
    settings: Settings = make_settings(TRYGG_CONVERSATIONS_PER_CLIENT_PER_HOUR="2")
    return settings


def centre_for(client: Client) -> Centre:
    return build_centre(client, BASE_URL, lambda: client.make_staff("admin"), {"anna": "counsellor"})


def test_the_right_resume_code_is_never_refused_for_its_addresss_guesses(client: Client) -> None:
    centre = centre_for(client)
    chat = start_visitor(client, BASE_URL, centre)
    spend_wrong_codes(client, "/api/visitor/resume")
    body = {"lookup": chat.keys.lookup_id.hex(), "verifier": b64(chat.keys.access_verifier)}
    resumed = client.post("/api/visitor/resume", json=body, headers={"origin": BASE_URL})
    assert resumed.status_code == 200, resumed.text
    # The resume code also opens bookings, from the same address.
    assert Visitor(client).call("POST", "/api/booking/access", body).status_code == 200


def test_refused_conversations_do_not_count(few_chats: Settings) -> None:
    with Client(create_app(few_chats), base_url=BASE_URL) as client:
        centre = centre_for(client)
        first = start_visitor(client, BASE_URL, centre)
        again = {
            "conversation": first.conversation.conversation_id.hex(),
            "lookup": first.keys.lookup_id.hex(),
            "verifier": b64(first.keys.access_verifier),
            "state": b64(b"x" * 32),
            "genesis": b64(first.genesis),
            "language": "en",
        }
        for _ in range(5):  # the same conversation again: refused, and free
            assert (
                client.post(
                    "/api/visitor/conversations", json=again, headers={"origin": BASE_URL}
                ).status_code
                == 409
            )
        start_visitor(client, BASE_URL, centre)  # the second of two
        with pytest.raises(AssertionError, match="Too many attempts from this device"):
            start_visitor(client, BASE_URL, centre)
