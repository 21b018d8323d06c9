"""People, keys and conversations for chat tests, through the real HTTP API.

Each `Person` keeps their own cookies, so one TestClient (one event loop, one
database engine) can play a visitor and several staff members at once; the
same helpers drive a live server subprocess through httpx2.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import func, select
from websockets.sync.client import connect

from crypto import (
    ContentType,
    Conversation,
    LocalMember,
    Role,
    TrustRoot,
    centre_fingerprint,
    certify,
    cosign_trust_root,
    create_staff_identity,
    draft_trust_root,
    generate_admin_key,
    generate_resume_code,
    open_conversation,
    sign_directory,
    verify_trust_root,
)
from crypto import testing as crypto_testing
from crypto.resume import ResumeKeys
from crypto.trust import parse_trust_root
from server.models import ConversationMessage
from tests.live_server import LiveServer

PASSWORD = "correct horse battery staple"
ORIGIN = "http://localhost:8000"  # a TestClient's base URL (tests/conftest.py BASE_URL)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
INVITE_RE = re.compile(r'id="invite-url" class="copy-field" readonly value="[^"]*(/staff/invite/[^"]+)"')


# Booking rules that offer a time at once: hourly slots, no notice, by phone (tests of booking).
OPEN_BOOKING_POLICY = {
    "slot_minutes": "60",
    "buffer_minutes": "0",
    "min_notice_hours": "0",
    "horizon_days": "60",
    "max_future_bookings": "20",
    "address": "",
    "phone": "on",
    "video_link": "",
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Person:
    """One browser: its own cookie jar over a shared HTTP client."""

    def __init__(self, http: Any, origin: str, prefix: str = "") -> None:
        self.http = http
        self.origin = origin
        self.prefix = prefix  # a centre's /c/<slug> when it is not the first centre
        self.jar: dict[str, str] = {}

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        url = self.prefix + url if url.startswith("/") else url
        self.http.cookies.clear()
        for name, value in self.jar.items():
            self.http.cookies.set(name, value)
        response = self.http.request(method, url, **kwargs)
        self.jar = dict(self.http.cookies.items())
        return response

    def csrf(self, path: str) -> str:
        match = CSRF_RE.search(self.request("GET", path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def form(self, path: str, data: dict[str, str], token_from: str | None = None) -> Any:
        token = self.csrf(token_from or path)
        return self.request("POST", path, data={**data, "csrf_token": token}, follow_redirects=False)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"x-csrf-token": self.csrf("/staff/"), "origin": self.origin}
        return self.request(method, path, json=body, headers=headers)

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.jar.items())

    def login(self, username: str, password: str = PASSWORD) -> None:
        response = self.form("/staff/login", {"username": username, "password": password})
        assert response.status_code == 303, response.text


class Browser(Person):
    """A Person whose cookies the server may replace (a rotated session), as a browser's would be."""

    def __init__(self, http: Any, origin: str = ORIGIN) -> None:
        super().__init__(http, origin)

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        self.http.cookies.clear()
        for name, value in self.jar.items():
            self.http.cookies.set(name, value, domain="localhost.local")
        response = self.http.request(method, url, **kwargs)
        self.jar = {cookie.name: cookie.value for cookie in self.http.cookies.jar if cookie.value}
        return response


def logged_in(person: Person) -> bool:
    return bool(person.request("GET", "/staff/", follow_redirects=False).status_code == 200)


@dataclass
class StaffMember:
    person: Person
    account_id: uuid.UUID
    username: str
    identity: LocalMember | None = None
    certificate: bytes | None = None


@dataclass
class Centre:
    """An admin, certified counsellors (and interpreters), the centre key and a signed directory."""

    http: Any
    origin: str
    admin: Person
    centre_id: bytes = b""
    admin_key: Any = None
    staff: dict[str, StaffMember] = field(default_factory=dict)
    directory: bytes = b""
    serial: int = 0
    roots: list[bytes] = field(default_factory=list)

    @property
    def anchors(self) -> list[bytes]:
        return [self.admin_key.public]

    @property
    def pin(self) -> bytes:
        """The pin of the first anchor (pinned on first use by the server)."""
        first = parse_trust_root(self.roots[0]) if self.roots else None
        key = first.anchors[0] if first and len(first.anchors) == 1 else self.admin_key.public
        return centre_fingerprint(self.centre_id, key)

    @property
    def trust(self) -> TrustRoot:
        return verify_trust_root(self.roots, self.pin)

    def draft_root(self, anchors: list[bytes], threshold: int) -> bytes:
        """The next root version naming `anchors` (unsigned), for this server's log key."""
        log_key = unb64(self.admin.api("GET", "/api/trust").json()["log_key"])
        previous = self.roots[-1] if self.roots else None
        issued = int(time.time()) if previous is None else parse_trust_root(previous).issued_at + 1
        return draft_trust_root(
            centre_id=self.centre_id,
            version=len(self.roots) + 1,
            issued_at=issued,
            previous=previous,
            anchors=sorted(anchors),
            threshold=threshold,
            log_key=log_key,
        )

    def add_root(self, anchors: list[bytes], threshold: int, signers: list[Any]) -> Any:
        """Sign the next root version with `signers` and send it; the response."""
        data = self.draft_root(anchors, threshold)
        for signer in signers:
            data = cosign_trust_root(data, signer)
        response = self.admin.api("PUT", "/api/admin/trust-root", {"root": b64(data)})
        if response.status_code == 201:
            self.roots.append(data)
        return response

    def invite(self, name: str, role: str) -> StaffMember:
        response = self.admin.form(
            "/staff/admin/invites",
            {"role": role, "display_name": name.title()},
            token_from="/staff/admin/staff",
        )
        match = INVITE_RE.search(response.text)
        assert match, response.text
        person = Person(self.http, self.origin, self.admin.prefix)
        accepted = person.form(
            match.group(1), {"username": name, "password": PASSWORD, "password_again": PASSWORD}
        )
        assert accepted.status_code == 303, accepted.text
        info = person.api("GET", "/api/staff/keys").json()
        member = StaffMember(person, uuid.UUID(hex=info["staff_id"]), name)
        self.staff[name] = member
        return member

    def give_keys(self, member: StaffMember, role: Role) -> None:
        member.identity = create_staff_identity(self.centre_id, member.account_id.bytes, role)
        response = member.person.api(
            "PUT",
            "/api/staff/keys",
            {
                "kem_public": b64(member.identity.kem_public),
                "sig_public": b64(member.identity.sig_public),
                "backup": b64(b"\x01" * 64),
            },
        )
        assert response.status_code == 204, response.text

    def publish(self) -> None:
        """Certify every staff member with keys and publish a directory of exactly them."""
        now = int(time.time())
        certificates = {}
        for member in self.staff.values():
            if member.identity is not None and member.certificate is None:
                member.certificate = certify(
                    self.admin_key, member.identity, member.username.title(), now - 60, now + 86_400 * 365
                )
                certificates[member.account_id.hex] = b64(member.certificate)
        self.serial += 1
        listed = [m.certificate for m in self.staff.values() if m.certificate is not None]
        self.directory = sign_directory(
            self.admin_key, self.centre_id, self.serial, now - 60, now + 86_400, listed
        )
        response = self.admin.api(
            "POST", "/api/admin/directory", {"certificates": certificates, "directory": b64(self.directory)}
        )
        assert response.status_code == 204, response.text


def build_centre(
    http: Any,
    origin: str,
    make_admin: Callable[[], None],
    names: dict[str, str],
    prefix: str = "",
    admin_name: str = "admin",
) -> Centre:
    """An admin (made by `make_admin` with user name `admin_name`) and staff named in `names`
    (name -> role), at the centre under `prefix` (the first centre when "")."""
    make_admin()
    admin = Person(http, origin, prefix)
    admin.login(admin_name)
    centre = Centre(http, origin, admin)
    centre.admin_key = generate_admin_key()
    response = admin.api(
        "PUT",
        "/api/admin/centre-key",
        {"sig_public": b64(centre.admin_key.public), "backup": b64(b"\x02" * 64)},
    )
    assert response.status_code == 204, response.text
    centre.centre_id = bytes.fromhex(admin.api("GET", "/api/staff/keys").json()["centre_id"])
    assert centre.add_root([centre.admin_key.public], 1, [centre.admin_key]).status_code == 201
    for name, role in names.items():
        member = centre.invite(name, role)
        centre.give_keys(member, Role.COUNSELLOR if role == "counsellor" else Role.INTERPRETER)
    centre.publish()
    return centre


@dataclass
class VisitorChat:
    """A visitor's side: the conversation state, the resume code and the bearer token."""

    conversation: Conversation
    genesis: bytes
    code: str
    keys: ResumeKeys
    token: str

    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.conversation.conversation_id)


def start_visitor(
    http: Any, origin: str, centre: Centre, language: str = "en", prefix: str = ""
) -> VisitorChat:
    code = generate_resume_code()
    keys = crypto_testing.derive_resume_keys_with_iterations(code, centre.centre_id, 1000)
    created = crypto_testing.create_conversation_with(
        centre.directory, centre.anchors, int(time.time()), keys, os.urandom
    )
    assert created.visitor_state is not None
    body = {
        "conversation": created.conversation.conversation_id.hex(),
        "lookup": keys.lookup_id.hex(),
        "verifier": b64(keys.access_verifier),
        "state": b64(created.visitor_state),
        "genesis": b64(created.genesis),
        "language": language,
    }
    http.cookies.clear()
    response = http.post(f"{prefix}/api/visitor/conversations", json=body, headers={"origin": origin})
    assert response.status_code == 201, response.text
    return VisitorChat(created.conversation, created.genesis, code, keys, response.json()["token"])


def staff_view(centre: Centre, name: str, genesis: bytes) -> Conversation:
    identity = centre.staff[name].identity
    assert identity is not None
    return open_conversation(identity, genesis, centre.anchors)


def text(conversation: Conversation, words: str) -> bytes:
    return conversation.encrypt(ContentType.TEXT, words.encode())


class Socket:
    """A websocket session; frames not yet asked for wait in `pending`, so none is lost."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.seen: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []

    def send(self, frame: dict[str, Any]) -> None:
        self.raw.send_text(json.dumps(frame))

    def receive(self) -> dict[str, Any]:
        """The next frame off the wire (bypassing `pending`)."""
        frame = json.loads(self.raw.receive_text())
        self.seen.append(frame)
        return frame

    def until(self, kind: str, **match: Any) -> dict[str, Any]:
        """The first frame (pending or new) of `kind` with the given fields; others stay pending."""

        def fits(frame: dict[str, Any]) -> bool:
            return frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items())

        for index, frame in enumerate(self.pending):
            if fits(frame):
                return self.pending.pop(index)
        for _ in range(500):
            frame = self.receive()
            if fits(frame):
                return frame
            if (
                frame.get("type") == "error"
                and kind != "error"
                and "ref" in match
                and frame.get("ref") == match["ref"]
            ):
                raise AssertionError(f"expected {kind}, got {frame}")
            self.pending.append(frame)
        raise AssertionError(f"no {kind} frame {match}")

    def messages(self, conversation: uuid.UUID, count: int) -> list[dict[str, Any]]:
        """The next `count` message frames of a conversation, in arrival order."""
        return [self.until("message", conversation=conversation.hex) for _ in range(count)]


# --- websockets on a TestClient (tests/conftest.py's Client: one app, one event loop) ------------


def visitor_socket(client: Any) -> Any:
    """A websocket as a visitor's browser opens it (no cookies; `hello` comes next)."""
    client.cookies.clear()
    return client.websocket_connect("/ws", headers={"origin": ORIGIN})


def staff_socket(client: Any, centre: Centre, name: str) -> Any:
    """A websocket with a staff member's session cookie."""
    client.cookies.clear()
    return client.websocket_connect(
        "/ws", headers={"origin": ORIGIN, "cookie": centre.staff[name].person.cookie_header()}
    )


def hello(socket: Socket, chat: VisitorChat) -> None:
    socket.send({"type": "hello", "token": chat.token, "ref": "h"})
    assert socket.until("welcome")["conversation"] == chat.id.hex


def stored_count(client: Any, conversation_id: uuid.UUID) -> int:
    async def count() -> int:
        async with client.res.db() as db:
            query = select(func.count()).select_from(ConversationMessage)
            return int(
                await db.scalar(query.where(ConversationMessage.conversation_id == conversation_id)) or 0
            )

    return int(client.run(count))


def claim_frame(conversation: Any, chat: VisitorChat, ref: str = "c") -> dict[str, Any]:
    return {
        "type": "claim",
        "conversation": chat.id.hex,
        "client_id": str(uuid.uuid4()),
        "message": b64(conversation.claim()),
        "ref": ref,
    }


def send_frame(
    chat: VisitorChat, message: bytes, client_id: str | None = None, ref: str = "s"
) -> dict[str, Any]:
    return {
        "type": "send",
        "conversation": chat.id.hex,
        "client_id": client_id or str(uuid.uuid4()),
        "message": b64(message),
        "ref": ref,
    }


def receive_all(conversation: Any, frames: list[dict[str, Any]]) -> list[str]:
    """Decrypt message frames in order; the words of the text messages among them."""
    words = []
    for frame in frames:
        received = conversation.receive(unb64(frame["message"]))
        if received.content_type == ContentType.TEXT and received.body is not None:
            words.append(received.body.decode())
    return words


# --- websockets on a live server (tests/live_server.py: a real process) ---------------------------


class WebsocketsAdapter:
    """The `websockets` client with the two methods `Socket` uses."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def send_text(self, data: str) -> None:
        self.connection.send(data)

    def receive_text(self) -> str:
        return str(self.connection.recv(timeout=20))


def live_socket(stack: ExitStack, url: str, cookie: str = "") -> Socket:
    """A websocket to the live server at `url` (closed with `stack`), with a session cookie or none."""
    headers = {"Cookie": cookie} if cookie else {}
    ws_url = url.replace("http", "ws", 1) + "/ws"
    raw = stack.enter_context(connect(ws_url, origin=url, additional_headers=headers))  # type: ignore[arg-type]
    return Socket(WebsocketsAdapter(raw))


def two_processes(
    stack: ExitStack, data: Path, database_url: str, redis_url: str
) -> tuple[LiveServer, LiveServer, Centre]:
    """Two real server processes on one database and one Redis (stopped with `stack`), and a
    centre made through the first: an admin and two counsellors, anna and bodil."""
    env = {"DATABASE_URL": database_url, "TRYGG_REDIS_URL": redis_url, "TRYGG_SECRET_KEY": "k" * 40}
    one = LiveServer(data / "one", **env).start()
    stack.callback(one.stop)
    two = LiveServer(data / "two", **env).start()
    stack.callback(two.stop)
    http = stack.enter_context(httpx2.Client(base_url=one.url))
    centre = build_centre(
        http,
        one.url,
        lambda: one.create_admin("admin", PASSWORD),
        {"anna": "counsellor", "bodil": "counsellor"},
    )
    return one, two, centre
