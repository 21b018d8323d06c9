"""One login at two centres (issue 16): a counsellor or interpreter of the network given a role at
a second centre by that centre's admin, certified by each centre separately, sees each centre's
queue apart and reads each centre's conversations; removal ends it.  SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from crypto import Role, certify, sign_directory
from server.models import AuditEvent, Conversation, StaffCertificate
from tests.chat_helpers import (
    ORIGIN,
    Centre,
    Person,
    Socket,
    StaffMember,
    VisitorChat,
    b64,
    claim_frame,
    receive_all,
    send_frame,
    start_visitor,
    text,
    unb64,
)
from tests.conftest import BASE_URL, Client
from tests.test_centres import add_centre, appoint


@pytest.fixture
def network(client: Client, centre: Centre) -> tuple[Centre, Centre]:
    """Centre A (the first: admin, anna, bodil, ivan) and centre B (/c/oslo: admin bea, carl)."""
    from tests.chat_helpers import build_centre

    oslo = add_centre(client, "oslo", "Oslo")
    b = build_centre(
        client, ORIGIN, lambda: appoint(client, oslo, "bea"), {"carl": "counsellor"}, "/c/oslo", "bea"
    )
    return centre, b


def add_here(b: Centre, name: str, role: str) -> Any:
    """B's admin gives an existing login of the network a role at B (the staff page's form)."""
    return b.admin.form(
        "/staff/admin/shared", {"username": name, "role": role}, token_from="/staff/admin/staff"
    )


def join(a: Centre, b: Centre, name: str, role: Role) -> StaffMember:
    """The same person, key and session at B: B's admin certifies them there (its own certificate)."""
    home = a.staff[name]
    assert home.identity is not None
    person = Person(b.http, b.origin, b.admin.prefix)
    person.jar = dict(home.person.jar)
    member = StaffMember(
        person, home.account_id, name, replace(home.identity, centre_id=b.centre_id, role=role)
    )
    b.staff[name] = member
    b.publish()
    return member


def socket_at(client: Client, prefix: str, cookie: str = "") -> Any:
    client.cookies.clear()
    headers = {"origin": ORIGIN, **({"cookie": cookie} if cookie else {})}
    return client.websocket_connect(f"{prefix}/ws", headers=headers)


def _certificates(client: Client, staff_id: uuid.UUID) -> set[bytes]:
    async def read() -> set[bytes]:
        async with client.res.db() as db:
            found = await db.scalars(
                select(StaffCertificate.centre_id).where(StaffCertificate.staff_id == staff_id)
            )
            return {centre.bytes for centre in found}

    return set(client.run(read))


def test_a_counsellor_of_two_centres_is_certified_by_each_and_reads_each_queue_apart(
    client: Client, network: tuple[Centre, Centre]
) -> None:
    a, b = network
    assert add_here(b, "anna", "counsellor").status_code == 303
    listed = {row["display_name"]: row for row in b.admin.api("GET", "/api/admin/staff-keys").json()}
    assert set(listed) == {"Carl", "Anna"}  # B's own and the one given a role at B, nobody else
    assert listed["Anna"]["role"] == "counsellor"
    assert listed["Anna"]["certificate"] is None
    anna_b = join(a, b, "anna", Role.COUNSELLOR)
    anna_a = a.staff["anna"]
    assert _certificates(client, anna_a.account_id) == {a.centre_id, b.centre_id}

    # GET /api/staff/keys gives the certificate of the centre being served.
    mine_a = anna_a.person.api("GET", "/api/staff/keys").json()
    mine_b = anna_b.person.api("GET", "/api/staff/keys").json()
    assert (mine_a["centre_id"], mine_a["certificate"]) == (a.centre_id.hex(), b64(anna_a.certificate or b""))
    assert (mine_b["centre_id"], mine_b["certificate"]) == (b.centre_id.hex(), b64(anna_b.certificate or b""))
    assert mine_a["backup"] == mine_b["backup"]  # one key

    chats: dict[str, tuple[Centre, StaffMember, VisitorChat, str]] = {
        "": (a, anna_a, start_visitor(client, BASE_URL, a), "at A"),
        "/c/oslo": (b, anna_b, start_visitor(client, BASE_URL, b, prefix="/c/oslo"), "at B"),
    }
    cookie = anna_a.person.cookie_header()
    for prefix, (centre, member, chat, words) in chats.items():
        assert member.identity is not None
        with socket_at(client, prefix) as v_raw, socket_at(client, prefix, cookie) as s_raw:
            visitor, staff = Socket(v_raw), Socket(s_raw)
            staff.send({"type": "queue", "ref": "q"})
            assert [i["conversation"] for i in staff.until("queue", ref="q")["items"]] == [chat.id.hex]
            staff.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "s"})
            genesis = unb64(staff.messages(chat.id, 1)[0]["message"])
            from crypto import open_conversation

            view = open_conversation(member.identity, genesis, centre.anchors)  # wrapped to her key here
            visitor.send({"type": "hello", "token": chat.token, "ref": "h"})
            visitor.until("welcome")
            visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
            visitor.until("synced")
            visitor.send(send_frame(chat, text(chat.conversation, f"hello {words}"), ref="v1"))
            visitor.until("ack", ref="v1")
            assert receive_all(view, staff.messages(chat.id, 1)) == [f"hello {words}"]
            staff.send(claim_frame(view, chat))
            staff.until("ack", ref="c")
            receive_all(view, staff.messages(chat.id, 1))  # her own commit: now in the new epoch
            staff.send(send_frame(chat, text(view, f"Anna {words}"), ref="a1"))
            staff.until("ack", ref="a1")
            assert receive_all(chat.conversation, visitor.messages(chat.id, 3))[-1] == f"Anna {words}"

    # A new key drops every centre's certificate.
    response = anna_a.person.api(
        "PUT",
        "/api/staff/keys",
        {"kem_public": b64(b"\x05" * 32), "sig_public": b64(b"\x06" * 32), "backup": b64(b"\x01" * 64)},
    )
    assert response.status_code == 204
    assert _certificates(client, anna_a.account_id) == set()
    assert anna_b.person.api("GET", "/api/staff/keys").json()["certificate"] is None


def test_an_admin_certifies_and_sees_only_the_staff_of_their_own_centre(
    client: Client, network: tuple[Centre, Centre]
) -> None:
    a, b = network
    names = {row["display_name"] for row in a.admin.api("GET", "/api/admin/staff-keys").json()}
    assert "Carl" not in names
    # A's admin signs a certificate for B's carl (as a counsellor of A) and a directory with him.
    carl = b.staff["carl"]
    assert carl.identity is not None
    now = int(time.time())
    forged = certify(a.admin_key, replace(carl.identity, centre_id=a.centre_id), "Carl", now - 60, now + 3600)
    listed = [m.certificate for m in a.staff.values() if m.certificate is not None] + [forged]
    directory = sign_directory(a.admin_key, a.centre_id, a.serial + 1, now - 60, now + 86_400, listed)
    refused = a.admin.api(
        "POST",
        "/api/admin/directory",
        {"certificates": {carl.account_id.hex: b64(forged)}, "directory": b64(directory)},
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "bad_directory"
    assert _certificates(client, carl.account_id) == {b.centre_id}
    # Nor can A's admin remove a role given at B, nor take B's staff by another role at A's page.
    assert add_here(b, "anna", "counsellor").status_code == 303
    anna = a.staff["anna"]
    gone = a.admin.form(f"/staff/admin/shared/{anna.account_id}/remove", {}, token_from="/staff/admin/staff")
    assert gone.status_code == 404
    assert add_here(b, "anna", "interpreter").status_code == 409  # already works at B
    assert add_here(b, "bea", "counsellor").status_code == 409  # B's own
    assert add_here(b, "nobody", "counsellor").status_code == 404
    assert add_here(b, "ivan", "admin").status_code == 422  # counsellor or interpreter only


def test_removing_a_shared_counsellor_drops_the_centres_certificate_and_marks_for_rekey(
    client: Client, network: tuple[Centre, Centre]
) -> None:
    a, b = network
    assert add_here(b, "anna", "counsellor").status_code == 303
    anna_b = join(a, b, "anna", Role.COUNSELLOR)
    assert anna_b.identity is not None
    chat = start_visitor(client, BASE_URL, b, prefix="/c/oslo")
    with socket_at(client, "/c/oslo", anna_b.person.cookie_header()) as raw:
        staff = Socket(raw)
        from crypto import open_conversation

        staff.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "s"})
        view = open_conversation(anna_b.identity, unb64(staff.messages(chat.id, 1)[0]["message"]), b.anchors)
        staff.send(claim_frame(view, chat))
        staff.until("ack", ref="c")
    page = b.admin.request("GET", "/staff/admin/staff").text
    assert 'id="shared-staff-table"' in page
    assert 'data-username="anna"' in page
    removed = b.admin.form(
        f"/staff/admin/shared/{anna_b.account_id}/remove", {}, token_from="/staff/admin/staff"
    )
    assert removed.status_code == 303
    assert _certificates(client, anna_b.account_id) == {a.centre_id}  # A's stays
    assert anna_b.person.request("GET", "/staff/").status_code == 403  # no role at B any more
    assert a.staff["anna"].person.request("GET", "/staff/").status_code == 200  # still at home
    assert "Anna" not in {r["display_name"] for r in b.admin.api("GET", "/api/admin/staff-keys").json()}
    status = b.admin.api("GET", "/api/admin/directory-status").json()  # B's admin must re-sign
    assert "lists_deactivated" in status["problems"]
    assert status["deactivated_listed"] == ["Anna"]

    async def state() -> tuple[Any, list[str]]:
        async with client.res.db() as db:
            found = await db.get(Conversation, chat.id)
            assert found is not None
            actions = await db.scalars(
                select(AuditEvent.action).where(AuditEvent.subject_id == anna_b.account_id)
            )
            return found.rekey_needed_at, list(actions)

    marked, actions = client.run(state)
    assert marked is not None  # her conversation at B must re-key without her
    assert {"centre_staff.add", "centre_staff.remove"} <= set(actions)


def test_an_interpreter_shared_by_two_centres_is_offered_certified_at_both(
    client: Client, network: tuple[Centre, Centre]
) -> None:
    a, b = network
    carl = b.staff["carl"].person
    assert "Ivan" not in str(carl.api("GET", "/api/staff/interpreters").json())
    assert add_here(b, "ivan", "interpreter").status_code == 303
    offered = carl.api("GET", "/api/staff/interpreters").json()["interpreters"]
    assert [(i["display_name"], i["certified"]) for i in offered] == [("Ivan", False)]  # not yet, here
    join(a, b, "ivan", Role.INTERPRETER)
    offered = carl.api("GET", "/api/staff/interpreters").json()["interpreters"]
    assert [(i["display_name"], i["certified"]) for i in offered] == [("Ivan", True)]
    at_home = a.staff["anna"].person.api("GET", "/api/staff/interpreters").json()["interpreters"]
    assert [(i["display_name"], i["certified"]) for i in at_home] == [("Ivan", True)]


def test_a_login_is_listed_in_its_role_at_the_centre_not_its_home_role(
    client: Client, network: tuple[Centre, Centre]
) -> None:
    """An interpreter at home who is a counsellor at B: B's visitors' conversations list him as a
    counsellor (his certificate at B), and that is accepted; listed as an interpreter there it is not."""
    a, b = network
    assert add_here(b, "ivan", "counsellor").status_code == 303
    join(a, b, "ivan", Role.COUNSELLOR)
    chat = start_visitor(client, BASE_URL, b, prefix="/c/oslo")  # lists carl and ivan as counsellors
    cookie = a.staff["ivan"].person.cookie_header()
    with socket_at(client, "/c/oslo", cookie) as raw:
        ivan = Socket(raw)
        ivan.send({"type": "queue", "ref": "q"})
        assert [i["conversation"] for i in ivan.until("queue", ref="q")["items"]] == [chat.id.hex]
