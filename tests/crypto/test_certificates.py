"""Certificates and the signed directory, from the shared vectors, plus issuing round trips."""

from __future__ import annotations

from typing import Any

import pytest

from crypto import (
    Role,
    certify,
    certify_public,
    create_staff_identity,
    generate_admin_key,
    sign_directory,
    verify_certificate,
    verify_directory,
)
from crypto import primitives as p
from crypto.identity import AdminKey

from .vectors import cases, error_of, h


@pytest.mark.parametrize("case", cases("certificates.json", "certify"))
def test_certify_is_deterministic(case: dict[str, Any]) -> None:
    key = p.ed25519_private(h(case["admin_secret_hex"]))
    admin = AdminKey(key, p.ed25519_public_bytes(key))
    cert = certify_public(
        admin,
        centre_id=h(case["centre_id_hex"]),
        staff_id=h(case["staff_id_hex"]),
        role=Role(case["role"]),
        display_name=case["display_name"],
        kem_public=h(case["kem_public_hex"]),
        sig_public=h(case["sig_public_hex"]),
        not_before=case["not_before"],
        not_after=case["not_after"],
    )
    assert cert == h(case["certificate_hex"])


@pytest.mark.parametrize("case", cases("certificates.json", "verify"))
def test_verify_certificate(case: dict[str, Any]) -> None:
    anchors = [h(a) for a in case["anchors_hex"]]
    data = h(case["certificate_hex"])
    if case["result"] == "invalid":
        assert error_of(verify_certificate, data, anchors, case["at"]) == case["error"]
        return
    cert = verify_certificate(data, anchors, case["at"])
    assert cert.centre_id == h(case["centre_id_hex"])
    assert cert.staff_id == h(case["staff_id_hex"])
    assert cert.role == case["role"]
    assert cert.display_name == case["display_name"]
    assert (cert.not_before, cert.not_after) == (case["not_before"], case["not_after"])
    assert cert.issuer == h(case["issuer_hex"])


@pytest.mark.parametrize("case", cases("directory.json"))
def test_verify_directory(case: dict[str, Any]) -> None:
    anchors = [h(a) for a in case["anchors_hex"]]
    data = h(case["directory_hex"])
    if case["result"] == "invalid":
        assert error_of(verify_directory, data, anchors, case["now"], case["min_serial"]) == case["error"]
        return
    directory = verify_directory(data, anchors, case["now"], case["min_serial"])
    assert directory.centre_id == h(case["centre_id_hex"])
    assert directory.serial == case["serial"]
    assert [c.staff_id for c in directory.certificates] == [h(x) for x in case["staff_ids_hex"]]


def test_issue_and_verify_round_trip() -> None:
    admin = generate_admin_key()
    staff = create_staff_identity(b"c" * 16, b"s" * 16, Role.INTERPRETER)
    cert = certify(admin, staff, "Ida", 100, 200)
    parsed = verify_certificate(cert, [admin.public], 150)
    assert (parsed.kem_public, parsed.sig_public, parsed.role) == (
        staff.kem_public,
        staff.sig_public,
        Role.INTERPRETER,
    )
    directory = sign_directory(admin, b"c" * 16, 1, 100, 200, [cert])
    assert verify_directory(directory, [admin.public], 150).certificates == (parsed,)


def test_refuses_to_issue_bad_values() -> None:
    admin = generate_admin_key()
    staff = create_staff_identity(b"c" * 16, b"s" * 16, Role.COUNSELLOR)
    assert error_of(certify, admin, staff, "", 1, 2) == "malformed"
    assert error_of(certify, admin, staff, "x" * 65, 1, 2) == "malformed"
    assert error_of(certify, admin, staff, "ok", 3, 2) == "malformed"
    assert error_of(certify, admin, staff, "tab\there", 1, 2) == "malformed"


def test_reprs_hold_no_secrets() -> None:
    admin = generate_admin_key()
    staff = create_staff_identity(b"c" * 16, b"s" * 16, Role.COUNSELLOR)
    seed = p.ed25519_private_bytes(admin.private).hex()
    assert seed not in repr(admin)
    assert p.x25519_private_bytes(staff.kem_private).hex() not in repr(staff)
