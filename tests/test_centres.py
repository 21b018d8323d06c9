"""A network of centres in one installation (issue 16): resolution, the visitor's choice, the
network admin, and isolation between centres (every staff route and the websocket frames of
centre A refused at centre B), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route
from starlette.websockets import WebSocketDisconnect

from server.centres import CentreInfo
from server.models import Conversation
from server.services import network
from server.services.accounts import create_admin
from tests.chat_helpers import (
    OPEN_BOOKING_POLICY,
    ORIGIN,
    PASSWORD,
    Centre,
    Person,
    Socket,
    VisitorChat,
    build_centre,
    claim_frame,
    staff_view,
    start_visitor,
)
from tests.conftest import BASE_URL, Client

INVITE = re.compile(r'<code id="invite-link">([^<]+)</code>')


def add_centre(
    client: Client,
    slug: str,
    name: str,
    region: str = "",
    kind: str = "victim_support",
    host: str | None = None,
) -> CentreInfo:
    new = network.NewCentre(slug, name, region, kind, host)
    return client.run(network.create_centre, client.res, new, None)


def appoint(client: Client, centre: CentreInfo, username: str) -> None:
    """The centre's first admin: invited as a network admin would, and the invitation accepted."""
    link = client.run(network.appoint_first_admin, client.res, centre.id, username.title(), None)
    assert f"/c/{centre.slug}/staff/invite/" in link
    person = Person(client, ORIGIN)
    accepted = person.form(link, {"username": username, "password": PASSWORD, "password_again": PASSWORD})
    assert accepted.status_code == 303, accepted.text


# --- one centre: nothing changes -----------------------------------------------------------------


def test_one_centre_keeps_todays_front_page(client: Client) -> None:
    page = client.get("/en/")
    assert 'id="start-chat"' in page.text
    assert "centre-list" not in page.text
    assert "trygg-root" not in page.text
    assert client.get("/c/elsewhere/en/").status_code == 404


# --- resolution and the visitor's choice --------------------------------------------------------


def test_the_network_front_page_lists_filters_and_links_to_each_centre(client: Client) -> None:
    add_centre(client, "oslo", "Støttesenteret Oslo", "Oslo")
    add_centre(client, "bergen", "Senteret i Bergen", "Vestland", "sexual_abuse", host="bergen.example.org")
    page = client.get("/en/")
    assert page.status_code == 200
    listed = re.findall(r'<li class="centre" data-slug="([a-z-]+)">', page.text)
    assert listed == ["main", "oslo", "bergen"]
    assert 'href="/c/oslo/en/"' in page.text
    only_vestland = client.get("/en/", params={"region": "Vestland"}).text
    assert re.findall(r'data-slug="([a-z-]+)"', only_vestland) == ["bergen"]
    abuse = client.get("/en/", params={"kind": "sexual_abuse"}).text
    assert re.findall(r'data-slug="([a-z-]+)"', abuse) == ["bergen"]
    nothing = client.get("/en/", params={"region": "Nowhere"}).text
    assert 'id="no-centre"' in nothing
    chosen = client.get("/network/open-now", params={"lang": "en"}, follow_redirects=False)
    assert chosen.status_code == 303
    assert re.fullmatch(r"/c/[a-z]+/en/chat|/en/\?closed=1", chosen.headers["location"])


def test_a_centre_under_its_prefix_or_its_host_is_that_centre(client: Client) -> None:
    add_centre(client, "oslo", "Støttesenteret Oslo", "Oslo")
    add_centre(client, "bergen", "Senteret i Bergen", "Vestland", host="bergen.example.org")
    oslo = client.get("/c/oslo/en/")
    assert oslo.status_code == 200
    assert "Støttesenteret Oslo" in oslo.text
    assert 'href="/c/oslo/en/chat"' in oslo.text
    assert 'href="/en/chat"' not in oslo.text
    assert '<meta name="trygg-root" content="/c/oslo">' in oslo.text
    assert client.get("/c/oslo").status_code == 200  # the prefix alone is its front page
    assert client.get("/c/nowhere/en/").status_code == 404
    main = client.get("/c/main/en/")  # the first centre's own page, once / is the network's
    assert 'id="start-chat"' in main.text
    assert 'href="/c/main/en/chat"' in main.text
    bergen = client.get("/en/", headers={"host": "bergen.example.org"})
    assert "Senteret i Bergen" in bergen.text
    assert "centre-list" not in bergen.text
    assert client.get("/c/oslo/api/directory").status_code in (200, 404)  # never another centre's


def test_every_centre_page_names_the_network_and_its_national_number(make_settings: Any) -> None:
    from server.app import create_app

    settings = make_settings(TRYGG_NETWORK_NAME="Støttesentrene", TRYGG_NATIONAL_PHONE="116 006")
    with Client(create_app(settings), base_url=BASE_URL) as client:
        add_centre(client, "oslo", "Oslo")
        for path in ("/en/", "/c/oslo/en/", "/c/oslo/en/book"):
            text = client.get(path).text
            assert "Part of Støttesentrene." in text, path
            assert "National number: 116 006" in text, path


# --- the network admin -------------------------------------------------------------------------


def test_a_network_admin_creates_centres_appoints_admins_and_sees_only_counts(client: Client) -> None:
    client.run(create_admin, client.res, "nina", "Nina", PASSWORD, "en", True)
    nina = Person(client, ORIGIN)
    nina.login("nina")
    page = nina.request("GET", "/network/")
    assert page.status_code == 200
    assert 'data-slug="main"' in page.text
    made = nina.form(
        "/network/centres",
        {"slug": "tromso", "name": "Tromsø", "region": "Troms", "kind": "other"},
        token_from="/network/",
    )
    assert made.status_code == 200
    assert 'data-slug="tromso"' in made.text
    refused = nina.form("/network/centres", {"slug": "tromso", "name": "Again"}, token_from="/network/")
    assert refused.status_code == 409
    appointed = nina.form("/network/centres/tromso/admin", {"display_name": "Tove"}, token_from="/network/")
    link = INVITE.search(appointed.text)
    assert link
    assert "/c/tromso/staff/invite/" in link.group(1)
    # No role in any centre: no staff page, no keys, no certification, no anchors.
    for prefix in ("", "/c/tromso"):
        assert nina.request("GET", f"{prefix}/staff/").status_code == 403
        assert nina.request("GET", f"{prefix}/staff/admin/keys").status_code == 403
        key = {"sig_public": "A" * 43, "backup": "A" * 86}
        headers = {"x-csrf-token": nina.csrf("/network/"), "origin": ORIGIN}
        put = nina.request("PUT", f"{prefix}/api/admin/centre-key", json=key, headers=headers)
        assert put.status_code == 403
        assert nina.request("GET", f"{prefix}/api/admin/staff-keys", headers=headers).status_code == 403


def test_only_a_network_admin_opens_the_network_pages(client: Client) -> None:
    client.make_staff("admin")
    admin = Person(client, ORIGIN)
    admin.login("admin")
    assert admin.request("GET", "/network/").status_code == 403
    client.cookies.clear()
    assert client.get("/network/", follow_redirects=False).status_code == 303


# --- isolation: centre A's people against centre B ---------------------------------------------


@pytest.fixture
def two_centres(client: Client, centre: Centre) -> tuple[Centre, Centre, VisitorChat]:
    """Centre A (the first: admin, anna, bodil, ivan) with a visitor waiting, and centre B
    (/c/oslo: admin bea, counsellor carl), each with its own anchors and directory."""
    oslo = add_centre(client, "oslo", "Oslo")
    chat = start_visitor(client, BASE_URL, centre)
    b = build_centre(
        client, ORIGIN, lambda: appoint(client, oslo, "bea"), {"carl": "counsellor"}, "/c/oslo", "bea"
    )
    assert b.centre_id == oslo.id.bytes != centre.centre_id
    return centre, b, chat


PUBLIC = {
    "/health",
    "/csp-report",
    "/exit",
    "/",
    "/network/open-now",
    "/staff/login",
    "/staff/logout",
    "/api/openapi.json",
    "/api/directory",
}


def _paths(client: Client, chat: VisitorChat) -> list[tuple[str, str]]:
    """Every HTTP route (method, path) with its parameters filled in as centre A's things."""
    values = {
        "id": chat.id.hex,
        "conversation_id": chat.id.hex,
        "reference": "ABCD2345",
        "token": "x" * 43,
        "lang": "en",
        "slug": "main",
        "path": "x",
    }
    found = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route):
            continue
        path = re.sub(
            r"\{(\w+)(:\w+)?\}",
            lambda m: str(chat.id) if m.group(2) == ":uuid" else values.get(m.group(1), chat.id.hex),
            route.path,
        )
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                found.append((method, path))
    return found


def test_staff_of_one_centre_are_refused_on_every_staff_route_of_another(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:
    a, b, chat = two_centres
    people = {"admin": a.admin, **{name: member.person for name, member in a.staff.items()}}
    checked = 0
    for method, path in _paths(client, chat):
        if path in PUBLIC or not path.startswith(("/staff", "/api/staff", "/api/admin", "/network")):
            continue
        if path.startswith(("/staff/invite/", "/staff/reset/")):
            continue  # a link's own token is the credential there
        for name, person in people.items():
            answer = person.request(
                method,
                f"/c/oslo{path}",
                headers={"origin": ORIGIN, "x-csrf-token": person.csrf("/staff/login")},
                follow_redirects=False,
            )
            assert answer.status_code in (403, 404, 405), (name, method, path, answer.status_code)
            checked += 1
    assert checked > 40
    # ... and the other way round: B's admin and counsellor at A.
    for person in (b.admin, b.staff["carl"].person):
        home = Person(client, ORIGIN)
        home.jar = person.jar
        assert home.request("GET", "/staff/admin/staff").status_code == 403
        assert (
            home.request("GET", "/api/staff/bookings", headers={"accept": "application/json"}).status_code
            == 403
        )


def test_a_visitors_token_works_only_at_its_own_centre(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:
    _, _, chat = two_centres
    bearer = {"authorization": f"Bearer {chat.token}", "origin": ORIGIN}
    client.cookies.clear()
    assert client.get("/api/visitor/queue", headers=bearer).status_code == 200
    assert client.get("/c/oslo/api/visitor/queue", headers=bearer).status_code == 401
    assert client.post("/c/oslo/api/visitor/conversation/end", headers=bearer).status_code == 401
    assert client.delete("/c/oslo/api/visitor/conversation?bookings=keep", headers=bearer).status_code == 401
    with client.websocket_connect("/c/oslo/ws", headers={"origin": ORIGIN}) as raw:
        socket = Socket(raw)
        socket.send({"type": "hello", "token": chat.token, "ref": "h"})
        assert socket.until("error", ref="h")["code"] == "unauthorized"


def test_websocket_frames_of_one_centre_cannot_reach_another_centres_conversations(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:
    a, b, chat = two_centres
    anna = staff_view(a, "anna", chat.genesis)
    # B's counsellor on B's socket: A's queue is not B's, A's conversation is not there.
    client.cookies.clear()
    with client.websocket_connect(
        "/c/oslo/ws", headers={"origin": ORIGIN, "cookie": b.staff["carl"].person.cookie_header()}
    ) as raw:
        carl = Socket(raw)
        carl.send({"type": "queue", "ref": "q"})
        assert carl.until("queue", ref="q")["items"] == []
        carl.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "s"})
        assert carl.until("error", ref="s")["code"] in ("forbidden", "not_found")
        carl.send(claim_frame(anna, chat, "c"))  # a well-formed claim, made by someone else
        assert carl.until("error", ref="c")["code"] in (
            "forbidden",
            "not_found",
            "not_allowed",
            "bad_message",
        )
    # A's counsellor on B's socket has no staff powers there at all: her cookie counts for
    # nothing at B, so the socket ends as a stale session's does, or refuses every staff frame.
    with client.websocket_connect(
        "/c/oslo/ws", headers={"origin": ORIGIN, "cookie": a.staff["anna"].person.cookie_header()}
    ) as raw:
        stray = Socket(raw)
        try:
            stray.send({"type": "queue", "ref": "q"})
            assert stray.until("error", ref="q")["code"] in ("forbidden", "unauthorized")
            stray.send(claim_frame(anna, chat, "c"))
            assert stray.until("error", ref="c")["code"] in ("forbidden", "unauthorized")
        except WebSocketDisconnect:
            pass

    async def still_queued() -> str:
        async with client.res.db() as db:
            found = await db.get(Conversation, chat.id)
            assert found is not None
            return found.status

    assert client.run(still_queued) == "queued"
    # A's own counsellor, at A, still can.
    client.cookies.clear()
    with client.websocket_connect(
        "/ws", headers={"origin": ORIGIN, "cookie": a.staff["anna"].person.cookie_header()}
    ) as raw:
        home = Socket(raw)
        home.send({"type": "queue", "ref": "q"})
        assert [item["conversation"] for item in home.until("queue", ref="q")["items"]] == [chat.id.hex]


def test_new_rows_belong_to_the_centre_they_were_made_at(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:
    a, b, chat = two_centres
    oslo_chat = start_visitor(client, BASE_URL, b, prefix="/c/oslo")

    async def centres_of() -> dict[uuid.UUID, uuid.UUID]:
        async with client.res.db() as db:
            return {
                c.id: c.centre_id
                for c in [await db.get(Conversation, chat.id), await db.get(Conversation, oslo_chat.id)]
                if c
            }

    found = client.run(centres_of)
    assert found[chat.id].bytes == a.centre_id
    assert found[oslo_chat.id].bytes == b.centre_id


def test_the_command_line_creates_lists_and_staffs_centres(tmp_path: Path) -> None:
    env = {**os.environ, "TRYGG_DATA_DIR": str(tmp_path), "TRYGG_PASSWORD_HASHING": "fast-insecure-for-tests"}
    env.pop("DATABASE_URL", None)

    def trygg(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = trygg(
        "centre", "create", "--slug", "oslo", "--name", "Oslo", "--region", "Oslo", "--first-admin", "Olga"
    )
    assert made.returncode == 0, made.stderr
    assert "/c/oslo/staff/invite/" in made.stdout
    listed = trygg("centre", "list").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["main", "oslo"]
    again = trygg("centre", "create", "--slug", "oslo", "--name", "Again")
    assert again.returncode == 1
    assert "short name" in again.stderr
    assert trygg("centre", "appoint-admin", "--slug", "nowhere", "--display-name", "X").returncode == 1


def test_the_limit_on_new_chats_from_one_address_counts_per_centre(make_settings: Any) -> None:
    from server.app import create_app

    settings = make_settings(TRYGG_CONVERSATIONS_PER_CLIENT_PER_HOUR="1")
    with Client(create_app(settings), base_url=BASE_URL) as client:
        a = build_centre(client, ORIGIN, lambda: client.make_staff("admin"), {"anna": "counsellor"})
        oslo = add_centre(client, "oslo", "Oslo")
        b = build_centre(
            client, ORIGIN, lambda: appoint(client, oslo, "bea"), {"carl": "counsellor"}, "/c/oslo", "bea"
        )
        start_visitor(client, BASE_URL, a)
        with pytest.raises(AssertionError, match="too_many_requests"):
            start_visitor(client, BASE_URL, a)  # this address has used centre A's allowance ...
        start_visitor(client, BASE_URL, b, prefix="/c/oslo")  # ... and still has centre B's


def test_an_admin_of_one_centre_cannot_touch_another_centres_staff_invites_or_bookings(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:

    from server.models import StaffAccount

    a, b, _ = two_centres
    anna = a.staff["anna"].account_id
    pending = a.admin.form(
        "/staff/admin/invites",
        {"role": "counsellor", "display_name": "Dina"},
        token_from="/staff/admin/staff",
    )
    invite_id = re.search(r"/staff/admin/invites/([0-9a-f-]{36})/revoke", pending.text)
    assert invite_id

    reference = booked_directly(client, uuid.UUID(bytes=a.centre_id), "ABCD2345", anna)
    bea = b.admin
    staff_page = bea.request("GET", "/staff/admin/staff").text
    assert "Anna" not in staff_page
    assert "Dina" not in staff_page  # A's open invitation is not listed at B
    token_from = "/staff/admin/staff"
    for action in ("deactivate", "reset", "languages"):
        answer = bea.form(f"/staff/admin/staff/{anna}/{action}", {"languages": "ar"}, token_from=token_from)
        assert answer.status_code == 404, (action, answer.status_code)
    assert (
        bea.form(f"/staff/admin/invites/{invite_id.group(1)}/revoke", {}, token_from=token_from).status_code
        == 404
    )
    listed = bea.api("GET", "/api/staff/bookings").json()
    assert listed["bookings"] == []  # B has none, and A's is not B's
    assert bea.request("GET", f"/staff/bookings/{reference}/invite.ics").status_code in (403, 404)

    async def anna_is_untouched() -> bool:
        async with client.res.db() as db:
            account = await db.get(StaffAccount, anna)
            return account is not None and account.is_active

    assert client.run(anna_is_untouched)
    # A's own admin still sees all of it.
    assert "Dina" in a.admin.request("GET", "/staff/admin/staff").text
    assert [x["reference"] for x in a.admin.api("GET", "/api/staff/bookings").json()["bookings"]] == [
        "ABCD-2345"
    ]


def test_open_now_and_the_first_open_centre_follow_each_centres_own_hours(client: Client) -> None:
    from datetime import time

    from server.models import CURRENT_CENTRE
    from server.services.centre import DayHours, set_opening_hours

    first = client.run(client.res.centres.first)
    oslo = add_centre(client, "oslo", "Oslo", "Oslo")
    bergen = add_centre(client, "bergen", "Bergen", "Vestland")
    admin = client.make_staff("admin").account
    closed = [DayHours(day, None, None) for day in range(7)]
    always = [DayHours(day, time(0, 0), time(23, 59, 59)) for day in range(7)]

    async def set_all() -> None:
        for centre, days in ((first, closed), (oslo, closed), (bergen, always)):
            token = CURRENT_CENTRE.set(centre.id)
            try:
                await set_opening_hours(client.res, admin, days)
            finally:
                CURRENT_CENTRE.reset(token)

    client.run(set_all)
    page = client.get("/en/").text
    states = re.findall(r'data-slug="([a-z-]+)">.*?<p class="status (open|closed)"', page, re.S)
    assert states == [("main", "closed"), ("oslo", "closed"), ("bergen", "open")]
    assert 'id="first-open"' in page
    chosen = client.get("/network/open-now", params={"lang": "nb"}, follow_redirects=False)
    assert chosen.headers["location"] == "/c/bergen/nb/chat"
    assert client.get("/c/bergen/nb/chat").status_code == 200


def test_an_interpreter_can_be_enabled_at_a_second_centre(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:
    from server.models import CentreStaff

    a, b, _ = two_centres
    ivan = a.staff["ivan"]
    counsellor = b.staff["carl"].person
    assert "Ivan" not in str(counsellor.api("GET", "/api/staff/interpreters").json())

    async def enable() -> None:
        async with client.res.db.begin() as db:
            db.add(
                CentreStaff(
                    centre_id=uuid.UUID(bytes=b.centre_id), staff_id=ivan.account_id, role="interpreter"
                )
            )

    client.run(enable)
    assert "Ivan" in str(counsellor.api("GET", "/api/staff/interpreters").json())
    # One login: the same session works at both centres, each with its own page.
    at_b = Person(client, ORIGIN, "/c/oslo")
    at_b.jar = ivan.person.jar
    assert at_b.request("GET", "/staff/interpret").status_code == 200
    assert ivan.person.request("GET", "/staff/interpret").status_code == 200


def test_on_the_websocket_a_login_acts_in_its_role_at_that_centre(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:
    from server.models import CentreStaff

    a, b, _ = two_centres
    carl = b.staff["carl"]  # a counsellor at Oslo, and (from now) an interpreter at the first centre

    async def enable() -> None:
        async with client.res.db.begin() as db:
            db.add(
                CentreStaff(
                    centre_id=uuid.UUID(bytes=a.centre_id), staff_id=carl.account_id, role="interpreter"
                )
            )

    client.run(enable)
    cookie = {"origin": ORIGIN, "cookie": carl.person.cookie_header()}
    client.cookies.clear()
    with client.websocket_connect("/ws", headers=cookie) as raw:
        at_a = Socket(raw)
        at_a.send({"type": "queue", "ref": "q"})
        assert at_a.until("error", ref="q")["code"] == "forbidden"  # an interpreter takes no one
        at_a.send({"type": "assignments", "ref": "l"})
        assert at_a.until("assignments", ref="l")["items"] == []
    with client.websocket_connect("/c/oslo/ws", headers=cookie) as raw:
        at_b = Socket(raw)
        at_b.send({"type": "queue", "ref": "q"})
        assert at_b.until("queue", ref="q")["items"] == []  # a counsellor at home


def test_a_centre_admin_cannot_see_or_touch_the_network_admin(client: Client) -> None:
    nina = client.run(create_admin, client.res, "nina", "Nina", PASSWORD, "en", True)
    client.make_staff("admin")
    admin = Person(client, ORIGIN)
    admin.login("admin")
    assert "Nina" not in admin.request("GET", "/staff/admin/staff").text
    for action in ("deactivate", "reset"):
        answer = admin.form(f"/staff/admin/staff/{nina.id}/{action}", {}, token_from="/staff/admin/staff")
        assert answer.status_code == 404, action
    Person(client, ORIGIN).login("nina")  # still works


def test_a_visitor_books_at_the_second_centre_with_its_own_counsellors_and_rules(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:
    import base64
    import os
    from datetime import date, timedelta

    a, b, _ = two_centres

    def b64u(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    assert b.admin.form("/staff/admin/booking", OPEN_BOOKING_POLICY).status_code == 303
    for weekday in range(7):
        answer = b.staff["carl"].person.form(
            "/staff/availability/rules",
            {"weekday": str(weekday), "starts": "08:00", "ends": "20:00"},
            token_from="/staff/availability",
        )
        assert answer.status_code == 303, answer.text
    client.cookies.clear()
    headers = {"origin": ORIGIN}
    options_a = client.get("/api/booking/options", headers=headers).json()
    options_b = client.get("/c/oslo/api/booking/options", headers=headers).json()
    assert options_a != options_b  # each centre its own rules
    code = {"lookup": os.urandom(16).hex(), "verifier": b64u(os.urandom(32))}
    token = client.post("/c/oslo/api/booking/holders", json=code, headers=headers).json()["token"]
    bearer = {"authorization": f"Bearer {token}", "origin": ORIGIN}
    day = (date.today() + timedelta(days=3)).isoformat()
    free_b = client.get(f"/c/oslo/api/booking/slots?from={day}&days=7", headers=bearer).json()["days"]
    assert any(d["slots"] for d in free_b)
    free_a = client.get(f"/api/booking/slots?from={day}&days=7", headers=bearer).json()["days"]
    assert not any(d["slots"] for d in free_a)  # Carl's times are Oslo's, not the first centre's
    booked = client.post(
        "/c/oslo/api/booking/bookings",
        json={
            "start": next(d for d in free_b if d["slots"])["slots"][0]["start"],
            "kind": "phone",
            "payload": b64u(bytes([2, 1]) + os.urandom(96 + 12 + 16 + 20)),
            "fuller_invite": False,
            "same_counsellor": False,
        },
        headers=bearer,
    )
    assert booked.status_code == 201, booked.text
    reference = booked.json()["booking"]["reference"]
    mine_b = client.get("/c/oslo/api/booking/bookings", headers=bearer).json()
    assert reference in str(mine_b)
    assert reference not in str(client.get("/api/booking/bookings", headers=bearer).json())
    assert reference in str(b.staff["carl"].person.api("GET", "/api/staff/bookings").json())
    assert reference not in str(a.admin.api("GET", "/api/staff/bookings").json())


def test_a_counsellor_cannot_attach_another_centres_interpreter_to_a_booking(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:
    """Attaching an interpreter asks for their role at this centre, not at their home centre."""

    from server.models import CentreStaff

    a, b, _ = two_centres
    carl, ivan = b.staff["carl"], a.staff["ivan"]

    booked_directly(client, uuid.UUID(bytes=b.centre_id), "WXYZ2345", carl.account_id)
    path = "/api/staff/bookings/WXYZ2345/interpreter"
    refused = carl.person.api("POST", path, {"interpreter": ivan.account_id.hex})
    assert refused.status_code == 422, refused.text  # Ivan interprets at A only

    async def enable() -> None:
        async with client.res.db.begin() as db:
            db.add(
                CentreStaff(
                    centre_id=uuid.UUID(bytes=b.centre_id), staff_id=ivan.account_id, role="interpreter"
                )
            )

    client.run(enable)
    attached = carl.person.api("POST", path, {"interpreter": ivan.account_id.hex})
    assert attached.status_code == 200, attached.text


def test_a_network_admin_cannot_appoint_herself_an_admin_of_a_centre_that_has_one(client: Client) -> None:
    """Appointing is for a centre's *first* admin: an invitation to a centre that already has an
    administrator would give the network admin (who holds the link) that centre's admin pages."""
    client.make_staff("admin")  # the first centre's own admin
    client.run(create_admin, client.res, "nina", "Nina", PASSWORD, "en", True)
    add_centre(client, "oslo", "Oslo")
    nina = Person(client, ORIGIN)
    nina.login("nina")
    refused = nina.form("/network/centres/main/admin", {"display_name": "Nina Too"}, token_from="/network/")
    assert refused.status_code == 409, refused.status_code
    assert not INVITE.search(refused.text)
    first = nina.form("/network/centres/oslo/admin", {"display_name": "Olga"}, token_from="/network/")
    link = INVITE.search(first.text)
    assert link  # a centre with no admin yet: its first one
    accepted = Person(client, ORIGIN).form(
        link.group(1), {"username": "olga", "password": PASSWORD, "password_again": PASSWORD}
    )
    assert accepted.status_code == 303
    again = nina.form("/network/centres/oslo/admin", {"display_name": "Nina Too"}, token_from="/network/")
    assert again.status_code == 409


def booked_directly(client: Client, centre_id: uuid.UUID, reference: str, counsellor: uuid.UUID) -> str:
    """A phone booking with `counsellor` at a centre, three days ahead, written to the database
    as the booking service would leave it (its sealed details stand in as opaque bytes)."""
    from server.models import Booking, BookingHolder

    async def book() -> None:
        starts = datetime.now(UTC) + timedelta(days=3)
        async with client.res.db.begin() as db:
            holder = BookingHolder()
            db.add(holder)
            await db.flush()
            db.add(
                Booking(
                    centre_id=centre_id,
                    reference=reference,
                    holder_id=holder.id,
                    counsellor_id=counsellor,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=1),
                    kind="phone",
                    payload=b"x" * 200,
                )
            )

    client.run(book)
    return reference
