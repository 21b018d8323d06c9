"""Who is on duty, pushed as `presence` frames when it changes: sockets opening and closing,
a heartbeat that lapses (a process that died), deactivation; in one process and across two."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from server.models import StaffAccount, StaffPresence, utcnow
from server.services import presence
from tests.chat_helpers import (
    Centre,
    Socket,
    live_socket,
    staff_socket,
    start_visitor,
    two_processes,
)
from tests.conftest import BASE_URL, Client
from tests.services import need_redis


def names(frame: dict[str, Any]) -> list[str]:
    return [person["display_name"] for person in frame["on_duty"]]


def watch_queue(socket: Socket) -> dict[str, Any]:
    """Ask for the queue (so presence frames follow); the queue frame."""
    socket.send({"type": "queue", "ref": "q"})
    return socket.until("queue", ref="q")


def presence_becomes(socket: Socket, before: list[str], after: list[str]) -> None:
    """The next presence frames go from `before` to `after`: across processes an echo of the
    state already known (e.g. the watcher's own arrival, relayed through Redis after its queue
    frame) may come first; any other state in between is wrong."""
    for _ in range(10):
        now = names(socket.until("presence"))
        if now == after:
            return
        assert now == before, f"presence went to {now}, expected {before} -> {after}"
    raise AssertionError(f"presence never became {after}")


def opened(socket: Socket) -> None:
    """Wait until the server has registered this socket (it answers frames only after that)."""
    socket.send({"type": "ping", "ref": "up"})
    socket.until("pong", ref="up")


def settle(client: Client, centre: Centre, watcher: Socket) -> None:
    """Wait until `watcher` has handled every bus event published so far: a new visitor's
    queue event comes after them, and its queue frame after anything they sent."""
    start_visitor(client, BASE_URL, centre)
    watcher.until("queue")


def no_presence_since(watcher: Socket, mark: int) -> bool:
    return not [f for f in watcher.seen[mark:] if f["type"] == "presence"]


def account(client: Client, centre: Centre, name: str) -> StaffAccount:
    async def load() -> StaffAccount:
        async with client.res.db() as db:
            found = await db.get(StaffAccount, centre.staff[name].account_id)
        assert found is not None
        return found

    return client.run(load)


def test_sockets_opening_and_closing(client: Client, centre: Centre) -> None:
    with staff_socket(client, centre, "anna") as a_raw:
        anna = Socket(a_raw)
        assert names(watch_queue(anna)) == ["Anna"]
        with staff_socket(client, centre, "bodil") as first_tab:
            assert names(anna.until("presence")) == ["Anna", "Bodil"]
            mark = len(anna.seen)
            with (
                staff_socket(client, centre, "bodil") as second_tab,
                staff_socket(client, centre, "ivan") as i,
            ):
                opened(Socket(second_tab))
                opened(Socket(i))
                settle(client, centre, anna)
                # A second tab is not a second person, and an interpreter is not on the duty roster.
                assert no_presence_since(anna, mark)
            settle(client, centre, anna)
            assert no_presence_since(anna, mark)
            opened(Socket(first_tab))  # still open after the others closed
        # Her last socket closed: she is off duty at once (no waiting for a heartbeat to lapse).
        assert names(anna.until("presence")) == ["Anna"]
        assert names(watch_queue(anna)) == ["Anna"]


def test_a_lapsed_heartbeat_is_swept_and_pushed(client: Client, centre: Centre) -> None:
    """A socket on a process that died never says it closed; its heartbeat lapses instead."""
    with staff_socket(client, centre, "anna") as a_raw:
        anna = Socket(a_raw)
        watch_queue(anna)
        elsewhere = uuid.uuid4()  # bodil's socket on another process
        client.run(presence.opened, client.res, account(client, centre, "bodil"), elsewhere)
        assert names(anna.until("presence")) == ["Anna", "Bodil"]

        async def that_process_died() -> uuid.UUID:
            async with client.res.db.begin() as db:
                await db.execute(
                    update(StaffPresence)
                    .where(StaffPresence.connection_id == elsewhere)
                    .values(last_seen_at=utcnow() - presence.LAPSE - timedelta(seconds=1))
                )
                mine = await db.scalar(
                    select(StaffPresence.connection_id).where(
                        StaffPresence.staff_id == centre.staff["anna"].account_id
                    )
                )
            assert mine is not None
            return mine

        annas_socket = client.run(that_process_died)
        # Anna's next heartbeat (every 30 s; here at once) sweeps the row away and says so.
        client.run(presence.beat, client.res, {annas_socket: centre.staff["anna"].account_id})
        assert names(anna.until("presence")) == ["Anna"]

        async def rows() -> list[uuid.UUID]:
            async with client.res.db() as db:
                return list(await db.scalars(select(StaffPresence.staff_id)))

        assert client.run(rows) == [centre.staff["anna"].account_id]


class _ClosedMeanwhile(dict[uuid.UUID, uuid.UUID]):
    """A process's open staff sockets as the heartbeat sees them when one closes during the
    beat: listed when the beat starts, gone (and its row deleted) by the time it writes."""

    def __contains__(self, key: object) -> bool:
        return False


def test_the_heartbeat_writes_back_an_open_socket_never_a_closed_one(client: Client, centre: Centre) -> None:
    """One heartbeat per process (server/realtime/hub.py): a row missing at the beat is written
    again only for a socket still open; a socket leaves before its row is deleted."""
    anna_id = centre.staff["anna"].account_id
    swept, closed = uuid.uuid4(), uuid.uuid4()

    async def rows() -> set[uuid.UUID]:
        async with client.res.db() as db:
            return set(await db.scalars(select(StaffPresence.connection_id)))

    client.run(presence.beat, client.res, {swept: anna_id})  # swept while the process was busy
    assert client.run(rows) == {swept}
    client.run(presence.beat, client.res, _ClosedMeanwhile({closed: anna_id}))
    assert client.run(rows) == {swept}


def test_deactivation_and_reactivation(client: Client, centre: Centre) -> None:
    bodil_id = centre.staff["bodil"].account_id
    with staff_socket(client, centre, "anna") as a_raw, staff_socket(client, centre, "bodil") as b_raw:
        anna = Socket(a_raw)
        opened(Socket(b_raw))
        assert names(watch_queue(anna)) == ["Anna", "Bodil"]
        admin = centre.admin
        done = admin.form(f"/staff/admin/staff/{bodil_id}/deactivate", {}, token_from="/staff/admin/staff")
        assert done.status_code == 303
        assert names(anna.until("presence")) == ["Anna"]
        again = admin.form(f"/staff/admin/staff/{bodil_id}/reactivate", {}, token_from="/staff/admin/staff")
        assert again.status_code == 303
        assert names(anna.until("presence")) == ["Anna", "Bodil"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_presence_across_two_server_processes(tmp_path: Path, database_url: str) -> None:
    """Two real processes on one PostgreSQL and one Redis: sockets on one, the watcher on the other."""
    with ExitStack() as stack:
        one, two, centre = two_processes(stack, tmp_path, database_url, need_redis())
        anna = live_socket(stack, two.url, centre.staff["anna"].person.cookie_header())
        assert names(watch_queue(anna)) == ["Anna"]
        with ExitStack() as bodils:
            bodil = live_socket(bodils, one.url, centre.staff["bodil"].person.cookie_header())
            opened(bodil)
            presence_becomes(anna, ["Anna"], ["Anna", "Bodil"])
        presence_becomes(anna, ["Anna", "Bodil"], ["Anna"])
