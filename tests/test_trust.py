"""Anchors only an anchor can change, and the log of roots and directories (issue 14), over HTTP
on SQLite and PostgreSQL: the root chain under the pin, rotation with 2-of-n, what a login or a
database write can no longer do, and the signed, consistent log."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import command
from crypto import (
    ProtocolError,
    centre_fingerprint,
    certify,
    cosign_trust_root,
    generate_admin_key,
    sign_directory,
    verify_log_consistency,
    verify_log_head,
    verify_log_inclusion,
    verify_trust_root,
)
from crypto.log import LogKind, entry_of, log_head_hash
from server.app import create_app
from server.db import alembic_config
from server.models import TrustRootVersion
from server.services import keys
from server.settings import SettingsError, load_settings
from tests.chat_helpers import Centre, Person, b64, build_centre, unb64
from tests.conftest import BASE_URL, Client, app_env, run_async


def log_of(http: Client, since: int = 0) -> dict:
    response = http.get(f"/api/log?since={since}")
    assert response.status_code == 200, response.text
    return response.json()


def second_admin(client: Client, centre: Centre, name: str) -> tuple[Person, object]:
    """Another admin with a centre key of their own (not an anchor until a root names it)."""
    client.make_staff(name)
    person = Person(client, BASE_URL)
    person.login(name)
    key = generate_admin_key()
    stored = person.api(
        "PUT", "/api/admin/centre-key", {"sig_public": b64(key.public), "backup": b64(b"\x03" * 64)}
    )
    assert stored.status_code == 204, stored.text
    return person, key


def publish_signed_by(centre: Centre, signer: object, recertify: bool = False) -> object:
    now = int(time.time())
    fresh = {}
    if recertify:  # before an anchor is dropped its certificates are re-issued (PROTOCOL.md §5.4)
        for member in centre.staff.values():
            if member.identity is not None:
                name = member.username.title()
                member.certificate = certify(signer, member.identity, name, now - 60, now + 86_400)
                fresh[member.account_id.hex] = b64(member.certificate)
    listed = [m.certificate for m in centre.staff.values() if m.certificate is not None]
    directory = sign_directory(signer, centre.centre_id, centre.serial + 1, now - 60, now + 86_400, listed)
    response = centre.admin.api(
        "POST", "/api/admin/directory", {"certificates": fresh, "directory": b64(directory)}
    )
    if response.status_code == 204:
        centre.serial += 1
        centre.directory = directory
    return response


def test_first_root_is_pinned_and_pages_carry_the_pin(client: Client, centre: Centre, tmp_path: Path) -> None:
    found = client.get("/api/trust").json()
    assert [unb64(r) for r in found["roots"]] == centre.roots
    assert found["pin"] == centre.pin.hex()
    assert found["pin_configured"] is False
    assert len(found["short_pin"].split()) == 4
    # Pinned on first use in a file outside the database, and carried by every page.
    assert centre.pin.hex() in (tmp_path / "data" / "trust-pins").read_text()
    for path in ("/en/chat", "/staff/login", "/en/"):
        page = client.get(path).text
        assert f'<meta name="trygg-pin" content="{centre.pin.hex()}">' in page, path
    # The directory answer carries the chain; the anchors it lists are the newest root's.
    published = client.get("/api/directory").json()
    assert [unb64(r) for r in published["roots"]] == centre.roots
    assert [unb64(a) for a in published["anchors"]] == [centre.admin_key.public]
    trust = verify_trust_root([unb64(r) for r in published["roots"]], centre.pin)
    assert trust.anchors == (centre.admin_key.public,)


def test_an_admin_login_cannot_add_an_anchor(client: Client, centre: Centre) -> None:
    rogue, key = second_admin(client, centre, "rogue")
    # The new admin's key is no anchor: a directory signed with it is refused...
    assert publish_signed_by(centre, key).status_code == 422
    # ...and a root version naming it, signed only by itself, is refused too.
    draft = centre.draft_root([centre.admin_key.public, key.public], 1)  # type: ignore[attr-defined]
    signed = cosign_trust_root(draft, key)  # type: ignore[arg-type]
    refused = rogue.api("PUT", "/api/admin/trust-root", {"root": b64(signed)})
    assert refused.status_code == 422
    assert refused.json()["error"] == "bad_root"
    # A root naming another log key than the server's is refused (it could not sign heads).
    assert len(client.get("/api/trust").json()["roots"]) == 1
    # Counsellors and visitors may not submit roots at all.
    anna = centre.staff["anna"].person
    assert anna.api("PUT", "/api/admin/trust-root", {"root": b64(signed)}).status_code == 403


def test_rotation_two_of_n(client: Client, centre: Centre) -> None:
    k1 = centre.admin_key
    _, k2 = second_admin(client, centre, "kari")
    _, k3 = second_admin(client, centre, "knut")
    # K1 (the only anchor, threshold 1) names K2 and K3 with threshold 2; K2 proves it holds its key.
    added = centre.add_root([k1.public, k2.public, k3.public], 2, [k1, k2])  # type: ignore[list-item]
    assert added.status_code == 201
    assert added.json() == {"state": "applied", "version": 2}
    # K1 leaves: K2 drafts version 3 without K1 and with K4; one signature is not enough (a draft).
    k4 = generate_admin_key()
    draft = centre.draft_root([k2.public, k3.public, k4.public], 2)  # type: ignore[attr-defined]
    half = cosign_trust_root(draft, k2)  # type: ignore[arg-type]
    pending = centre.admin.api("PUT", "/api/admin/trust-root", {"root": b64(half)})
    assert pending.status_code == 202
    assert pending.json()["state"] == "pending"
    assert unb64(client.get("/api/trust").json()["draft"]) == half
    assert len(client.get("/api/trust").json()["roots"]) == 2
    # K3 cosigns the draft on their own device: applied.
    full = cosign_trust_root(half, k3)  # type: ignore[arg-type]
    done = centre.admin.api("PUT", "/api/admin/trust-root", {"root": b64(full)})
    assert done.status_code == 201, done.text
    centre.roots.append(full)
    assert client.get("/api/trust").json()["draft"] is None
    trust = verify_trust_root(centre.roots, centre.pin)
    assert set(trust.anchors) == {k2.public, k3.public, k4.public}
    # K1 alone can neither certify (a directory it signs is refused) nor rotate again.
    assert publish_signed_by(centre, k1).status_code == 422
    alone = centre.add_root([k1.public, k2.public], 1, [k1])
    assert alone.status_code == 422
    # A current anchor publishes.
    assert publish_signed_by(centre, k2).status_code == 422  # still lists K1's certificates
    assert publish_signed_by(centre, k2, recertify=True).status_code == 204
    # A client that remembered version 2 accepts the chain; a rollback to version 2 is refused.
    known = verify_trust_root(centre.roots[:2], centre.pin)
    verify_trust_root(centre.roots, centre.pin, known)
    with pytest.raises(ProtocolError):
        verify_trust_root(centre.roots[:2], centre.pin, verify_trust_root(centre.roots, centre.pin))


def test_an_anchor_written_into_the_database_is_refused(client: Client, centre: Centre) -> None:
    shadow = generate_admin_key()
    forged = centre.draft_root([centre.admin_key.public, shadow.public], 1)  # type: ignore[attr-defined]
    forged = cosign_trust_root(forged, shadow)

    async def inject() -> None:
        async with client.res.db.begin() as db:
            db.add(TrustRootVersion(centre_id=centre.centre_id, version=2, signed=forged))

    client.run(inject)
    roots = [unb64(r) for r in client.get("/api/directory").json()["roots"]]
    assert len(roots) == 2
    with pytest.raises(ProtocolError) as refused:
        verify_trust_root(roots, centre.pin)  # what every client does with the page's pin
    assert refused.value.code == "bad_root"
    # The server itself no longer trusts the chain: nothing can be published under it.
    assert publish_signed_by(centre, shadow).status_code == 409


def test_the_log_is_signed_consistent_and_lists_roots_and_directories(client: Client, centre: Centre) -> None:
    trust = centre.trust
    first = log_of(client)
    head = verify_log_head(unb64(first["head"]), trust.log_key, centre.centre_id)
    entries = [(e["kind"], unb64(e["hash"])) for e in first["entries"]]
    assert head.size == 2 == len(entries)
    assert entries == [
        entry_of(LogKind.TRUST_ROOT, centre.roots[0]),
        entry_of(LogKind.DIRECTORY, centre.directory),
    ]
    assert verify_log_inclusion(
        head, 1, unb64(log_of(client, 1)["before"]), entries[1:], LogKind.DIRECTORY, centre.directory
    )
    # A new directory: the next head extends the old one.
    old_directory = centre.directory
    assert publish_signed_by(centre, centre.admin_key).status_code == 204
    later = log_of(client, since=head.size)
    new = verify_log_head(unb64(later["head"]), trust.log_key, centre.centre_id)
    tail = [(e["kind"], unb64(e["hash"])) for e in later["entries"]]
    verify_log_consistency(head, new, tail)
    assert tail == [entry_of(LogKind.DIRECTORY, centre.directory)]
    # The old directory is still in the log, but no longer the newest of its kind.
    whole = [(e["kind"], unb64(e["hash"])) for e in log_of(client)["entries"]]
    assert not verify_log_inclusion(
        new, 1, unb64(log_of(client, 1)["before"]), whole[1:], LogKind.DIRECTORY, old_directory
    )
    # Bad queries are a 422, never a 500.
    assert client.get("/api/log?since=99").status_code == 422
    assert client.get("/api/log?since=-1").status_code == 422
    assert client.get("/api/log?since=x").status_code == 422


def test_a_configured_pin_wins_over_first_use(tmp_path: Path, database_url: str) -> None:
    other = generate_admin_key()
    env = app_env(tmp_path / "data", database_url)
    with Client(create_app(load_settings(env)), base_url=BASE_URL) as first:
        centre_id = first.run(lambda: _centre_id(first))
    pin = centre_fingerprint(centre_id, other.public)
    env = app_env(tmp_path / "data", database_url, TRYGG_TRUST_PIN=pin.hex())
    with Client(create_app(load_settings(env)), base_url=BASE_URL) as client:
        page = client.get("/staff/login").text
        assert re.search(rf'name="trygg-pin" content="{pin.hex()}"', page)
        # The admin's own key is not the configured one: version 1 is refused.
        with pytest.raises(AssertionError):
            build_centre(client, BASE_URL, lambda: client.make_staff("admin"), {})
        assert client.get("/api/trust").json()["pin_configured"] is True
        assert client.get("/api/trust").json()["roots"] == []


async def _centre_id(client: Client) -> bytes:
    return await keys.centre_id(client.res)


def test_pins_file_and_bad_pins(tmp_path: Path) -> None:
    pins = tmp_path / "pins"
    pins.write_text("# centre id, pin\n" + "ab" * 16 + " " + "cd" * 32 + "\n")
    settings = load_settings(app_env(tmp_path, "sqlite:///x", TRYGG_TRUST_PINS_FILE=str(pins)))
    assert settings.trust_pins == {bytes.fromhex("ab" * 16): bytes.fromhex("cd" * 32)}
    for bad in ({"TRYGG_TRUST_PIN": "12"}, {"TRYGG_TRUST_PINS_FILE": str(tmp_path / "missing")}):
        with pytest.raises(SettingsError):
            load_settings(app_env(tmp_path, "sqlite:///x", **bad))
    pins.write_text("nonsense\n")
    with pytest.raises(SettingsError):
        load_settings(app_env(tmp_path, "sqlite:///x", TRYGG_TRUST_PINS_FILE=str(pins)))


def test_the_upgrade_logs_the_directories_already_published(database_url: str) -> None:
    """Conversations begun before the upgrade name directories that are then in the log."""
    config = alembic_config(database_url)
    before = ScriptDirectory.from_config(config).get_revision("0008").down_revision
    command.downgrade(config, str(before))
    centre_id = bytes(range(16))

    async def execute(statement: str, **values: object) -> list:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(statement), values)
                return list(result) if result.returns_rows else []
        finally:
            await engine.dispose()

    found = run_async(execute("SELECT centre_id FROM centre_identity"))
    if found:  # a later migration's downgrade kept the first centre's id
        centre_id = bytes(found[0][0])
    else:
        run_async(execute("INSERT INTO centre_identity (singleton, centre_id) VALUES (1, :c)", c=centre_id))
    for serial, signed in ((1, b"first"), (2, b"second")):
        run_async(
            execute(
                "INSERT INTO centre_directories (serial, signed, published_at) VALUES (:s, :d, :t)",
                s=serial,
                d=signed,
                t=datetime.now(UTC),
            )
        )
    command.upgrade(config, "head")
    rows = run_async(
        execute(
            'SELECT "index", kind, object_hash, chain FROM trust_log WHERE centre_id = :c ORDER BY "index"',
            c=centre_id,
        )
    )
    entries = [entry_of(LogKind.DIRECTORY, b"first"), entry_of(LogKind.DIRECTORY, b"second")]
    assert [(r[0], r[1], bytes(r[2])) for r in rows] == [(0, *entries[0]), (1, *entries[1])]
    assert bytes(rows[-1][3]) == log_head_hash(entries)
