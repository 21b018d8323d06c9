"""A certificate that expires while nobody acts: the periodic sweep (server/services/rekey.py
`sweep`, every TRYGG_REKEY_SWEEP_SECONDS) marks the conversation and tells its online members,
through the real websocket."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from crypto import Role, sign_directory
from server.settings import Settings
from tests.chat_helpers import Centre, Socket, b64, certify, hello, start_visitor, visitor_socket
from tests.conftest import BASE_URL, Client

LIFETIME = 4  # seconds the short certificate is valid


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(TRYGG_REKEY_SWEEP_SECONDS="1")


def certify_briefly(centre: Centre, name: str) -> bytes:
    """A new counsellor certified for a few seconds only, published in a new directory."""
    member = centre.invite(name, "counsellor")
    centre.give_keys(member, Role.COUNSELLOR)
    assert member.identity is not None
    now = int(time.time())
    member.certificate = certify(centre.admin_key, member.identity, name.title(), now - 60, now + LIFETIME)
    centre.serial += 1
    listed = [m.certificate for m in centre.staff.values() if m.certificate is not None]
    centre.directory = sign_directory(
        centre.admin_key, centre.centre_id, centre.serial, now - 60, now + 86_400, listed
    )
    answer = centre.admin.api(
        "POST",
        "/api/admin/directory",
        {
            "certificates": {member.account_id.hex: b64(member.certificate)},
            "directory": b64(centre.directory),
        },
    )
    assert answer.status_code == 204, answer.text
    return member.account_id.bytes


def test_an_expired_certificate_re_keys_a_waiting_conversation_without_anyone_acting(
    client: Client, centre: Centre
) -> None:
    carla = certify_briefly(centre, "carla")
    chat = start_visitor(client, BASE_URL, centre)  # its queue epoch is wrapped to Carla too
    with visitor_socket(client) as raw:
        visitor = Socket(raw)
        hello(visitor, chat)
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "s"})
        visitor.until("synced", ref="s")
        assert not [f for f in visitor.pending if f.get("type") == "rekey_needed"]  # valid still
        needed = visitor.until("rekey_needed", conversation=chat.id.hex)  # after expiry + a sweep
    assert needed["members"] == [carla.hex()]
    assert needed["action"] == "requeue"
    assert needed["renewed"] == []
