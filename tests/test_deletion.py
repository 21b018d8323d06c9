""" "Delete everything": the deleted bytes leave the database files, and the chat's bookings are let go.

Conversations are made over the real HTTP API and websocket with the Python protocol, then
deleted with DELETE /api/visitor/conversation.  On SQLite the test reads the raw database
file, its -wal and its -shm; on PostgreSQL it reads every tuple and index entry of the
tables the deletion touched (pageinspect).  Both backends run every test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from crypto.constants import ObjectType
from server.models import BookingHolder, Conversation, ConversationMessage, VisitorToken
from server.services.conversations import ERASED_BY_DELETION
from server.settings import Settings
from tests.booking_helpers import (
    Desk,
    Visitor,
    ahead,
    at,
    desk_of,
    new_visitor,
    parse_calendar,
    slots,
    stored,
)
from tests.chat_helpers import (
    Centre,
    Socket,
    VisitorChat,
    b64,
    build_centre,
    claim_frame,
    hello,
    receive_all,
    send_frame,
    staff_socket,
    staff_view,
    start_visitor,
    visitor_socket,
)
from tests.chat_helpers import text as encrypted
from tests.conftest import BASE_URL, Client

DAY = 7


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings(TRYGG_BOOKINGS_PER_CLIENT_PER_HOUR="1000")


@pytest.fixture
def centre(client: Client) -> Centre:
    return build_centre(
        client, BASE_URL, lambda: client.make_staff("admin"), {"anna": "counsellor", "bodil": "counsellor"}
    )


@pytest.fixture
def desk(client: Client, centre: Centre) -> Desk:
    """Anna is bookable 09–12 on the test day."""
    desk = desk_of(client, centre)
    desk.available("anna", [ahead(DAY).weekday()], "09:00", "12:00")
    return desk


@pytest.fixture
def chat(client: Client, centre: Centre) -> VisitorChat:
    return start_visitor(client, BASE_URL, centre)


def delete(client: Client, token: str, query: str = "", **kw: Any) -> Any:
    client.cookies.clear()
    headers = {"authorization": f"Bearer {token}", "origin": BASE_URL}
    return client.request("DELETE", f"/api/visitor/conversation{query}", headers=headers, **kw)


# --- the bytes ----------------------------------------------------------------------------------


def converse(client: Client, centre: Centre, chat: VisitorChat) -> None:
    """The visitor writes while queued, Anna claims and answers, the visitor writes again."""
    anna = staff_view(centre, "anna", chat.genesis)
    with visitor_socket(client) as v_raw, staff_socket(client, centre, "anna") as a_raw:
        visitor, counsellor = Socket(v_raw), Socket(a_raw)
        hello(visitor, chat)
        for socket in (visitor, counsellor):
            socket.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
            socket.until("synced")
        for n in range(3):
            words = f"visitor secret number {n} " * 8
            visitor.send(send_frame(chat, encrypted(chat.conversation, words), ref=f"v{n}"))
            visitor.until("ack", ref=f"v{n}")
            receive_all(chat.conversation, visitor.messages(chat.id, 1))  # its own, echoed: the new head
        receive_all(anna, counsellor.messages(chat.id, 3))
        counsellor.send(claim_frame(anna, chat))
        counsellor.until("ack", ref="c")
        receive_all(anna, counsellor.messages(chat.id, 1))  # her own commit: now in the new epoch
        receive_all(chat.conversation, visitor.messages(chat.id, 1))
        counsellor.send(send_frame(chat, encrypted(anna, "counsellor's answer " * 8), ref="a1"))
        counsellor.until("ack", ref="a1")
        receive_all(chat.conversation, visitor.messages(chat.id, 1))
        visitor.send(send_frame(chat, encrypted(chat.conversation, "one more " * 8), ref="v9"))
        visitor.until("ack", ref="v9")
        visitor.send({"type": "receipt", "conversation": chat.id.hex, "delivered": 6, "read": 6})


def pieces(name: str, value: bytes, size: int = 24) -> dict[str, bytes]:
    """Windows of an encrypted value past its header: a TOASTed or overflowing value is split up."""
    return {
        f"{name} at {offset}": value[offset : offset + size] for offset in range(96, len(value) - size, size)
    }


def what_deletion_destroys(client: Client, conversation_id: uuid.UUID, tokens: int = 1) -> dict[str, bytes]:
    """Every stored value that belongs to the conversation alone, as the bytes a file would hold."""

    async def load() -> dict[str, bytes]:
        async with client.res.db() as db:
            conversation = await db.get(Conversation, conversation_id)
            assert conversation is not None
            assert conversation.resume_lookup
            assert conversation.verifier_hash
            assert conversation.visitor_state
            assert conversation.last_hash
            found = {
                "visitor state": conversation.visitor_state,
                **pieces("visitor state", conversation.visitor_state),
                "resume lookup": conversation.resume_lookup.encode(),
                "verifier hash": conversation.verifier_hash.encode(),
                "last hash": conversation.last_hash,
            }
            messages = await db.scalars(
                select(ConversationMessage).where(ConversationMessage.conversation_id == conversation_id)
            )
            for message in messages:
                found[f"message {message.seq}"] = message.body
                found[f"message {message.seq} hash"] = message.message_hash
                if message.kind == ObjectType.APPLICATION:  # only ciphertext is sure to be nowhere else
                    found.update(pieces(f"message {message.seq}", message.body))
            tokens = await db.scalars(
                select(VisitorToken.token_hash).where(VisitorToken.conversation_id == conversation_id)
            )
            for number, token_hash in enumerate(tokens):
                found[f"token hash {number}"] = token_hash.encode()
        return found

    found = client.run(load)
    assert sum(name.startswith("token hash") for name in found) == tokens
    assert sum(name.endswith(" hash") and name.startswith("message") for name in found) == 7
    return found


def sqlite_files(settings: Settings) -> dict[str, bytes]:
    path = Path(str(make_url(settings.database_url).database))
    files = {suffix: Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")}
    return {suffix: file.read_bytes() for suffix, file in files.items() if file.exists()}


HEAP_ITEMS = text(
    "SELECT t_data FROM generate_series(0, pg_relation_size(CAST(:rel AS regclass)) / 8192 - 1) AS page, "
    "heap_page_items(get_raw_page(CAST(:name AS text), page::int))"
)
INDEX_ITEMS = text(  # a btree's page 0 is its metapage
    "SELECT data FROM generate_series(1, pg_relation_size(CAST(:rel AS regclass)) / 8192 - 1) AS page, "
    "bt_page_items(get_raw_page(CAST(:name AS text), page::int))"
)


def postgres_items(client: Client) -> Iterator[tuple[str, bytes]]:
    """Every tuple (live or dead, heap and TOAST) and every index entry of the tables a deletion touches."""

    async def read() -> list[tuple[str, bytes]]:
        found: list[tuple[str, bytes]] = []
        async with client.res.db.engine.connect() as connection:
            await connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
            relations = await connection.execute(
                text(
                    "SELECT c.oid::regclass::text, c.relkind::text, am.amname::text FROM pg_class c "
                    "LEFT JOIN pg_am am ON am.oid = c.relam "
                    "WHERE c.oid IN (SELECT t.oid FROM pg_class t WHERE t.relname = ANY(:tables) "
                    "UNION SELECT t.reltoastrelid FROM pg_class t WHERE t.relname = ANY(:tables) "
                    "UNION SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
                    "WHERE t.relname = ANY(:tables))"
                ),
                {"tables": list(ERASED_BY_DELETION)},
            )
            for name, kind, method in relations.all():
                if kind in ("r", "t"):
                    rows = await connection.execute(HEAP_ITEMS, {"rel": name, "name": name})
                    found += [(name, bytes(row[0])) for row in rows if row[0] is not None]
                elif method == "btree":
                    rows = await connection.execute(INDEX_ITEMS, {"rel": name, "name": name})
                    found += [(name, bytes.fromhex(row[0])) for row in rows if row[0]]
            await connection.rollback()
        return found

    return iter(client.run(read))


def test_deleting_a_conversation_leaves_none_of_its_bytes(
    client: Client, centre: Centre, chat: VisitorChat, settings: Settings
) -> None:
    converse(client, centre, chat)
    code = {"lookup": chat.keys.lookup_id.hex(), "verifier": b64(chat.keys.access_verifier)}
    resumed = client.post("/api/visitor/resume", json=code, headers={"origin": BASE_URL})
    assert resumed.status_code == 200  # a second token
    destroyed = what_deletion_destroys(client, chat.id, tokens=2)
    if settings.is_sqlite:
        before = sqlite_files(settings)
        assert destroyed["visitor state"] in before["-wal"]  # the WAL holds it all until truncated
    else:
        assert any(destroyed["visitor state at 96"] in data for _, data in postgres_items(client))

    assert delete(client, chat.token).status_code == 204
    client.run(client.res.db.eraser.settled)

    if settings.is_sqlite:
        files = sqlite_files(settings)
        assert files.get("-wal", b"") == b""  # checkpointed and truncated
        left = sorted(
            (name, suffix)
            for name, value in destroyed.items()
            for suffix, data in files.items()
            if value in data
        )
    else:
        items = list(postgres_items(client))
        left = sorted(
            {
                (name, relation)
                for name, value in destroyed.items()
                for relation, data in items
                if value in data
            }
        )
    assert left == [], left


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite's WAL only
def test_the_wal_is_truncated_even_while_a_reader_holds_it(
    client: Client, centre: Centre, chat: VisitorChat, settings: Settings
) -> None:
    """A reader in the middle of a transaction keeps the checkpoint from finishing; it is retried."""
    import sqlite3

    converse(client, centre, chat)
    state = what_deletion_destroys(client, chat.id)["visitor state"]
    reader = sqlite3.connect(str(make_url(settings.database_url).database), isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM conversation_messages").fetchone()[0] == 7  # a snapshot
        assert delete(client, chat.token).status_code == 204  # answered although the WAL is held
        assert state in sqlite_files(settings)["-wal"]
    finally:
        reader.execute("COMMIT")
        reader.close()
    client.run(client.res.db.eraser.settled)
    assert all(state not in data for data in sqlite_files(settings).values())


# --- the bookings ---------------------------------------------------------------------------------


def book_from_chat(client: Client, chat: VisitorChat, clock: str) -> tuple[Visitor, dict[str, Any]]:
    answer = Visitor(client).call("POST", "/api/booking/from-chat", token=chat.token)
    assert answer.status_code == 200, answer.text
    holder = Visitor(client, answer.json()["token"])
    return holder, holder.booked(at(ahead(DAY), clock))


def staff_bookings(desk: Desk) -> dict[str, dict[str, Any]]:
    response = desk.staff["anna"].request("GET", "/api/staff/bookings")
    assert response.status_code == 200
    return {b["reference"]: b for b in response.json()["bookings"]}


def holders(client: Client) -> list[BookingHolder]:
    async def load() -> list[BookingHolder]:
        async with client.res.db() as db:
            return list(await db.scalars(select(BookingHolder)))

    return client.run(load)


def assert_unreachable(client: Client, chat: VisitorChat, holder: Visitor, reference: str) -> None:
    """Nothing the visitor's tab or code held opens the chat's bookings any more."""
    assert holder.call("GET", "/api/booking/bookings").status_code == 401
    assert holder.invite(reference).status_code == 401
    assert holder.cancel(reference).status_code == 401
    assert Visitor(client).call("POST", "/api/booking/from-chat", token=chat.token).status_code == 401
    code = {"lookup": chat.keys.lookup_id.hex(), "verifier": b64(chat.keys.access_verifier)}
    assert Visitor(client).call("POST", "/api/booking/access", code).status_code == 401
    assert [h for h in holders(client) if h.conversation_id == chat.id] == []


def test_deleting_keeps_the_booking_for_the_counsellor_but_unlinks_it(
    client: Client, desk: Desk, chat: VisitorChat
) -> None:
    holder, booking = book_from_chat(client, chat, "09:00")
    other = new_visitor(client)  # the same person's separate booking code is not the chat's
    elsewhere = other.booked(at(ahead(DAY), "10:15"))
    assert staff_bookings(desk)[booking["reference"]]["from_chat"] is True

    assert delete(client, chat.token).status_code == 204

    assert_unreachable(client, chat, holder, booking["reference"])
    kept = staff_bookings(desk)[booking["reference"]]
    assert (kept["status"], kept["sequence"], kept["from_chat"]) == ("confirmed", 0, False)
    (row,) = [b for b in stored(client) if b.reference == booking["reference"].replace("-", "")]
    (owner,) = [h for h in holders(client) if h.id == row.holder_id]
    assert (owner.lookup, owner.verifier_hash, owner.conversation_id) == (None, None, None)
    assert [b["reference"] for b in other.mine()] == [elsewhere["reference"]]


def test_deleting_can_cancel_the_chats_bookings(client: Client, desk: Desk, chat: VisitorChat) -> None:
    holder, booking = book_from_chat(client, chat, "09:00")
    later = holder.booked(at(ahead(DAY), "10:15"))
    assert "09:00" not in [s["time"] for s in slots(client, ahead(DAY))]

    assert delete(client, chat.token, "?bookings=cancel").status_code == 204

    assert_unreachable(client, chat, holder, booking["reference"])
    listed = staff_bookings(desk)
    for reference in (booking["reference"], later["reference"]):
        assert (listed[reference]["status"], listed[reference]["sequence"]) == ("cancelled", 1)
        invite = desk.staff["anna"].request("GET", f"/staff/bookings/{reference}/invite.ics")
        assert str(parse_calendar(invite.content, "CANCEL").event["STATUS"]) == "CANCELLED"
    assert "09:00" in [s["time"] for s in slots(client, ahead(DAY))]  # free for someone else


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("?bookings=", None),
        ("?bookings=maybe", None),
        ("?bookings=Cancel", None),
        ("?bookings=cancel%00", None),
        ("?bookings=keep&bookings=cancel", None),
        ("?bookings=cancel&also=1", None),
        ("?Bookings=cancel", None),
        ("?unknown", None),
        ("", b'{"bookings": "cancel"}'),  # the choice goes in the query; a body is refused, not ignored
        ("?bookings=cancel", b"x"),
    ],
)
def test_anything_but_keep_or_cancel_is_refused_and_deletes_nothing(
    client: Client, desk: Desk, chat: VisitorChat, query: str, body: bytes | None
) -> None:
    holder, booking = book_from_chat(client, chat, "09:00")
    refused = delete(client, chat.token, query, content=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "bad_request"
    assert [b["status"] for b in holder.mine()] == ["confirmed"]
    assert staff_bookings(desk)[booking["reference"]]["from_chat"] is True
    code = {"lookup": chat.keys.lookup_id.hex(), "verifier": b64(chat.keys.access_verifier)}
    assert client.post("/api/visitor/resume", json=code, headers={"origin": BASE_URL}).status_code == 200
    assert delete(client, chat.token, "?bookings=keep").status_code == 204
    assert holder.call("GET", "/api/booking/bookings").status_code == 401
