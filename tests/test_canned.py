"""Saved (canned) replies over HTTP: each counsellor's own, opaque ciphertext, sizes and CSRF."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select

from server.models import CannedReply
from server.services.canned import MAX_BODY_BYTES, MAX_REPLIES
from tests.chat_helpers import b64, unb64
from tests.conftest import BASE_URL, Client


class Staff:
    """One logged-in staff member's cookies and CSRF token on the shared client."""

    def __init__(self, client: Client, username: str, role: str) -> None:
        self.client = client
        client.cookies.clear()
        client.make_staff(username, role=role)
        client.login(username)
        self.jar = dict(client.cookies.items())
        self.token = client.csrf("/staff/")

    def call(self, method: str, path: str, body: Any = None, csrf: str | None = "mine", **kw: Any) -> Any:
        self.client.cookies.clear()
        for name, value in self.jar.items():
            self.client.cookies.set(name, value)
        headers = {"origin": BASE_URL, **kw.pop("headers", {})}
        if csrf is not None:
            headers["x-csrf-token"] = self.token if csrf == "mine" else csrf
        if body is not None:
            kw["json"] = body
        return self.client.request(method, path, headers=headers, **kw)

    def add(self, body: bytes) -> Any:
        return self.call("POST", "/api/staff/canned", {"body": b64(body)})

    def replies(self) -> list[dict[str, Any]]:
        answer = self.call("GET", "/api/staff/canned")
        assert answer.status_code == 200, answer.text
        found = answer.json()
        assert isinstance(found, list)
        return found


@pytest.fixture
def anna(client: Client) -> Staff:
    return Staff(client, "anna", "counsellor")


@pytest.fixture
def bodil(client: Client, anna: Staff) -> Staff:
    return Staff(client, "bodil", "counsellor")


def test_add_list_delete_own(client: Client, anna: Staff) -> None:
    sealed = os.urandom(120)
    created = anna.add(sealed)
    assert created.status_code == 201, created.text
    reply_id = created.json()["id"]
    listed = anna.replies()
    assert [r["id"] for r in listed] == [reply_id]
    assert unb64(listed[0]["body"]) == sealed  # opaque bytes, stored and returned as sent
    assert "created_at" in listed[0]

    async def stored() -> list[bytes]:
        async with client.res.db() as db:
            return list(await db.scalars(select(CannedReply.body)))

    assert client.run(stored) == [sealed]
    assert anna.call("DELETE", f"/api/staff/canned/{reply_id}").status_code == 204
    assert anna.replies() == []
    assert anna.call("DELETE", f"/api/staff/canned/{reply_id}").status_code == 404


def test_a_counsellor_never_sees_another_counsellors_replies(anna: Staff, bodil: Staff) -> None:
    mine = anna.add(b"a" * 64).json()["id"]
    theirs = bodil.add(b"b" * 64).json()["id"]
    assert [r["id"] for r in anna.replies()] == [mine]
    assert [r["id"] for r in bodil.replies()] == [theirs]
    # Deleting someone else's reply looks exactly like deleting one that does not exist.
    refused = bodil.call("DELETE", f"/api/staff/canned/{mine}")
    missing = bodil.call("DELETE", "/api/staff/canned/" + "0" * 32)
    assert refused.status_code == missing.status_code == 404
    assert refused.json() == missing.json()
    assert [r["id"] for r in anna.replies()] == [mine]


def test_who_may_use_it(client: Client, anna: Staff) -> None:
    interpreter = Staff(client, "ivan", "interpreter")
    assert interpreter.add(b"i" * 40).status_code == 201
    admin = Staff(client, "ada", "admin")
    assert admin.call("GET", "/api/staff/canned").status_code == 403
    assert admin.add(b"x" * 40).status_code == 403
    client.cookies.clear()
    nobody = client.get("/api/staff/canned")
    assert nobody.status_code == 401
    assert client.post("/api/staff/canned", json={"body": b64(b"x" * 40)}).status_code == 403


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b64(b"s" * MAX_BODY_BYTES), 201),
        (b64(b"s" * (MAX_BODY_BYTES + 1)), 422),
        ("", 422),
        ("not base64!", 422),
        (12, 422),
    ],
)
def test_sizes_and_shapes(anna: Staff, body: Any, status: int) -> None:
    assert anna.call("POST", "/api/staff/canned", {"body": body}).status_code == status


def test_bad_requests(anna: Staff) -> None:
    assert anna.call("POST", "/api/staff/canned", {"body": b64(b"x" * 40), "extra": 1}).status_code == 422
    assert anna.call("POST", "/api/staff/canned", {}).status_code == 422
    form = anna.call("POST", "/api/staff/canned", content=b"body=x", headers={"content-type": "text/plain"})
    assert form.status_code == 415
    assert anna.call("DELETE", "/api/staff/canned/not-a-uuid").status_code == 404


def test_csrf_is_required_for_changes(anna: Staff) -> None:
    created = anna.add(b"c" * 40).json()["id"]
    assert anna.call("POST", "/api/staff/canned", {"body": b64(b"x" * 40)}, csrf=None).status_code == 403
    assert anna.call("POST", "/api/staff/canned", {"body": b64(b"x" * 40)}, csrf="forged").status_code == 403
    foreign = anna.call(
        "POST", "/api/staff/canned", {"body": b64(b"x" * 40)}, headers={"origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert anna.call("DELETE", f"/api/staff/canned/{created}", csrf=None).status_code == 403
    assert [r["id"] for r in anna.replies()] == [created]


def test_number_of_replies_is_limited(anna: Staff) -> None:
    for _ in range(MAX_REPLIES):
        assert anna.add(b"r" * 40).status_code == 201
    too_many = anna.add(b"r" * 40)
    assert too_many.status_code == 409
    assert too_many.json()["error"] == "too_many"
    assert len(anna.replies()) == MAX_REPLIES
