"""Staff people on the live server: accounts made over HTTP, keys made and used in Chromium."""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)

from crypto import ContentType, Role, create_staff_identity, export_staff_backup
from tests.chat_helpers import PASSWORD, Centre, Person, Socket, b64, build_centre, start_visitor, unb64
from tests.live_server import LiveServer

PASSPHRASE = "a long and private passphrase"
ADMIN_PASSPHRASE = "the centre's own long passphrase"
INVITE_RE = re.compile(r'id="invite-url" class="copy-field" readonly value="[^"]*(/staff/invite/[^"]+)"')
KEY_TIMEOUT = 60_000  # 600 000 PBKDF2 rounds in a headless browser on a busy machine


def admin_person(http: httpx.Client, live_server: LiveServer, username: str) -> Person:
    """An administrator (made with the CLI), logged in over HTTP."""
    live_server.create_admin(username, PASSWORD)
    person = Person(http, live_server.url)
    person.login(username)
    return person


def invite(admin: Person, http: httpx.Client, username: str, role: str = "counsellor") -> Person:
    """Invite `username` (display name: the user name in title case) and accept it over HTTP."""
    response = admin.form(
        "/staff/admin/invites",
        {"role": role, "display_name": username.title()},
        token_from="/staff/admin/staff",
    )
    match = INVITE_RE.search(response.text)
    assert match, response.text
    person = Person(http, admin.origin)
    accepted = person.form(
        match.group(1), {"username": username, "password": PASSWORD, "password_again": PASSWORD}
    )
    assert accepted.status_code == 303, accepted.text
    return person


def log_in(page: Any, base_url: str, username: str) -> None:
    page.goto(base_url + "/staff/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/staff/")


def ready(page: Any) -> None:
    page.wait_for_selector("body[data-ready=yes]", state="attached", timeout=KEY_TIMEOUT)


def create_key_in_browser(page: Any, base_url: str, passphrase: str = PASSPHRASE) -> str:
    """First time on /staff/keys: choose a passphrase, make the key; returns its fingerprint."""
    page.goto(base_url + "/staff/keys")
    ready(page)
    page.fill("#new-passphrase", passphrase)
    page.fill("#new-passphrase-again", passphrase)
    page.click("#create-key")
    page.wait_for_selector("#key-status", state="visible", timeout=KEY_TIMEOUT)
    return str(page.inner_text("#fingerprint"))


def unlock_key_in_browser(page: Any, base_url: str, passphrase: str = PASSPHRASE) -> str:
    page.goto(base_url + "/staff/keys")
    ready(page)
    if page.is_visible("#key-status"):
        return str(page.inner_text("#fingerprint"))
    page.fill("#passphrase", passphrase)
    page.click("#unlock")
    page.wait_for_selector("#key-status", state="visible", timeout=KEY_TIMEOUT)
    return str(page.inner_text("#fingerprint"))


def create_centre_key_in_browser(page: Any, base_url: str, passphrase: str = ADMIN_PASSPHRASE) -> None:
    page.goto(base_url + "/staff/admin/keys")
    ready(page)
    page.fill("#admin-passphrase", passphrase)
    page.fill("#admin-passphrase-again", passphrase)
    page.click("#create-centre-key")
    page.wait_for_selector("#centre-unlocked", state="visible", timeout=KEY_TIMEOUT)


def unlock_centre_key_in_browser(page: Any, base_url: str, passphrase: str = ADMIN_PASSPHRASE) -> None:
    page.goto(base_url + "/staff/admin/keys")
    ready(page)
    page.fill("#centre-passphrase", passphrase)
    page.click("#unlock-centre-key")
    page.wait_for_selector("#centre-unlocked", state="visible", timeout=KEY_TIMEOUT)


def certify_and_publish(page: Any) -> str:
    page.click("#certify-publish")
    page.wait_for_selector("#admin-done:not([hidden]), #admin-error:not([hidden])", timeout=KEY_TIMEOUT)
    assert page.is_hidden("#admin-error"), page.inner_text("#admin-error")
    return str(page.inner_text("#admin-done"))


def staffed_centre(http: httpx.Client, live_server: LiveServer, names: dict[str, str]) -> Centre:
    """An admin, staff whose keys have real passphrase backups (browsers unlock them), a directory."""
    centre = build_centre(http, live_server.url, lambda: live_server.create_admin("admin", PASSWORD), {})
    for name, role in names.items():
        member = centre.invite(name, role)
        kind = Role.COUNSELLOR if role == "counsellor" else Role.INTERPRETER
        member.identity = create_staff_identity(centre.centre_id, member.account_id.bytes, kind)
        backup = export_staff_backup(member.identity, PASSPHRASE)
        keys = {
            "kem_public": b64(member.identity.kem_public),
            "sig_public": b64(member.identity.sig_public),
            "backup": b64(backup),
        }
        assert member.person.api("PUT", "/api/staff/keys", keys).status_code == 204
    centre.publish()
    return centre


# --- a visitor driven from Python against the live server -----------------------------------


class SyncSocket:
    """websockets.sync.client under the names chat_helpers.Socket uses (send_text/receive_text)."""

    def __init__(self, url: str, origin: str) -> None:
        from websockets.sync.client import connect

        ws_url = url.replace("http://", "ws://", 1) + "/ws"
        self.ws = connect(ws_url, origin=origin, compression=None, open_timeout=30)  # type: ignore[arg-type]
        self.ws.__enter__()  # websockets wants its connections entered as context managers

    def send_text(self, text: str) -> None:
        self.ws.send(text)

    def receive_text(self) -> str:
        data = self.ws.recv(timeout=60)
        return data if isinstance(data, str) else data.decode()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already gone with a stopped server
            self.ws.__exit__(None, None, None)


class LiveVisitor:
    """The visitor's side of one conversation: the protocol state, a websocket, what they read."""

    def __init__(
        self, http: httpx.Client, live_server: LiveServer, centre: Centre, language: str = "en"
    ) -> None:
        self.chat = start_visitor(http, live_server.url, centre, language)
        self.raw = SyncSocket(live_server.url, live_server.url)
        self.socket = Socket(self.raw)
        self.socket.send({"type": "hello", "token": self.chat.token, "ref": "hello"})
        self.socket.until("welcome")
        self.socket.send({"type": "sync", "conversation": self.chat.id.hex, "after": 0})
        self.texts: list[str] = []
        self.members: list[str] = []
        self.refs = 0

    @property
    def id(self) -> str:
        return self.chat.id.hex

    def _answer(self, ref: str) -> dict[str, Any]:
        """The ack or error answering `ref`; other frames stay pending."""
        for index, frame in enumerate(self.socket.pending):
            if frame.get("ref") == ref:
                return self.socket.pending.pop(index)
        while True:
            frame = self.socket.receive()
            if frame.get("ref") == ref:
                return frame
            self.socket.pending.append(frame)

    def _send(self, build: Callable[[], bytes]) -> int:
        """Encrypt at the current head and send; after a conflict, catch up and build again."""
        client_id = str(uuid.uuid4())
        for _ in range(10):
            self.refs += 1
            ref = f"v{self.refs}"
            frame = {"type": "send", "conversation": self.id, "client_id": client_id, "ref": ref}
            self.socket.send({**frame, "message": b64(build())})
            answer = self._answer(ref)
            if answer["type"] == "ack":
                seq = int(answer["seq"])
                self.read_until(seq)
                return seq
            assert answer.get("code") == "conflict", answer
            self.read_until(self.chat.conversation.next_seq)
        raise AssertionError("could not send")

    def say(self, words: str) -> int:
        return self._send(lambda: self.chat.conversation.encrypt(ContentType.TEXT, words.encode()))

    def ask_for_interpreter(self, language: str) -> int:
        body = json.dumps({"kind": "interpreter_request", "language": language}).encode()
        return self._send(lambda: self.chat.conversation.encrypt(ContentType.APP_JSON, body))

    def read_until(self, seq: int) -> None:
        """Apply every message up to `seq` (including our own echoes)."""
        while self.chat.conversation.next_seq <= seq:
            frame = self.socket.until("message", conversation=self.id)
            if frame["seq"] < self.chat.conversation.next_seq:
                continue
            received = self.chat.conversation.receive(unb64(frame["message"]))
            if received.kind == "application" and received.content_type == ContentType.TEXT and received.body:
                self.texts.append(received.body.decode())
            if received.kind == "commit":
                self.members = [m.display_name or "visitor" for m in received.members]

    def wait_for_text(self, words: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while words not in self.texts:
            assert time.monotonic() < deadline, (words, self.texts)
            self.read_until(self.chat.conversation.next_seq)

    def reconnect(self, live_server: LiveServer) -> None:
        """A new websocket (after the old one died), catching up from where this visitor is."""
        self.raw.close()
        self.raw = SyncSocket(live_server.url, live_server.url)
        self.socket = Socket(self.raw)
        self.socket.send({"type": "hello", "token": self.chat.token, "ref": "hello"})
        self.socket.until("welcome")
        after = self.chat.conversation.next_seq - 1
        self.socket.send({"type": "sync", "conversation": self.id, "after": after})

    def delete(self, http: httpx.Client, live_server: LiveServer) -> None:
        http.cookies.clear()
        gone = http.delete(
            "/api/visitor/conversation",
            headers={"authorization": f"Bearer {self.chat.token}", "origin": live_server.url},
        )
        assert gone.status_code == 204, gone.text

    def typing(self) -> None:
        self.socket.send({"type": "typing", "conversation": self.id})

    def receipt(self, delivered: int, read: int) -> None:
        self.socket.send({"type": "receipt", "conversation": self.id, "delivered": delivered, "read": read})

    def close(self) -> None:
        self.raw.close()
