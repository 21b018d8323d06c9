"""Sessions on live connections: every staff websocket lives only as long as its session.

Logout, "Log out everywhere", a password change, a forced reset, deactivation, a role
change, and the session's idle and maximum age each close the session's sockets within a
second with their own close code (docs/API.md), and nothing is handled or sent after that
decision, not even a frame already read.  In one process (TestClient, SQLite and
PostgreSQL) and across two real server processes on PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed

from server.models import AuditEvent, Conversation, StaffSession
from server.realtime import events as bus_events
from server.services import accounts, staff_sessions
from tests.chat_helpers import (
    ORIGIN,
    PASSWORD,
    Browser,
    Centre,
    Person,
    Socket,
    claim_frame,
    live_socket,
    logged_in,
    staff_socket,
    staff_view,
    start_visitor,
    two_processes,
)
from tests.conftest import BASE_URL, Client
from tests.services import need_redis

pytestmark = pytest.mark.timeout(90)
NEW = "a brand new passphrase 7"


def browser(client: Client, username: str) -> Browser:
    person = Browser(client)
    person.login(username)
    return person


@contextmanager
def socket_of(client: Client, person: Person) -> Iterator[Socket]:
    """A websocket with this browser's cookies, registered by the server (it has answered a ping)."""
    client.cookies.clear()
    with client.websocket_connect("/ws", headers={"origin": ORIGIN, "cookie": person.cookie_header()}) as raw:
        socket = Socket(raw)
        answering(socket)
        yield socket


def answering(socket: Socket, ref: str = "up") -> None:
    socket.send({"type": "ping", "ref": ref})
    socket.until("pong", ref=ref)


def closed(socket: Socket, within: float = 1.0) -> tuple[int, list[dict[str, Any]]]:
    """The code the server closes `socket` with, and the frames that came before; within `within` s."""
    started = time.monotonic()
    frames = []
    try:
        while True:
            frames.append(socket.receive())
    except WebSocketDisconnect as close:
        code = close.code
    assert time.monotonic() - started < within, f"closed after {time.monotonic() - started:.2f} s"
    return code, frames


def audit_actions(client: Client, subject: uuid.UUID) -> list[str]:
    async def load() -> list[str]:
        async with client.res.db() as db:
            rows = await db.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == subject))
            return list(rows)

    return client.run(load)


# --- each cause, in one process -----------------------------------------------------------------


def test_logout_closes_the_sockets_of_that_session_only(client: Client) -> None:
    client.make_staff("cora", role="counsellor")
    laptop, phone = browser(client, "cora"), browser(client, "cora")
    with socket_of(client, laptop) as on_laptop, socket_of(client, phone) as on_phone:
        assert laptop.form("/staff/logout", {}, token_from="/staff/").status_code == 303
        assert closed(on_laptop)[0] == 4401
        answering(on_phone, "still")  # her other browser's session goes on


def test_a_closed_session_cookie_is_told_so_when_it_opens_a_socket(client: Client) -> None:
    client.make_staff("cora", role="counsellor")
    laptop = browser(client, "cora")
    cookie = laptop.cookie_header()
    laptop.form("/staff/logout", {}, token_from="/staff/")
    client.cookies.clear()
    with client.websocket_connect("/ws", headers={"origin": ORIGIN, "cookie": cookie}) as raw:
        socket = Socket(raw)
        socket.send({"type": "queue", "ref": "q"})
        assert closed(socket)[0] == 4401  # not 1008: the page learns it was logged out


def test_log_out_everywhere_ends_every_session_and_closes_every_socket(client: Client) -> None:
    cora = client.make_staff("cora", role="counsellor")
    client.make_staff("dag", role="counsellor")
    laptop, phone, colleague = browser(client, "cora"), browser(client, "cora"), browser(client, "dag")
    assert 'action="/staff/logout-everywhere"' in laptop.request("GET", "/staff/").text
    with (
        socket_of(client, laptop) as on_laptop,
        socket_of(client, phone) as on_phone,
        socket_of(client, colleague) as dags,
    ):
        # A form like every other: without its CSRF token it changes nothing.
        forged = phone.request("POST", "/staff/logout-everywhere", data={}, follow_redirects=False)
        assert forged.status_code == 403
        answering(on_laptop, "after-forgery")
        answer = laptop.form("/staff/logout-everywhere", {}, token_from="/staff/")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/staff/login"
        assert closed(on_laptop)[0] == 4402
        assert closed(on_phone)[0] == 4402
        answering(dags, "colleague")
    assert not logged_in(laptop)
    assert not logged_in(phone)
    assert logged_in(colleague)
    assert "account.logout_everywhere" in audit_actions(client, cora.account.id)


def test_a_password_change_closes_every_socket_of_the_account(client: Client) -> None:
    client.make_staff("cora", role="counsellor")
    laptop, phone = browser(client, "cora"), browser(client, "cora")
    with socket_of(client, laptop) as on_laptop, socket_of(client, phone) as on_phone:
        changed = laptop.form(
            "/staff/password",
            {"current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW},
        )
        assert changed.status_code == 303
        assert closed(on_phone)[0] == 4405
        assert closed(on_laptop)[0] == 4405  # its session was rotated: the page opens a new socket
    with socket_of(client, laptop) as again:
        answering(again, "new-session")


def test_a_forced_reset_closes_every_socket_of_the_account(client: Client) -> None:
    client.make_staff("admin")
    cora = client.make_staff("cora", role="counsellor")
    admin, laptop = browser(client, "admin"), browser(client, "cora")
    with socket_of(client, laptop) as on_laptop, socket_of(client, admin) as admins:
        reset = admin.form(f"/staff/admin/staff/{cora.account.id}/reset", {}, token_from="/staff/admin/staff")
        assert reset.status_code == 200
        assert closed(on_laptop)[0] == 4406
        answering(admins, "admin")


def test_a_role_change_closes_the_sockets_but_keeps_the_session(client: Client) -> None:
    admin = client.make_staff("admin")
    cora = client.make_staff("cora", role="counsellor")
    laptop = browser(client, "cora")
    with socket_of(client, laptop) as on_laptop:
        on_laptop.send({"type": "queue", "ref": "q"})
        on_laptop.until("queue", ref="q")
        client.run(accounts.set_role, client.res, admin.account, cora.account.id, "interpreter")
        assert closed(on_laptop)[0] == 4404
    assert "account.role_change" in audit_actions(client, cora.account.id)
    assert logged_in(laptop)  # the page loads again, now as an interpreter
    with socket_of(client, laptop) as again:
        again.send({"type": "queue", "ref": "q"})
        assert again.until("error", ref="q")["code"] == "forbidden"  # no queue for interpreters


def test_after_deactivation_nothing_is_answered_not_even_frames_already_read(
    client: Client, centre: Centre, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames that reach the server while it is still checking the session are held, then refused."""
    gate = client.run(make_gate)
    check_sessions = staff_sessions.session_states

    async def slow_check(res: Any, keys: Any) -> Any:
        await gate.wait()
        return await check_sessions(res, keys)

    monkeypatch.setattr(staff_sessions, "session_states", slow_check)
    waiting = start_visitor(client, BASE_URL, centre)
    anna_id = centre.staff["anna"].account_id
    with staff_socket(client, centre, "anna") as raw:
        anna = Socket(raw)
        anna.send({"type": "queue", "ref": "q"})
        assert waiting.id.hex in [item["conversation"] for item in anna.until("queue", ref="q")["items"]]
        anna.until("assignments")  # sent with the queue, before the deactivation
        answer = centre.admin.form(
            f"/staff/admin/staff/{anna_id}/deactivate", {}, token_from="/staff/admin/staff"
        )
        assert answer.status_code == 303
        anna.send({"type": "queue", "ref": "queue-after"})
        anna.send(claim_frame(staff_view(centre, "anna", waiting.genesis), waiting, ref="claim-after"))
        # A conversation started after the deactivation: the published directory still lists
        # her, so its queue epoch is wrapped to her too; the socket must not give it to her.
        later = start_visitor(client, BASE_URL, centre)
        anna.send({"type": "sync", "conversation": later.id.hex, "after": 0, "ref": "sync-after"})
        time.sleep(0.3)  # every frame above has reached the server and waits for the verdict
        client.run(open_gate, gate)
        code, frames = closed(anna)
    assert code == 4403
    assert frames == []  # no answer, and no push either (the new conversation's queue change)

    async def status() -> str:
        async with client.res.db() as db:
            found = await db.get(Conversation, waiting.id)
        assert found is not None
        return found.status

    assert client.run(status) == "queued"  # the claim was never made


async def make_gate() -> asyncio.Event:
    return asyncio.Event()


async def open_gate(gate: asyncio.Event) -> None:
    gate.set()


def test_deactivation_closes_the_socket_within_a_second(client: Client) -> None:
    client.make_staff("admin")
    cora = client.make_staff("cora", role="counsellor")
    admin, laptop = browser(client, "admin"), browser(client, "cora")
    with socket_of(client, laptop) as on_laptop:
        admin.form(f"/staff/admin/staff/{cora.account.id}/deactivate", {}, token_from="/staff/admin/staff")
        assert closed(on_laptop, within=1.0)[0] == 4403


# --- expiry by the clock --------------------------------------------------------------------


def move_clock(client: Client, seconds: float) -> None:
    """Let the websocket hub (only it) believe `seconds` more have passed."""
    client.res.hub.clock = lambda: time.time() + seconds


def last_seen(client: Client, account_id: uuid.UUID) -> float:
    async def load() -> float:
        async with client.res.db() as db:
            row = await db.scalar(select(StaffSession).where(StaffSession.account_id == account_id))
        assert row is not None
        return row.last_seen_at.timestamp()

    return client.run(load)


def test_a_socket_that_only_pings_is_idle_and_closes_at_idle_expiry(client: Client) -> None:
    client.make_staff("cora", role="counsellor")
    laptop = browser(client, "cora")
    idle = client.res.settings.session_idle_minutes * 60
    with socket_of(client, laptop) as on_laptop:
        on_laptop.send({"type": "queue", "ref": "q"})  # what a page asks by itself: not an action
        on_laptop.until("queue", ref="q")
        move_clock(client, idle - 30)
        answering(on_laptop, "ping-only")
        move_clock(client, idle + 5)
        assert closed(on_laptop, within=2.0)[0] == 4407


def test_acting_on_a_socket_keeps_the_session_alive_and_is_recorded(client: Client) -> None:
    cora = client.make_staff("cora", role="counsellor")
    laptop = browser(client, "cora")
    idle = client.res.settings.session_idle_minutes * 60
    with socket_of(client, laptop) as on_laptop:
        move_clock(client, idle - 30)
        # Typing is a person's action (refused here: no such conversation, but she typed).
        on_laptop.send({"type": "typing", "conversation": uuid.uuid4().hex, "ref": "t"})
        assert on_laptop.until("error", ref="t")["code"] == "forbidden"
        move_clock(client, idle + 30)
        time.sleep(1.2)  # two sweeps
        answering(on_laptop, "alive")
        # The action reached the session itself (a request from another tab would see it).
        assert last_seen(client, cora.account.id) > time.time() + idle - 60
    assert logged_in(laptop)


def test_the_maximum_session_age_closes_the_socket_whatever_it_does(client: Client) -> None:
    client.make_staff("cora", role="counsellor")
    laptop = browser(client, "cora")
    with socket_of(client, laptop) as on_laptop:
        move_clock(client, client.res.settings.session_max_hours * 3600 + 5)
        on_laptop.send({"type": "typing", "conversation": uuid.uuid4().hex})
        assert closed(on_laptop, within=2.0)[0] == 4408


def test_a_session_ended_without_an_event_is_found_by_the_periodic_check(client: Client) -> None:
    """Events can be lost (Redis unreachable): every session held is read again, at the latest
    every 30 s and at once when the bus says events were dropped."""
    cora = client.make_staff("cora", role="counsellor")
    laptop = browser(client, "cora")
    with socket_of(client, laptop) as on_laptop:

        async def end_silently() -> None:
            async with client.res.db.begin() as db:
                await db.execute(delete(StaffSession).where(StaffSession.account_id == cora.account.id))
            # What the Redis bus delivers when it reconnects: "events may have been dropped".
            await client.res.bus.publish(bus_events.staff_channel(cora.account.id), {"type": "overflow"})

        client.run(end_silently)
        assert closed(on_laptop, within=3.0)[0] == 4401


# --- two real processes -------------------------------------------------------------------------


def live_closed(socket: Socket, within: float = 1.0) -> int | None:
    started = time.monotonic()
    try:
        while True:
            socket.receive()
    except ConnectionClosed as close:
        code = close.rcvd.code if close.rcvd else None  # None: closed without a close frame
    assert time.monotonic() - started < within, f"closed after {time.monotonic() - started:.2f} s"
    return code


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_sessions_end_on_the_other_process_too(tmp_path: Path, database_url: str) -> None:
    """The admin acts on process one; the counsellors' sockets are on process two (PostgreSQL, Redis)."""
    with ExitStack() as stack:
        _, two, centre = two_processes(stack, tmp_path, database_url, need_redis())
        anna = live_socket(stack, two.url, centre.staff["anna"].person.cookie_header())
        bodil = live_socket(stack, two.url, centre.staff["bodil"].person.cookie_header())
        for socket in (anna, bodil):
            socket.send({"type": "ping", "ref": "up"})
            socket.until("pong", ref="up")
        anna_id = centre.staff["anna"].account_id
        answer = centre.admin.form(
            f"/staff/admin/staff/{anna_id}/deactivate", {}, token_from="/staff/admin/staff"
        )
        assert answer.status_code == 303
        assert live_closed(anna) == 4403
        bodil.send({"type": "ping", "ref": "still"})
        bodil.until("pong", ref="still")
        assert centre.staff["bodil"].person.form("/staff/logout", {}, token_from="/staff/").status_code == 303
        assert live_closed(bodil) == 4401
