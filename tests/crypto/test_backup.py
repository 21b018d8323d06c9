"""Staff key backup under a passphrase: vectors, round trip, and refusal of weak parameters."""

from __future__ import annotations

from typing import Any

import pytest

from crypto import (
    Role,
    b64decode,
    create_staff_identity,
    export_admin_backup,
    export_staff_backup,
    generate_admin_key,
    import_admin_backup,
    import_staff_backup,
)
from crypto import testing as t

from .vectors import cases, error_of, h, load


@pytest.mark.parametrize("case", cases("staff_backup.json", "import"))
def test_import(case: dict[str, Any]) -> None:
    blob = b64decode(case["backup_b64url"])
    importer = import_staff_backup if case["floor"] == "production" else t.import_staff_backup_low_iterations
    if case["result"] == "invalid":
        assert error_of(importer, blob, case["passphrase"]) == case["error"]
        return
    member = importer(blob, case["passphrase"])
    assert member.member_id == h(case["member_id_hex"])
    assert member.centre_id == h(case["centre_id_hex"])
    assert member.role == case["role"]
    assert member.kem_public == h(case["kem_public_hex"])
    assert member.sig_public == h(case["sig_public_hex"])


@pytest.mark.parametrize("case", cases("staff_backup.json", "export"))
def test_export_refusals(case: dict[str, Any]) -> None:
    ident = load("staff_backup.json")["identity"]
    from crypto.identity import member_from_private_bytes

    member = member_from_private_bytes(
        h(ident["member_id_hex"]),
        Role(ident["role"]),
        h(ident["centre_id_hex"]),
        h(ident["kem_private_hex"]),
        h(ident["sig_private_hex"]),
    )
    assert error_of(export_staff_backup, member, case["passphrase"], case["iterations"]) == case["error"]


def test_production_round_trip() -> None:
    member = create_staff_identity(bytes(16), b"s" * 16, Role.COUNSELLOR)
    blob = export_staff_backup(member, "en lang og god passfrase")
    back = import_staff_backup(blob, "en lang og god passfrase")
    assert (back.member_id, back.kem_public, back.sig_public) == (
        member.member_id,
        member.kem_public,
        member.sig_public,
    )
    assert error_of(import_staff_backup, blob, "en lang og god passfrasE") == "bad_tag"


@pytest.mark.parametrize("case", cases("admin_backup.json"))
def test_admin_backup(case: dict[str, Any]) -> None:
    blob = b64decode(case["backup_b64url"])
    if case["kind"] == "import_staff":
        importer: Any = t.import_staff_backup_low_iterations
    elif case["floor"] == "production":
        importer = import_admin_backup
    else:
        importer = t.import_admin_backup_low_iterations
    if case["result"] == "invalid":
        assert error_of(importer, blob, case["passphrase"]) == case["error"]
    else:
        assert importer(blob, case["passphrase"]).public == h(case["admin_public_hex"])


def test_admin_round_trip() -> None:
    admin = generate_admin_key()
    blob = export_admin_backup(admin, "senterets lange passfrase")
    assert import_admin_backup(blob, "senterets lange passfrase").public == admin.public
    assert error_of(export_admin_backup, admin, "kort") == "weak_parameters"
