"""Regenerate our own shared test vectors: ``python -m crypto.vectors.generate [--check]``.

Every random byte comes from a named seed (crypto.testing.DeterministicRandom) and every time
is fixed, so the output is byte-for-byte reproducible; a test compares it with the committed
files. Negative cases are forged here with the real private keys where a check must be
reached past the signature (e.g. a validly signed commit that breaks a membership rule).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import hpke
from .. import primitives as p
from .. import testing as t
from ..backup import export_staff_backup
from ..certificates import certify, parse_directory, sign_directory, verify_directory
from ..constants import (
    LIVE_SKEW,
    MAX_CLOCK_SKEW,
    MAX_ITERATIONS,
    MIN_ITERATIONS,
    SIG_LEN,
    SUITE,
    VERSION,
    ObjectType,
    Role,
    label,
)
from ..conversation import (
    Conversation,
    Live,
    Received,
    _staff_entry,
    _visitor_entry,
)
from ..encoding import Writer, b64encode, header
from ..errors import ProtocolError
from ..fingerprint import conversation_code, fingerprint, safety_number
from ..identity import AdminKey, LocalMember
from ..keyschedule import (
    confirmation,
    history_info,
    message_hash,
    message_key,
    signature_input,
    wrap_info,
)
from ..messages import (
    Envelope,
    MemberEntry,
    encode_add_proposal,
    encode_envelope,
    encode_remove_proposal,
)
from ..padding import pad
from ..recovery import parse_recovery_phrase, phrase_from_entropy
from ..resume import code_from_entropy, format_resume_code
from ..trust import TrustRoot, centre_fingerprint, verify_trust_root
from ..visitor import Created
from ..wire import check_listed_members, peek
from ..wordlist import WORDS
from .trust_vectors import log_vectors, make_root, trust_root_vectors

OUT = Path(__file__).parent
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400
ROTATION = NOW + 60 * DAY  # trust root version 3 retires the first anchor
Y2024_JUNE = 1_717_200_000  # 2024-06-01
NOT_AFTER = {"A": NOW + 10 * DAY}  # Anna's certificate is short-lived (revocation vectors)
LOW_ITERATIONS = 1000
Json = dict[str, Any]


def hx(data: bytes) -> str:
    return data.hex()


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


def member_json(m: LocalMember) -> Json:
    return {
        "member_id_hex": hx(m.member_id),
        "role": int(m.role),
        "centre_id_hex": hx(m.centre_id),
        "kem_private_hex": hx(p.x25519_private_bytes(m.kem_private)),
        "sig_private_hex": hx(p.ed25519_private_bytes(m.sig_private)),
        "kem_public_hex": hx(m.kem_public),
        "sig_public_hex": hx(m.sig_public),
    }


def code_of(call: Callable[[], object]) -> str | None:
    """The protocol error code a call raises (None if it succeeds): the generator checks itself."""
    try:
        call()
    except ProtocolError as e:
        return e.code.value
    return None


def invalid(case: Json, error: str) -> Json:
    return {**case, "result": "invalid", "error": error}


class World:
    """The fixed cast: one centre, its admin, a rogue key, three counsellors and an interpreter;
    three more anchor keys and a log key; a trust root in three versions (v1: the admin alone;
    v2: 2-of-3 with K2, K3; v3, at ROTATION: K1 retired, K4 added)."""

    STAFF = (
        ("A", Role.COUNSELLOR, "Anna Berg"),
        ("B", Role.COUNSELLOR, "Bjørn Ås"),
        ("C", Role.COUNSELLOR, "Cecilie Dahl"),
        ("I", Role.INTERPRETER, "Ida Haddad (tolk)"),
    )

    def __init__(self) -> None:
        self.rand = t.DeterministicRandom(b"trygg vectors: world")
        self.centre_id = self.rand(16)
        self.admin = t.generate_admin_key_with(self.rand)
        self.rogue = t.generate_admin_key_with(self.rand)
        self.staff: dict[str, LocalMember] = {}
        self.certs: dict[str, bytes] = {}
        for name, role, display in self.STAFF:
            member = t.create_staff_identity_with(self.centre_id, self.rand(16), role, self.rand)
            self.staff[name] = member
            self.certs[name] = certify(
                self.admin, member, display, NOW - DAY, NOT_AFTER.get(name, NOW + 365 * DAY)
            )
        self.directory = sign_directory(
            self.admin,
            self.centre_id,
            7,
            NOW - 3600,
            NOW + 30 * DAY,
            [self.certs[n] for n in "ABCI"],
        )
        self.anchors = [self.admin.public]
        self.k2, self.k3, self.k4 = (t.generate_admin_key_with(self.rand) for _ in range(3))
        self.log_key = t.generate_admin_key_with(self.rand)
        self.pin = centre_fingerprint(self.centre_id, self.admin.public)
        self.roots = self._roots()
        self.trust = verify_trust_root(self.roots[:2], self.pin)  # what clients know at NOW
        self.trust_full = verify_trust_root(self.roots, self.pin)  # ... and after ROTATION

    def _roots(self) -> list[bytes]:
        k1, k2, k3, k4 = self.admin, self.k2, self.k3, self.k4
        v1 = make_root(self, 1, NOW - 30 * DAY, None, [k1], 1, [k1])
        v2 = make_root(self, 2, NOW - 20 * DAY, v1, [k1, k2, k3], 2, [k1, k2])
        v3 = make_root(self, 3, ROTATION, v2, [k2, k3, k4], 2, [k2, k3])
        return [v1, v2, v3]

    def trust_json(self) -> Json:
        return {"pin_hex": hx(self.pin), "chain_hex": [hx(r) for r in self.roots]}

    def admin_json(self) -> Json:
        return {
            "admin_secret_hex": hx(p.ed25519_private_bytes(self.admin.private)),
            "admin_public_hex": hx(self.admin.public),
            "rogue_public_hex": hx(self.rogue.public),
            "centre_id_hex": hx(self.centre_id),
        }


# -- primitives-level KATs -------------------------------------------------------------


def encoding_vectors() -> Json:
    valid = [("empty", "", b""), ("one", "AA", b"\x00"), ("two", "AAE", b"\x00\x01")]
    valid += [("url-alphabet", "-_-8", bytes.fromhex("fbffbc")), ("three", "AQID", b"\x01\x02\x03")]
    cases: list[Json] = [
        {"id": f"b64url-{n}", "text": s, "bytes_hex": hx(b), "result": "valid"} for n, s, b in valid
    ]
    for n, s in [
        ("length-mod-4-is-1", "AAAAA"),
        ("non-canonical-trailing-bits", "AB"),
        ("padding", "AA=="),
        ("whitespace", "AA AA"),
        ("standard-alphabet", "+/8"),
        ("non-ascii", "AAé"),
    ]:
        cases.append(invalid({"id": f"b64url-{n}", "text": s}, "malformed"))
    return {"description": "Strict base64url (RFC 4648 §5) without padding.", "cases": cases}


def padding_vectors() -> Json:
    cases: list[Json] = []
    for body_len in (0, 1, 251, 252, 1019, 1020, 4091, 4092, 16379, 16380, 65531):
        body = bytes([0xAB]) * body_len
        padded = pad(2, body)
        case: Json = {
            "id": f"pad-{body_len}",
            "kind": "pad",
            "content_type": 2,
            "body_len": body_len,
            "body_byte_hex": "ab",
            "padded_len": len(padded),
            "padded_sha256_hex": hx(p.sha256(padded)),
            "result": "valid",
        }
        if len(padded) <= 256:
            case["padded_hex"] = hx(padded)
        cases.append(case)
    cases.append(
        invalid(
            {"id": "pad-too-big", "kind": "pad", "content_type": 2, "body_len": 65532, "body_byte_hex": "ab"},
            "oversize",
        )
    )
    good = pad(1, b"hei")
    bad = {
        "nonzero-padding": good[:-1] + b"\x01",
        "length-too-large": good[:1] + (252).to_bytes(4, "big") + good[5:],
        "content-type-zero": b"\x00" + good[1:],
        "not-a-bucket": good + bytes(44),
        "non-minimal-bucket": b"\x01" + (3).to_bytes(4, "big") + b"hei" + bytes(1016),
    }
    for name, data in bad.items():
        cases.append(invalid({"id": f"unpad-{name}", "kind": "unpad", "padded_hex": hx(data)}, "malformed"))
    cases.append(
        {
            "id": "unpad-ok",
            "kind": "unpad",
            "padded_hex": hx(good),
            "content_type": 1,
            "body_hex": hx(b"hei"),
            "result": "valid",
        }
    )
    return {"description": "Plaintext framing and padding buckets.", "cases": cases}


def key_schedule_vectors() -> Json:
    rand = t.DeterministicRandom(b"trygg vectors: key schedule")
    cases: list[Json] = []
    for i in range(3):
        secret, key_nonce, aad = rand(32), rand(16), rand(40 + 30 * i)
        key, nonce = message_key(secret, key_nonce, aad)
        cases.append(
            {
                "id": f"message-key-{i}",
                "kind": "message_key",
                "epoch_secret_hex": hx(secret),
                "key_nonce_hex": hx(key_nonce),
                "aad_hex": hx(aad),
                "key_hex": hx(key),
                "nonce_hex": hx(nonce),
                "result": "valid",
            }
        )
    for i in range(2):
        secret, confirm_input = rand(32), rand(100 + i)
        confirm_hash = p.sha256(confirm_input)
        cases.append(
            {
                "id": f"confirmation-{i}",
                "kind": "confirmation",
                "epoch_secret_hex": hx(secret),
                "confirm_input_hex": hx(confirm_input),
                "confirm_hash_hex": hx(confirm_hash),
                "confirmation_hex": hx(confirmation(secret, confirm_hash)),
                "result": "valid",
            }
        )
    conv, sender, recipient = rand(16), rand(16), rand(16)
    cases.append(
        {
            "id": "wrap-info",
            "kind": "wrap_info",
            "conversation_id_hex": hx(conv),
            "epoch": 3,
            "sender_id_hex": hx(sender),
            "recipient_id_hex": hx(recipient),
            "info_hex": hx(wrap_info(conv, 3, sender, recipient)),
            "result": "valid",
        }
    )
    ctx = rand(77)
    cases.append(
        {
            "id": "history-info",
            "kind": "history_info",
            "info_context_hex": hx(ctx),
            "info_hex": hx(history_info(ctx)),
            "result": "valid",
        }
    )
    for name, context in [("message", b""), ("resume/lookup", b""), ("fingerprint", b"\x01\x02")]:
        cases.append(
            {
                "id": f"label-{name}",
                "kind": "label",
                "name": name,
                "context_hex": hx(context),
                "label_hex": hx(label(name, context)),
                "result": "valid",
            }
        )
    tbs = rand(50)
    cases.append(
        {
            "id": "signature-input-application",
            "kind": "signature_input",
            "name": "application",
            "tbs_hex": hx(tbs),
            "input_hex": hx(signature_input("application", tbs)),
            "result": "valid",
        }
    )
    return {"description": "Derivations from epoch secrets and every label/info string.", "cases": cases}


def hpke_wrap_vectors() -> Json:
    rand = t.DeterministicRandom(b"trygg vectors: hpke")
    sk_r = rand(32)
    recipient = p.x25519_private(sk_r)
    pk_r = p.x25519_public_bytes(recipient)
    cases: list[Json] = []
    sealed = []
    for i, (info, pt) in enumerate(
        [(wrap_info(rand(16), 1, rand(16), rand(16)), rand(32)), (label("history", rand(60)), rand(96))]
    ):
        eph = rand(32)
        shared, enc = hpke.encap(pk_r, eph)
        ks = hpke.key_schedule(shared, info)
        ct = p.aead_seal(ks.key, ks.base_nonce, pt, b"")
        sealed.append((enc, ct, info, pt))
        cases.append(
            {
                "id": f"seal-{i}",
                "kind": "seal",
                "recipient_private_hex": hx(sk_r),
                "recipient_public_hex": hx(pk_r),
                "ephemeral_private_hex": hx(eph),
                "info_hex": hx(info),
                "pt_hex": hx(pt),
                "enc_hex": hx(enc),
                "shared_secret_hex": hx(shared),
                "key_hex": hx(ks.key),
                "base_nonce_hex": hx(ks.base_nonce),
                "ct_hex": hx(ct),
                "result": "valid",
            }
        )
    enc, ct, info, _ = sealed[0]
    base = {"kind": "open", "recipient_private_hex": hx(sk_r), "info_hex": hx(info)}
    for name, e, c, wrong_info in [
        ("tampered-ct", enc, flip(ct, 3), info),
        ("tampered-tag", enc, flip(ct, len(ct) - 1), info),
        ("tampered-enc", flip(enc, 5), ct, info),
        ("wrong-info", enc, ct, info + b"x"),
        ("low-order-enc", bytes(32), ct, info),
    ]:
        cases.append(
            invalid(
                {**base, "id": f"open-{name}", "enc_hex": hx(e), "ct_hex": hx(c), "info_hex": hx(wrong_info)},
                "bad_tag",
            )
        )
    return {
        "description": (
            "HPKE base mode as used for wraps: DHKEM(X25519,HKDF-SHA256), HKDF-SHA256, "
            "AES-256-GCM, aad empty."
        ),
        "cases": cases,
    }


# -- certificates and directory ---------------------------------------------------------


def raw_certificate(
    signer: AdminKey,
    *,
    version: int = VERSION,
    suite: int = SUITE,
    object_type: int = ObjectType.CERTIFICATE,
    centre_id: bytes,
    staff_id: bytes,
    role: int,
    name: bytes,
    kem_public: bytes,
    sig_public: bytes,
    not_before: int,
    not_after: int,
    issuer: bytes | None = None,
) -> bytes:
    """A certificate built field by field, to sign values the real encoder refuses."""
    w = Writer().raw(header(object_type, version, suite)).raw(centre_id).raw(staff_id).u8(role)
    w.opaque(name, 1).raw(kem_public).raw(sig_public).u64(not_before).u64(not_after)
    tbs = w.raw(issuer or signer.public).getvalue()
    return tbs + p.ed25519_sign(signer.private, label("sig/certificate", tbs))


def cert_fields(world: World, name: str) -> Json:
    m = world.staff[name]
    display = {n: d for n, _, d in World.STAFF}[name]
    return {
        "centre_id": world.centre_id,
        "staff_id": m.member_id,
        "role": int(m.role),
        "name": display.encode(),
        "kem_public": m.kem_public,
        "sig_public": m.sig_public,
        "not_before": NOW - DAY,
        "not_after": NOT_AFTER.get(name, NOW + 365 * DAY),
    }


def certificate_vectors(world: World) -> Json:
    anchors = [hx(a) for a in world.anchors]
    cases: list[Json] = []
    for name in "ABCI":
        m = world.staff[name]
        display = {n: d for n, _, d in World.STAFF}[name]
        cases.append(
            {
                "id": f"certify-{name}",
                "kind": "certify",
                "admin_secret_hex": hx(p.ed25519_private_bytes(world.admin.private)),
                "centre_id_hex": hx(world.centre_id),
                "staff_id_hex": hx(m.member_id),
                "role": int(m.role),
                "display_name": display,
                "kem_public_hex": hx(m.kem_public),
                "sig_public_hex": hx(m.sig_public),
                "not_before": NOW - DAY,
                "not_after": NOT_AFTER.get(name, NOW + 365 * DAY),
                "certificate_hex": hx(world.certs[name]),
                "result": "valid",
            }
        )
    good = world.certs["B"]

    def verify_case(case_id: str, data: bytes, at: int, error: str | None) -> Json:
        case = {
            "id": case_id,
            "kind": "verify",
            "certificate_hex": hx(data),
            "anchors_hex": anchors,
            "at": at,
        }
        if error:
            return invalid(case, error)
        return {
            **case,
            "centre_id_hex": hx(world.centre_id),
            "staff_id_hex": hx(world.staff["B"].member_id),
            "role": 1,
            "display_name": "Bjørn Ås",
            "not_before": NOW - DAY,
            "not_after": NOW + 365 * DAY,
            "issuer_hex": hx(world.admin.public),
            "result": "valid",
        }

    fields = cert_fields(world, "B")
    cases += [
        verify_case("verify-ok", good, NOW, None),
        verify_case("verify-at-not-before", good, NOW - DAY, None),
        verify_case("verify-expired", good, NOW + 366 * DAY, "bad_certificate"),
        verify_case("verify-not-yet-valid", good, NOW - 2 * DAY, "bad_certificate"),
        verify_case("verify-rogue-issuer", raw_certificate(world.rogue, **fields), NOW, "bad_certificate"),
        verify_case(
            "verify-claims-admin-but-rogue-signed",
            raw_certificate(world.rogue, issuer=world.admin.public, **fields),
            NOW,
            "bad_certificate",
        ),
        verify_case("verify-tampered-signature", flip(good, len(good) - 1), NOW, "bad_certificate"),
        verify_case(
            "verify-tampered-kem-key", flip(good, 3 + 16 + 16 + 1 + 1 + 10 + 2), NOW, "bad_certificate"
        ),
        verify_case("verify-unsupported-version", b"\x01" + good[1:], NOW, "unsupported_version"),
        verify_case("verify-unsupported-suite", good[:1] + b"\x02" + good[2:], NOW, "unsupported_suite"),
        verify_case("verify-wrong-type", good[:2] + b"\x02" + good[3:], NOW, "malformed"),
        verify_case("verify-truncated", good[:-1], NOW, "truncated"),
        verify_case("verify-trailing-byte", good + b"\x00", NOW, "malformed"),
        verify_case("verify-oversize", good + bytes(600), NOW, "oversize"),
        verify_case(
            "verify-role-visitor", raw_certificate(world.admin, **{**fields, "role": 0}), NOW, "malformed"
        ),
        verify_case(
            "verify-name-invalid-utf8",
            raw_certificate(world.admin, **{**fields, "name": b"Bj\xc3rn"}),
            NOW,
            "malformed",
        ),
        verify_case(
            "verify-name-control-char",
            raw_certificate(world.admin, **{**fields, "name": b"Bj\x07rn"}),
            NOW,
            "malformed",
        ),
        verify_case(
            "verify-name-empty", raw_certificate(world.admin, **{**fields, "name": b""}), NOW, "malformed"
        ),
        verify_case(
            "verify-name-too-long",
            raw_certificate(world.admin, **{**fields, "name": b"x" * 65}),
            NOW,
            "oversize",
        ),
        verify_case(
            "verify-validity-reversed",
            raw_certificate(world.admin, **{**fields, "not_before": NOW + 1, "not_after": NOW}),
            NOW,
            "malformed",
        ),
    ]
    return {
        "description": "Staff certificates (directory entries) issued by the centre admin.",
        "world": world.admin_json(),
        "cases": cases,
    }


def raw_directory(
    signer: AdminKey, centre_id: bytes, entries: list[bytes], issued: int, expires: int
) -> bytes:
    w = Writer().raw(header(ObjectType.DIRECTORY, VERSION, SUITE)).raw(centre_id).u64(9)
    w.u64(issued).u64(expires).u16(len(entries))
    for entry in entries:
        w.opaque(entry, 2)
    tbs = w.raw(signer.public).getvalue()
    return tbs + p.ed25519_sign(signer.private, label("sig/directory", tbs))


def directory_vectors(world: World) -> Json:
    anchors = [hx(a) for a in world.anchors]
    ordered = sorted((world.certs[n] for n in "ABCI"), key=lambda c: c[19:35])

    def case(case_id: str, data: bytes, now: int, error: str | None, min_serial: int = 0) -> Json:
        c = {
            "id": case_id,
            "directory_hex": hx(data),
            "anchors_hex": anchors,
            "now": now,
            "min_serial": min_serial,
        }
        if error:
            return invalid(c, error)
        return {
            **c,
            "centre_id_hex": hx(world.centre_id),
            "serial": 7,
            "staff_ids_hex": [hx(x[19:35]) for x in ordered],
            "result": "valid",
        }

    other_centre = raw_certificate(world.admin, **{**cert_fields(world, "C"), "centre_id": bytes(16)})
    rogue_entry = raw_certificate(world.rogue, issuer=world.admin.public, **cert_fields(world, "C"))
    good = world.directory
    cases = [
        case("directory-ok", good, NOW, None),
        case("directory-at-the-serial-seen", good, NOW, None, min_serial=7),
        case("directory-older-than-the-serial-seen", good, NOW, "bad_certificate", min_serial=8),
        case("directory-expired", good, NOW + 31 * DAY, "bad_certificate"),
        case("directory-not-yet-issued", good, NOW - 2 * 3600, "bad_certificate"),
        case(
            "directory-rogue-signer",
            raw_directory(world.rogue, world.centre_id, ordered, NOW - 3600, NOW + DAY),
            NOW,
            "bad_certificate",
        ),
        case("directory-tampered", flip(good, 20), NOW, "bad_certificate"),
        case(
            "directory-unsorted",
            raw_directory(world.admin, world.centre_id, ordered[::-1], NOW - 3600, NOW + DAY),
            NOW,
            "malformed",
        ),
        case(
            "directory-duplicate",
            raw_directory(world.admin, world.centre_id, [ordered[0], *ordered], NOW - 3600, NOW + DAY),
            NOW,
            "malformed",
        ),
        case(
            "directory-entry-other-centre",
            raw_directory(
                world.admin,
                world.centre_id,
                sorted([*ordered[:2], other_centre], key=lambda c: c[19:35]),
                NOW - 3600,
                NOW + DAY,
            ),
            NOW,
            "bad_certificate",
        ),
        case(
            "directory-entry-rogue-signed",
            raw_directory(
                world.admin,
                world.centre_id,
                sorted([*ordered[:2], rogue_entry], key=lambda c: c[19:35]),
                NOW - 3600,
                NOW + DAY,
            ),
            NOW,
            "bad_certificate",
        ),
        case("directory-truncated", good[:-10], NOW, "truncated"),
    ]
    return {
        "description": "The signed staff directory a visitor's client encrypts the queue epoch to.",
        "cases": cases,
    }


# -- resume codes, visitor state, staff backup, fingerprints ----------------------------


def resume_code_vectors(world: World) -> Json:
    rand = t.DeterministicRandom(b"trygg vectors: resume")
    cases: list[Json] = []
    codes = []
    for i in range(4):
        entropy = rand(12) if i else bytes(12)
        code = code_from_entropy(entropy)
        codes.append(code)
        cases.append(
            {
                "id": f"generate-{i}",
                "kind": "generate",
                "entropy_hex": hx(entropy),
                "code": code,
                "formatted": format_resume_code(code),
                "result": "valid",
            }
        )
    code = codes[1]
    formatted = format_resume_code(code)
    variants = {
        "formatted": formatted,
        "lowercase": formatted.lower(),
        "spaces": " ".join(formatted.split("-")),
        "no-separators": code,
        "O-for-0": code.replace("0", "O"),
        "I-and-L-for-1": code.replace("1", "I", 1).replace("1", "l"),
        "nbsp-and-tab": formatted.replace("-", "\u00a0", 2).replace("-", "\t"),
    }
    for name, text in variants.items():
        cases.append({"id": f"parse-{name}", "kind": "parse", "input": text, "code": code, "result": "valid"})
    swapped = code[:5] + code[6] + code[5] + code[7:]
    substituted = code[:8] + ("Z" if code[8] != "Z" else "Y") + code[9:]
    bad = [
        ("too-short", code[:-1], "bad_code_length"),
        ("too-long", code + "0", "bad_code_length"),
        ("letter-U", "U" + code[1:], "bad_code_character"),
        ("non-ascii", "Ø" + code[1:], "bad_code_character"),
        ("punctuation", code[:4] + "." + code[4:], "bad_code_character"),
        ("one-substitution", substituted, "bad_code_checksum"),
        ("check-symbol-changed", code[:-1] + ("0" if code[-1] != "0" else "1"), "bad_code_checksum"),
        ("way-too-long", "0" * 70, "bad_code_length"),
    ]
    if swapped != code:
        bad.append(("adjacent-swap", swapped, "bad_code_checksum"))
    for name, text, error in bad:
        cases.append(invalid({"id": f"parse-{name}", "kind": "parse", "input": text}, error))
    for i, (c, iterations) in enumerate(
        [(codes[1], LOW_ITERATIONS), (codes[2], LOW_ITERATIONS), (codes[3], MIN_ITERATIONS)]
    ):
        keys = t.derive_resume_keys_with_iterations(c, world.centre_id, iterations)
        cases.append(
            {
                "id": f"derive-{i}-{iterations}",
                "kind": "derive",
                "code": format_resume_code(c),
                "centre_id_hex": hx(world.centre_id),
                "iterations": iterations,
                "lookup_id_hex": hx(keys.lookup_id),
                "access_verifier_hex": hx(keys.access_verifier),
                "state_key_hex": hx(keys.state_key),
                "result": "valid",
            }
        )
    return {
        "description": "Resume codes: 18 Crockford base32 data symbols + 2 check symbols (mod 1021).",
        "cases": cases,
    }


def visitor_state_vectors(world: World, created: Created, code: str) -> Json:
    t.derive_resume_keys_with_iterations(code, world.centre_id, LOW_ITERATIONS)
    blob = created.visitor_state
    assert blob is not None
    conv = created.conversation
    me = conv.me
    base = {
        "kind": "import",
        "code": code,
        "centre_id_hex": hx(world.centre_id),
        "iterations": LOW_ITERATIONS,
        "floor": "test",
    }
    other_code = format_resume_code(code_from_entropy(b"\x55" * 12))
    cases: list[Json] = [
        {
            **base,
            "id": "import-ok",
            "state_b64url": b64encode(blob),
            "conversation_id_hex": hx(conv.conversation_id),
            "member_id_hex": hx(me.member_id),
            "kem_public_hex": hx(me.kem_public),
            "sig_public_hex": hx(me.sig_public),
            "genesis_hash_hex": hx(conv.genesis_hash),
            "pin_hex": hx(world.pin),
            "result": "valid",
        },
        invalid(
            {**base, "id": "import-wrong-code", "code": other_code, "state_b64url": b64encode(blob)},
            "bad_tag",
        ),
        invalid(
            {
                **base,
                "id": "import-wrong-centre",
                "centre_id_hex": hx(bytes(16)),
                "state_b64url": b64encode(blob),
            },
            "bad_tag",
        ),
        invalid(
            {**base, "id": "import-tampered-ciphertext", "state_b64url": b64encode(flip(blob, 40))}, "bad_tag"
        ),
        invalid({**base, "id": "import-tampered-nonce", "state_b64url": b64encode(flip(blob, 8))}, "bad_tag"),
        invalid(
            {
                **base,
                "id": "import-iterations-mismatch",
                "state_b64url": b64encode(blob[:3] + (999).to_bytes(4, "big") + blob[7:]),
            },
            "weak_parameters",
        ),
        invalid(
            {**base, "id": "import-production-floor", "floor": "production", "state_b64url": b64encode(blob)},
            "weak_parameters",
        ),
        invalid(
            {**base, "id": "import-unsupported-version", "state_b64url": b64encode(b"\x09" + blob[1:])},
            "unsupported_version",
        ),
        invalid({**base, "id": "import-truncated", "state_b64url": b64encode(blob[:-1])}, "truncated"),
        invalid({**base, "id": "import-trailing", "state_b64url": b64encode(blob + b"\x00")}, "malformed"),
        invalid(
            {
                **base,
                "id": "import-oversize-length",
                "state_b64url": b64encode(blob[:19] + (5000).to_bytes(4, "big") + blob[23:]),
            },
            "oversize",
        ),
    ]
    return {"description": "The visitor's keys sealed under the resume code's state key.", "cases": cases}


def _phrase(seed: bytes) -> str:
    return phrase_from_entropy(t.DeterministicRandom(seed)(11))


def _backup_cases(blob: bytes, phrase: str, other: str) -> list[Json]:
    """Refusals both backup types share: wrong or mistyped phrases, tampering, KDF bounds."""
    base = {"kind": "import", "floor": "test", "phrase": phrase}
    words = phrase.split()
    mistyped = " ".join([*words[:3], words[4], words[3], *words[5:]])
    above = blob[:3] + (MAX_ITERATIONS + 1).to_bytes(4, "big") + blob[7:]
    cases = [
        ("wrong-phrase", {"phrase": other}, blob, "bad_tag"),
        ("swapped-words", {"phrase": mistyped}, blob, "bad_code_checksum"),
        ("unknown-word", {"phrase": " ".join(["trygg", *words[1:]])}, blob, "bad_code_character"),
        ("eight-words", {"phrase": " ".join(words[:8])}, blob, "bad_code_length"),
        ("tampered-salt", {}, flip(blob, 9), "bad_tag"),
        ("tampered-ciphertext", {}, flip(blob, 60), "bad_tag"),
        ("production-floor", {"floor": "production"}, blob, "weak_parameters"),
        ("iterations-above-ceiling", {}, above, "weak_parameters"),
        ("truncated", {}, blob[:30], "truncated"),
        ("unsupported-suite", {}, blob[:1] + b"\x07" + blob[2:], "unsupported_suite"),
        ("version-1", {}, b"\x01" + blob[1:], "unsupported_version"),
    ]
    return [
        invalid({**base, **over, "id": f"import-{name}", "backup_b64url": b64encode(data)}, error)
        for name, over, data, error in cases
    ]


def staff_backup_vectors(world: World) -> Json:
    rand = t.DeterministicRandom(b"trygg vectors: backup")
    member = world.staff["A"]
    phrase = _phrase(b"trygg vectors: staff phrase")
    blob = t.export_staff_backup_with(member, phrase, LOW_ITERATIONS, rand)
    ok = {
        "kind": "import",
        "floor": "test",
        "backup_b64url": b64encode(blob),
        "member_id_hex": hx(member.member_id),
        "centre_id_hex": hx(member.centre_id),
        "role": int(member.role),
        "kem_public_hex": hx(member.kem_public),
        "sig_public_hex": hx(member.sig_public),
        "result": "valid",
    }
    prefixes = " ".join(w[:4] if len(w) > 4 else w for w in phrase.split())
    cases: list[Json] = [
        {**ok, "id": "import-ok", "phrase": phrase},
        {**ok, "id": "import-upper-case-and-dashes", "phrase": "-".join(phrase.upper().split())},
        {**ok, "id": "import-four-letter-prefixes", "phrase": prefixes},
        *_backup_cases(blob, phrase, _phrase(b"trygg vectors: another phrase")),
    ]
    for case_id, iterations, text in [
        ("export-low-iterations", LOW_ITERATIONS, phrase),
        ("export-above-ceiling", MAX_ITERATIONS + 1, phrase),
        ("export-chosen-passphrase", MIN_ITERATIONS, "Grønn hest, batteri og stift"),
    ]:
        try:
            export_staff_backup(member, text, iterations)
        except ProtocolError as e:
            cases.append(
                invalid(
                    {"id": case_id, "kind": "export", "iterations": iterations, "phrase": text}, e.code.value
                )
            )
    return {
        "description": "Staff private keys sealed under a generated recovery phrase (PBKDF2-SHA256 + HKDF).",
        "identity": member_json(member),
        "cases": cases,
    }


def admin_backup_vectors(world: World) -> Json:
    rand = t.DeterministicRandom(b"trygg vectors: admin backup")
    phrase = _phrase(b"trygg vectors: admin phrase")
    blob = t.export_admin_backup_with(world.admin, phrase, LOW_ITERATIONS, rand)
    staff_blob = t.export_staff_backup_with(world.staff["B"], phrase, LOW_ITERATIONS, rand)
    base = {"kind": "import", "floor": "test", "phrase": phrase}
    cases: list[Json] = [
        {
            **base,
            "id": "import-ok",
            "backup_b64url": b64encode(blob),
            "admin_public_hex": hx(world.admin.public),
            "result": "valid",
        },
        *_backup_cases(blob, phrase, _phrase(b"trygg vectors: another phrase")),
        invalid(
            {**base, "id": "import-staff-backup-as-admin", "backup_b64url": b64encode(staff_blob)},
            "malformed",
        ),
        invalid(
            {
                **base,
                "id": "import-admin-backup-as-staff",
                "kind": "import_staff",
                "backup_b64url": b64encode(blob),
            },
            "malformed",
        ),
        invalid(
            {
                **base,
                "id": "import-retyped-staff-backup",
                "backup_b64url": b64encode(staff_blob[:2] + b"\x22" + staff_blob[3:]),
            },
            "bad_tag",
        ),
    ]
    return {
        "description": "The centre admin's signing key sealed under a recovery phrase (type 0x22).",
        "cases": cases,
    }


def recovery_phrase_vectors() -> Json:
    rand = t.DeterministicRandom(b"trygg vectors: recovery phrases")
    cases: list[Json] = []
    phrases = []
    for i, entropy in enumerate([bytes(11), bytes([0xFF]) * 11, rand(11), rand(11)]):
        phrase = phrase_from_entropy(entropy)
        phrases.append(phrase)
        cases.append(
            {
                "id": f"generate-{i}",
                "kind": "generate",
                "entropy_hex": hx(entropy),
                "phrase": phrase,
                "result": "valid",
            }
        )
    phrase = phrases[2]
    words = phrase.split()
    variants = {
        "canonical": phrase,
        "upper-case": phrase.upper(),
        "separators": "  "
        + "-".join(words[:3])
        + ", "
        + " ".join(words[3:6])
        + ".\t"
        + "\u00a0".join(words[6:])
        + "\n",
        "four-letter-prefixes": " ".join(w[:4] for w in words),
        "longer-prefixes": " ".join(w[:5] for w in words),
    }
    for name, text in variants.items():
        cases.append(
            {"id": f"parse-{name}", "kind": "parse", "input": text, "phrase": phrase, "result": "valid"}
        )
    other_check = next(w for w in ("zoo", "abandon") if w != words[8])
    bad = [
        ("eight-words", " ".join(words[:8]), "bad_code_length"),
        ("ten-words", phrase + " " + words[0], "bad_code_length"),
        ("unknown-word", " ".join(["trygg", *words[1:]]), "bad_code_character"),
        ("three-letter-prefix", " ".join(["abs", *words[1:]]), "bad_code_character"),
        ("non-ascii", " ".join(["abandön", *words[1:]]), "bad_code_character"),
        ("digit", " ".join(["4bandon", *words[1:]]), "bad_code_character"),
        ("wrong-check-word", " ".join([*words[:8], other_check]), "bad_code_checksum"),
        ("swapped-words", " ".join([words[1], words[0], *words[2:]]), "bad_code_checksum"),
        ("too-long", "a" * 257, "bad_code_length"),
    ]
    for name, text, error in bad:
        assert code_of(functools.partial(parse_recovery_phrase, text)) == error, name
        cases.append(invalid({"id": f"parse-{name}", "kind": "parse", "input": text}, error))
    digest = p.sha256(("\n".join(WORDS) + "\n").encode())
    return {
        "description": (
            "Recovery phrases: 8 words of 11 random bits each from BIP-39's English list and a check "
            "word (top 11 bits of SHA-256(label('recovery/check', entropy)))."
        ),
        "wordlist_sha256_hex": hx(digest),
        "cases": cases,
    }


def fingerprint_vectors(world: World, visitor: LocalMember, genesis_hash: bytes) -> Json:
    cases: list[Json] = []
    prints = {}
    for name, m in [("A", world.staff["A"]), ("I", world.staff["I"]), ("visitor", visitor)]:
        fp = fingerprint(m.member_id, m.sig_public, m.kem_public)
        prints[name] = fp
        cases.append(
            {
                "id": f"fingerprint-{name}",
                "kind": "fingerprint",
                "member_id_hex": hx(m.member_id),
                "sig_public_hex": hx(m.sig_public),
                "kem_public_hex": hx(m.kem_public),
                "fingerprint": fp,
                "result": "valid",
            }
        )
    cases.append(
        {
            "id": "safety-number-visitor-A",
            "kind": "safety_number",
            "a": prints["visitor"],
            "b": prints["A"],
            "safety_number": safety_number(prints["visitor"], prints["A"]),
            "result": "valid",
        }
    )
    a = world.staff["A"]
    code = conversation_code(
        genesis_hash,
        (visitor.member_id, visitor.sig_public, visitor.kem_public),
        (a.member_id, a.sig_public, a.kem_public),
    )
    cases.append(
        {
            "id": "conversation-code-visitor-A",
            "kind": "conversation_code",
            "genesis_hash_hex": hx(genesis_hash),
            "visitor_hex": [hx(visitor.member_id), hx(visitor.sig_public), hx(visitor.kem_public)],
            "staff_hex": [hx(a.member_id), hx(a.sig_public), hx(a.kem_public)],
            "code": code,
            "result": "valid",
        }
    )
    cases.append(
        invalid(
            {
                "id": "fingerprint-short-id",
                "kind": "fingerprint",
                "member_id_hex": hx(a.member_id[:15]),
                "sig_public_hex": hx(a.sig_public),
                "kem_public_hex": hx(a.kem_public),
            },
            "malformed",
        )
    )
    return {
        "description": "Safety numbers (6 groups of 5 digits per key holder) and conversation codes.",
        "cases": cases,
    }


# -- the conversation -------------------------------------------------------------------


class Script:
    """Runs the scenario with one Conversation per party and records every message."""

    def __init__(self, world: World, resume_code: str) -> None:
        self.world = world
        seed = b"trygg vectors: genesis"
        keys = t.derive_resume_keys_with_iterations(resume_code, world.centre_id, LOW_ITERATIONS)
        self.rand = t.DeterministicRandom(seed)
        self.created = t.create_conversation_with(world.directory, world.trust, NOW, keys, self.rand)
        self.visitor = self.created.conversation.me
        self.members: dict[str, LocalMember] = {"visitor": self.visitor, **world.staff}
        genesis = self.created.genesis
        self.parties: dict[str, Conversation] = {
            name: t.open_conversation_with(m, genesis, world.trust_full, t.DeterministicRandom(b""))
            for name, m in self.members.items()
        }
        self.transcript: list[bytes] = [genesis]
        self.builds: list[Json] = [
            {"party": "visitor", "op": "create", "now": NOW, "rand_seed_hex": hx(seed)}
        ]
        self.results: list[dict[str, Received]] = [{}]
        self.dirs = Editions(world)

    def send(self, party: str, op: str, now: int | None = None, **args: Any) -> bytes:
        seq = len(self.transcript)
        seed = f"trygg vectors: message {seq}".encode()
        conv = self.parties[party]
        conv._rand = t.DeterministicRandom(seed)
        build: Json = {"party": party, "op": op, "rand_seed_hex": hx(seed)}
        if now is not None:
            build["now"] = now
        if op == "encrypt":
            data = conv.encrypt(args["content_type"], args["body"])
            build.update(content_type=args["content_type"], body_hex=hx(args["body"]))
        elif op == "claim":
            data = conv.claim(now)
        elif op == "add_member":
            data = conv.add_member(self.world.certs[args["name"]], now)
            build["certificate_of"] = args["name"]
        elif op == "remove_member":
            data = conv.remove_member(self.members[args["name"]].member_id, now)
            build["member"] = args["name"]
        elif op == "share_history":
            data = conv.share_history(self.members[args["name"]].member_id, args["epochs"])
            build.update(recipient=args["name"], epochs=args["epochs"])
        elif op == "request_rekey":
            data = conv.request_rekey(args["reason"])
            build["reason"] = args["reason"]
        elif op == "rekey":
            data = conv.rekey(None, now)
        else:
            raise ValueError(op)
        self.transcript.append(data)
        self.builds.append(build)
        self.results.append({name: c.receive(data) for name, c in self.parties.items()})
        return data

    def replay(self, name: str, prefix: int, trust: TrustRoot | None = None) -> Conversation:
        """A fresh client of `name` that has received transcript[:prefix]."""
        conv = t.open_conversation_with(
            self.members[name], self.transcript[0], trust or self.world.trust_full, t.DeterministicRandom(b"")
        )
        for data in self.transcript[1:prefix]:
            conv.receive(data)
        return conv

    def state_at(self, prefix: int) -> tuple[int, bytes]:
        """(next seq, last hash) after applying transcript[:prefix]."""
        return prefix, message_hash(self.transcript[prefix - 1])

    def run(self) -> None:
        w = self.world
        self.send("visitor", "encrypt", content_type=1, body="Hei. Jeg trenger noen å snakke med.".encode())
        self.send("visitor", "encrypt", content_type=2, body=b'{"interpreter":"ar","topic":"vold"}')
        self.send("A", "claim", NOW + 60)  # 3: epoch 1 = visitor + A
        self.send("A", "encrypt", content_type=1, body=b"Hei, jeg heter Anna. Jeg er her for deg.")
        self.send("visitor", "encrypt", content_type=1, body=b"Takk.")
        self.send("A", "add_member", NOW + 120, name="B")  # 6: epoch 2 = visitor + A + B
        self.send("A", "share_history", name="B", epochs=[0, 1])  # 7
        self.send("B", "remove_member", NOW + 180, name="A")  # 8: epoch 3 = visitor + B
        self.send("B", "encrypt", content_type=3, body=encode_add_proposal(w.certs["I"]))  # 9
        self.send("visitor", "add_member", NOW + 240, name="I")  # 10: epoch 4 = visitor + B + I
        self.send("visitor", "share_history", name="I", epochs=[3])  # 11
        self.send("I", "encrypt", content_type=1, body="مرحبا، أنا المترجمة".encode())  # 12
        self.send("I", "encrypt", content_type=3, body=encode_remove_proposal(self.members["I"].member_id))
        self.send("B", "remove_member", NOW + 300, name="I")  # 14: epoch 5 = visitor + B
        self.send(
            "B", "encrypt", content_type=1, body="Tolken har gått. Dette kan bare du og jeg lese.".encode()
        )
        self.send("visitor", "encrypt", content_type=2, body=bytes(range(256)) * 20)  # 16: 16 KiB bucket
        self.send("visitor", "request_rekey", reason=1)  # 17: asks for a fresh epoch (no key needed)
        self.send("B", "rekey", NOW + 360)  # 18: epoch 6, same members, fresh secret
        self.send("B", "encrypt", content_type=1, body=b"Ny n\xc3\xb8kkel.")  # 19


def routing_json(data: bytes) -> Json:
    r = peek(data)
    return {
        "type": int(r.type),
        "conversation_id_hex": hx(r.conversation_id),
        "epoch": r.epoch,
        "seq": r.seq,
        "sender_id_hex": hx(r.sender_id),
        "prev_hash_hex": hx(r.prev_hash),
        "message_hash_hex": hx(r.message_hash),
        "members": [[hx(m), int(role)] for m, role in r.members],
        "history_recipient_hex": hx(r.history_recipient) if r.history_recipient else None,
        "created_at": r.created_at,
        "directory_hash_hex": hx(r.directory_hash) if r.directory_hash else None,
    }


class Forge:
    """Build validly signed messages that break one rule, at a given transcript position."""

    def __init__(self, script: Script) -> None:
        self.s = script
        self.rand = t.DeterministicRandom(b"trygg vectors: forgeries")
        conv = script.parties["visitor"]
        self.secrets = {n: e.secret for n, e in conv._epochs.items()}
        self.conversation_id = conv.conversation_id

    def env(self, object_type: ObjectType, prefix: int, epoch: int, sender: str, **over: Any) -> Envelope:
        seq, last = self.s.state_at(prefix)
        fields: dict[str, Any] = {
            "type": object_type,
            "conversation_id": self.conversation_id,
            "epoch": epoch,
            "seq": seq,
            "sender_id": self.s.members[sender].member_id,
            "prev_hash": last,
        }
        fields.update(over)
        return Envelope(**fields)

    def application(
        self,
        env: Envelope,
        signer: str,
        body: bytes = b"forged",
        secret: bytes | None = None,
        mutate: Callable[[bytes], bytes] | None = None,
        ct_len: int | None = None,
        padded: bytes | None = None,
    ) -> bytes:
        padded = padded or pad(1, body)
        key_nonce = self.rand(16)
        aad = encode_envelope(env) + key_nonce + (ct_len or len(padded) + 16).to_bytes(4, "big")
        key, nonce = message_key(secret or self.secrets[env.epoch] or bytes(32), key_nonce, aad)
        ct = p.aead_seal(key, nonce, padded, aad)
        if mutate:
            ct = mutate(ct)
        tbs = aad + ct
        return tbs + p.ed25519_sign(self.s.members[signer].sig_private, signature_input("application", tbs))

    def entries(self, names: list[str], extra: list[bytes] | None = None) -> list[MemberEntry]:
        out = [_visitor_entry(self.s.visitor)]
        out += [_staff_entry(self.s.world.certs[n]) for n in names]
        out += [_staff_entry(c) for c in extra or []]
        return sorted(out, key=lambda e: e.member_id)

    def commit(
        self,
        env: Envelope,
        signer: str,
        entries: list[MemberEntry],
        wrap_secret: dict[bytes, bytes] | None = None,
        corrupt_wrap_of: bytes | None = None,
        created_at: int = NOW + 400,
        directory_hash: bytes | None = None,
    ) -> bytes:
        secret = self.rand(32)
        w = Writer().raw(encode_envelope(env)).u64(created_at)
        if env.type == ObjectType.GENESIS:
            w.raw(directory_hash or p.sha256(self.s.world.directory))
        w.u16(len(entries))
        for e in entries:
            w.raw(e.raw)
        for e in entries:
            info = wrap_info(env.conversation_id, env.epoch, env.sender_id, e.member_id)
            enc, ct = hpke.seal(
                e.kem_public, info, b"", (wrap_secret or {}).get(e.member_id, secret), self.rand
            )
            if e.member_id == corrupt_wrap_of:
                ct = flip(ct, 0)
            w.raw(enc + ct)
        confirm_input = w.getvalue()
        tbs = confirm_input + confirmation(secret, p.sha256(confirm_input))
        kind = "genesis" if env.type == ObjectType.GENESIS else "commit"
        return tbs + p.ed25519_sign(self.s.members[signer].sig_private, signature_input(kind, tbs))

    def request(self, env: Envelope, signer: str, reason: int = 1, ref_seq: int = 14) -> bytes:
        tbs = Writer().raw(encode_envelope(env)).u8(reason).u32(ref_seq).getvalue()
        return tbs + p.ed25519_sign(self.s.members[signer].sig_private, signature_input("request", tbs))

    def history(
        self,
        env: Envelope,
        signer: str,
        recipient: str,
        epochs: list[int],
        secrets: list[bytes] | None = None,
    ) -> bytes:
        rec = self.s.members[recipient]
        w = Writer().raw(encode_envelope(env)).raw(rec.member_id).u16(len(epochs))
        for n in epochs:
            w.u32(n)
        ctx = w.getvalue()
        plain = b"".join(secrets or [self.secrets[n] or b"" for n in epochs])
        enc, ct = hpke.seal(rec.kem_public, history_info(ctx), b"", plain, self.rand)
        tbs = ctx + enc + ct
        return tbs + p.ed25519_sign(self.s.members[signer].sig_private, signature_input("history", tbs))


def resign(data: bytes, kind: str, signer: LocalMember) -> bytes:
    tbs = data[:-SIG_LEN]
    return tbs + p.ed25519_sign(signer.sig_private, signature_input(kind, tbs))


def negative_cases(s: Script) -> tuple[list[Json], list[Json]]:
    """(refusals, survivals): what every receiver refuses, and correctly signed messages whose
    part for this receiver fails, which are accepted with `problem` set (§9.6)."""
    f = Forge(s)
    tr = s.transcript
    V, A, B = s.members["visitor"], s.members["A"], s.members["B"]
    cases: list[Json] = []
    survivals: list[Json] = []

    def add(case_id: str, receiver: str, prefix: int, data: bytes, error: str, append: int = 0) -> None:
        case: Json = {
            "id": case_id,
            "receiver": receiver,
            "prefix": prefix,
            "message_b64url": b64encode(data),
        }
        if append:
            case["append_zero_bytes"] = append  # keeps the file small; runners append them
        cases.append(invalid(case, error))

    def survive(case_id: str, receiver: str, prefix: int, data: bytes, problem: str) -> None:
        received = s.replay(receiver, prefix).receive(data)
        assert received.problem == problem, case_id
        assert not received.readable, case_id
        survivals.append(
            {
                "id": case_id,
                "receiver": receiver,
                "prefix": prefix,
                "message_b64url": b64encode(data),
                "result": "valid",
                "kind": received.kind.value,
                "problem": problem,
            }
        )

    m4 = tr[4]  # A's first message, epoch 1
    ct_start = 75 + 16 + 4
    add("app-tampered-ciphertext", "visitor", 4, flip(m4, ct_start + 5), "bad_signature")
    add("app-tampered-tag", "visitor", 4, flip(m4, len(m4) - SIG_LEN - 1), "bad_signature")
    add("app-tampered-signature", "visitor", 4, flip(m4, len(m4) - 1), "bad_signature")
    add("app-tampered-key-nonce", "visitor", 4, flip(m4, 80), "bad_signature")
    survive(
        "app-tampered-ciphertext-resigned",
        "visitor",
        4,
        resign(flip(m4, ct_start + 5), "application", A),
        "bad_tag",
    )
    survive(
        "app-tampered-tag-resigned",
        "visitor",
        4,
        resign(flip(m4, len(m4) - SIG_LEN - 1), "application", A),
        "bad_tag",
    )
    survive(
        "app-tampered-key-nonce-resigned", "visitor", 4, resign(flip(m4, 80), "application", A), "bad_tag"
    )
    add("app-signed-by-other-member", "visitor", 4, resign(m4, "application", V), "bad_signature")
    add("app-wrong-signature-label", "visitor", 4, resign(m4, "history", A), "bad_signature")
    add("app-sender-changed", "visitor", 4, m4[:27] + V.member_id + m4[43:], "bad_signature")
    add("app-replayed-last", "visitor", 5, m4, "replay")
    add("app-replayed-old", "B", 9, tr[5], "replay")
    add("app-replayed-genesis", "A", 3, tr[0], "replay")
    add("app-reordered-skips-one", "visitor", 4, tr[5], "gap")
    add("app-reordered-far-ahead", "A", 2, tr[12], "gap")
    add(
        "app-fork-wrong-prev-hash",
        "visitor",
        5,
        f.application(f.env(ObjectType.APPLICATION, 5, 1, "A", prev_hash=message_hash(tr[3])), "A"),
        "fork",
    )
    add(
        "app-spliced-from-other-conversation",
        "visitor",
        5,
        f.application(f.env(ObjectType.APPLICATION, 5, 1, "A", conversation_id=bytes(16)), "A"),
        "wrong_conversation",
    )
    add(
        "app-old-epoch",
        "visitor",
        7,
        f.application(f.env(ObjectType.APPLICATION, 7, 1, "A"), "A"),
        "wrong_epoch",
    )
    add(
        "app-future-epoch",
        "visitor",
        7,
        f.application(f.env(ObjectType.APPLICATION, 7, 3, "A"), "A", secret=bytes(32)),
        "wrong_epoch",
    )
    add(
        "app-removed-member-C",
        "visitor",
        4,
        f.application(f.env(ObjectType.APPLICATION, 4, 1, "C"), "C", secret=bytes(32)),
        "not_a_member",
    )
    add(
        "app-removed-member-A",
        "B",
        9,
        f.application(f.env(ObjectType.APPLICATION, 9, 3, "A"), "A"),
        "not_a_member",
    )
    add(
        "app-interpreter-after-leaving",
        "visitor",
        15,
        f.application(f.env(ObjectType.APPLICATION, 15, 5, "I"), "I", secret=bytes(32)),
        "not_a_member",
    )
    survive(
        "app-wrong-key",
        "visitor",
        5,
        f.application(f.env(ObjectType.APPLICATION, 5, 1, "A"), "A", secret=bytes(32)),
        "bad_tag",
    )
    add("app-truncated-by-one", "visitor", 4, m4[:-1], "truncated")
    add("app-truncated-header", "visitor", 4, m4[:40], "truncated")
    add("app-truncated-to-two-bytes", "visitor", 4, m4[:2], "truncated")
    add("app-empty", "visitor", 4, b"", "truncated")
    add("app-trailing-byte", "visitor", 4, m4 + b"\x00", "malformed")
    add(
        "app-ciphertext-length-oversize",
        "visitor",
        4,
        m4[:91] + (70_000).to_bytes(4, "big") + m4[95:],
        "oversize",
    )
    add(
        "app-ciphertext-length-not-a-bucket",
        "visitor",
        4,
        m4[:91] + (300).to_bytes(4, "big") + m4[95:],
        "malformed",
    )
    add("app-input-oversize", "visitor", 4, m4, "oversize", append=131_072)
    add("app-unsupported-version", "visitor", 4, b"\x01" + m4[1:], "unsupported_version")
    add("app-unsupported-suite", "visitor", 4, m4[:1] + b"\x02" + m4[2:], "unsupported_suite")
    add("app-unknown-type", "visitor", 4, m4[:2] + b"\x7f" + m4[3:], "malformed")
    add("app-type-is-certificate", "visitor", 4, m4[:2] + b"\x01" + m4[3:], "malformed")

    # commits
    m6 = tr[6]
    add("commit-tampered-member-list", "visitor", 6, flip(m6, 100), "bad_signature")
    add("commit-replayed", "visitor", 8, tr[6], "replay")
    add(
        "commit-wrong-epoch-same",
        "visitor",
        6,
        f.commit(f.env(ObjectType.COMMIT, 6, 1, "A"), "A", f.entries(["A", "B"])),
        "wrong_epoch",
    )
    add(
        "commit-wrong-epoch-skip",
        "visitor",
        6,
        f.commit(f.env(ObjectType.COMMIT, 6, 3, "A"), "A", f.entries(["A", "B"])),
        "wrong_epoch",
    )
    add(
        "commit-by-non-member",
        "visitor",
        6,
        f.commit(f.env(ObjectType.COMMIT, 6, 2, "C"), "C", f.entries(["C"])),
        "not_a_member",
    )
    add(
        "commit-counsellor-adds-interpreter",
        "visitor",
        6,
        f.commit(f.env(ObjectType.COMMIT, 6, 2, "A"), "A", f.entries(["A", "I"])),
        "forbidden",
    )
    add(
        "commit-interpreter-commits",
        "visitor",
        12,
        f.commit(f.env(ObjectType.COMMIT, 12, 5, "I"), "I", f.entries(["B", "I"])),
        "forbidden",
    )
    add(
        "commit-committer-leaves-itself-out",
        "visitor",
        6,
        f.commit(f.env(ObjectType.COMMIT, 6, 2, "A"), "A", f.entries(["B"])),
        "forbidden",
    )
    other_visitor = MemberEntry(
        V.member_id,
        Role.VISITOR,
        B.kem_public,
        V.sig_public,
        None,
        Writer().u8(0).raw(V.member_id).raw(B.kem_public).raw(V.sig_public).getvalue(),
    )
    entries = sorted([other_visitor, _staff_entry(s.world.certs["A"])], key=lambda e: e.member_id)
    add(
        "commit-replaces-visitor-key",
        "A",
        6,
        f.commit(f.env(ObjectType.COMMIT, 6, 2, "A"), "A", entries),
        "forbidden",
    )
    rogue_b = raw_certificate(s.world.rogue, issuer=s.world.admin.public, **cert_fields(s.world, "B"))
    add(
        "commit-adds-rogue-certificate",
        "visitor",
        6,
        f.commit(f.env(ObjectType.COMMIT, 6, 2, "A"), "A", f.entries(["A"], [rogue_b])),
        "bad_certificate",
    )
    expired_b = raw_certificate(s.world.admin, **{**cert_fields(s.world, "B"), "not_after": NOW + 10})
    add(
        "commit-adds-expired-certificate",
        "visitor",
        6,
        f.commit(f.env(ObjectType.COMMIT, 6, 2, "A"), "A", f.entries(["A"], [expired_b])),
        "bad_certificate",
    )
    survive(
        "commit-corrupt-wrap-for-receiver",
        "visitor",
        6,
        f.commit(
            f.env(ObjectType.COMMIT, 6, 2, "A"), "A", f.entries(["A", "B"]), corrupt_wrap_of=V.member_id
        ),
        "bad_tag",
    )
    survive(
        "commit-split-secret",
        "B",
        6,
        f.commit(
            f.env(ObjectType.COMMIT, 6, 2, "A"),
            "A",
            f.entries(["A", "B"]),
            wrap_secret={B.member_id: bytes(32)},
        ),
        "bad_confirmation",
    )
    add("commit-truncated-in-members", "visitor", 6, m6[:200], "truncated")
    count_at = 75 + 8
    add(
        "commit-member-count-oversize",
        "visitor",
        6,
        m6[:count_at] + (257).to_bytes(2, "big") + m6[count_at + 2 :],
        "oversize",
    )
    add(
        "commit-member-count-zero",
        "visitor",
        6,
        m6[:count_at] + (0).to_bytes(2, "big") + m6[count_at + 2 :],
        "malformed",
    )
    unsorted = f.entries(["A", "B"])[::-1]
    add(
        "commit-members-unsorted",
        "visitor",
        6,
        f.commit(f.env(ObjectType.COMMIT, 6, 2, "A"), "A", unsorted),
        "malformed",
    )
    add(
        "commit-no-visitor",
        "visitor",
        6,
        f.commit(
            f.env(ObjectType.COMMIT, 6, 2, "A"),
            "A",
            [e for e in f.entries(["A", "B"]) if e.role != Role.VISITOR],
        ),
        "malformed",
    )
    add(
        "commit-typed-as-genesis",
        "visitor",
        6,
        f.commit(f.env(ObjectType.GENESIS, 6, 2, "A"), "A", f.entries(["A", "B"])),
        "malformed",
    )

    # history bundles
    add(
        "history-interpreter-shared-by-counsellor",
        "I",
        11,
        f.history(f.env(ObjectType.HISTORY, 11, 4, "B"), "B", "I", [3]),
        "forbidden",
    )
    add(
        "history-shared-by-interpreter",
        "B",
        12,
        f.history(f.env(ObjectType.HISTORY, 12, 4, "I"), "I", "B", [3]),
        "forbidden",
    )
    add(
        "history-to-non-member",
        "visitor",
        7,
        f.history(f.env(ObjectType.HISTORY, 7, 2, "A"), "A", "C", [0]),
        "not_a_member",
    )
    add(
        "history-current-epoch",
        "B",
        7,
        f.history(f.env(ObjectType.HISTORY, 7, 2, "A"), "A", "B", [1, 2]),
        "wrong_epoch",
    )
    survive(
        "history-wrong-secret",
        "B",
        7,
        f.history(f.env(ObjectType.HISTORY, 7, 2, "A"), "A", "B", [0, 1], [f.secrets[0] or b"", bytes(32)]),
        "bad_confirmation",
    )
    survive(
        "history-tampered-ciphertext-resigned",
        "B",
        7,
        resign(flip(tr[7], len(tr[7]) - SIG_LEN - 3), "history", A),
        "bad_tag",
    )
    add("history-tampered-epoch-list", "B", 7, flip(tr[7], 75 + 16 + 2 + 4), "bad_signature")
    add(
        "history-to-self",
        "visitor",
        7,
        f.history(f.env(ObjectType.HISTORY, 7, 2, "A"), "A", "A", [0]),
        "malformed",
    )
    add(
        "history-epochs-unsorted",
        "B",
        7,
        f.history(f.env(ObjectType.HISTORY, 7, 2, "A"), "A", "B", [1, 0]),
        "malformed",
    )
    bad_padding = b"\x01" + (3).to_bytes(4, "big") + b"hei" + bytes(247) + b"\x01"
    survive(
        "app-bad-padding",
        "visitor",
        4,
        f.application(f.env(ObjectType.APPLICATION, 4, 1, "A"), "A", padded=bad_padding),
        "malformed",
    )

    # time the committer cannot choose (§8.2 rule 0, §9.3)
    d = s.dirs
    add(
        "commit-backdated-before-previous",
        "visitor",
        6,
        f.commit(f.env(ObjectType.COMMIT, 6, 2, "A"), "A", f.entries(["A", "B"]), created_at=NOW + 59),
        "bad_time",
    )
    add(
        "commit-backdated-to-2024-adds-certificate-expired-in-2024",
        "visitor",
        6,
        f.commit(
            f.env(ObjectType.COMMIT, 6, 2, "A"), "A", f.entries(["A"], [d.cert_2024]), created_at=Y2024_JUNE
        ),
        "bad_time",
    )
    add(
        "commit-retains-expired-member",
        "visitor",
        8,
        f.commit(f.env(ObjectType.COMMIT, 8, 3, "B"), "B", f.entries(["A", "B"]), created_at=NOW + 11 * DAY),
        "bad_certificate",
    )
    add(
        "commit-retains-member-of-retired-anchor",
        "visitor",
        8,
        f.commit(
            f.env(ObjectType.COMMIT, 8, 3, "B"),
            "B",
            f.entries(["B"]),
            created_at=ROTATION + MAX_CLOCK_SKEW + 1,
        ),
        "bad_certificate",
    )
    add(
        "commit-adds-certificate-of-retired-anchor",
        "visitor",
        8,
        f.commit(
            f.env(ObjectType.COMMIT, 8, 3, "B"),
            "B",
            f.entries(["C"], [d.renewed_k2["B"]]),
            created_at=ROTATION + 3600,
        ),
        "bad_certificate",
    )

    # key requests (§6.7)
    m17 = tr[17]
    add("request-tampered", "B", 17, flip(m17, 79), "bad_signature")
    add(
        "request-by-non-member",
        "B",
        17,
        f.request(f.env(ObjectType.KEY_REQUEST, 17, 5, "C"), "C"),
        "not_a_member",
    )
    add(
        "request-wrong-epoch",
        "B",
        17,
        f.request(f.env(ObjectType.KEY_REQUEST, 17, 4, "visitor"), "visitor"),
        "wrong_epoch",
    )
    add(
        "request-unknown-reason",
        "B",
        17,
        f.request(f.env(ObjectType.KEY_REQUEST, 17, 5, "visitor"), "visitor", reason=3),
        "malformed",
    )
    add(
        "request-refers-to-itself",
        "B",
        17,
        f.request(f.env(ObjectType.KEY_REQUEST, 17, 5, "visitor"), "visitor", ref_seq=17),
        "malformed",
    )
    add("request-truncated", "B", 17, m17[:-1], "truncated")
    return cases, survivals


def genesis_cases(s: Script) -> list[Json]:
    f = Forge(s)
    g = s.transcript[0]
    cases: list[Json] = []

    def add(case_id: str, data: bytes, error: str) -> None:
        cases.append(invalid({"id": case_id, "receiver": "A", "genesis_b64url": b64encode(data)}, error))

    env0 = Envelope(ObjectType.GENESIS, f.conversation_id, 0, 0, s.visitor.member_id, bytes(32))
    add("genesis-tampered", flip(g, len(g) - 64 - 32 - 10), "bad_signature")
    add("genesis-tampered-signature", flip(g, len(g) - 5), "bad_signature")
    add(
        "genesis-with-interpreter",
        f.commit(env0, "visitor", f.entries(["A", "I"]), created_at=NOW),
        "malformed",
    )
    add("genesis-without-counsellors", f.commit(env0, "visitor", f.entries([]), created_at=NOW), "malformed")
    add(
        "genesis-nonzero-seq",
        f.commit(
            Envelope(ObjectType.GENESIS, f.conversation_id, 0, 1, s.visitor.member_id, bytes(32)),
            "visitor",
            f.entries(["A"]),
            created_at=NOW,
        ),
        "malformed",
    )
    add(
        "genesis-signed-by-counsellor",
        f.commit(
            Envelope(ObjectType.GENESIS, f.conversation_id, 0, 0, s.members["A"].member_id, bytes(32)),
            "A",
            f.entries(["A"]),
            created_at=NOW,
        ),
        "malformed",
    )
    rogue_c = raw_certificate(s.world.rogue, issuer=s.world.admin.public, **cert_fields(s.world, "C"))
    add(
        "genesis-rogue-certificate",
        f.commit(env0, "visitor", f.entries(["A"], [rogue_c]), created_at=NOW),
        "bad_certificate",
    )
    add(
        "genesis-expired-certificate",
        f.commit(env0, "visitor", f.entries(["A"]), created_at=NOW + 400 * DAY),
        "bad_certificate",
    )
    add("genesis-is-a-commit", s.transcript[3], "malformed")
    add("genesis-directory-hash-tampered", flip(g, 75 + 8 + 3), "bad_signature")
    add("genesis-version-1", b"\x01" + g[1:], "unsupported_version")
    split = f.commit(
        env0,
        "visitor",
        f.entries(["A", "B"]),
        wrap_secret={s.members["A"].member_id: bytes(32)},
        created_at=NOW,
    )
    # A bad wrap for me does not stop me following the conversation (§9.6).
    cases.append(
        {
            "id": "genesis-split-secret",
            "receiver": "A",
            "genesis_b64url": b64encode(split),
            "result": "valid",
            "needs_rekey": True,
        }
    )
    return cases


def past_cases(s: Script) -> list[Json]:
    def case(case_id: str, receiver: str, prefix: int, index: int, error: str | None) -> Json:
        c = {"id": case_id, "receiver": receiver, "prefix": prefix, "message_index": index}
        if error:
            return invalid(c, error)
        r = s.results[index]["visitor"]
        assert r.body is not None
        return {**c, "content_type": r.content_type, "body_hex": hx(r.body), "result": "valid"}

    return [
        case("interpreter-reads-shared-epoch", "I", 12, 9, None),
        case("interpreter-before-history", "I", 11, 9, "no_key"),
        case("interpreter-epoch-not-shared", "I", 12, 5, "no_key"),
        case("colleague-reads-claimed-epoch", "B", 8, 4, None),
        case("colleague-reads-visitor-in-claimed-epoch", "B", 8, 5, None),
        case("queue-epoch-was-readable", "B", 8, 1, "fork"),
        case("left-counsellor-cannot", "C", 17, 15, "no_key"),
        case("interpreter-after-leaving", "I", 17, 15, "no_key"),
        case("was-readable", "B", 17, 15, "fork"),
        case("not-yet-received", "I", 10, 12, "gap"),
    ]


class Editions:
    """Later directory editions and re-issued certificates, for the time and revocation vectors.

    D7 is the world's directory. D8: Anna deactivated. D9: lists Anna's expired certificate.
    D10: Anna renewed. D11 (after ROTATION, signed by K2): Anna, Bjørn and Ida re-issued by K2,
    Cecilie gone. D12: lists a certificate for Cecilie that expires at NOW + 100.
    """

    def __init__(self, w: World) -> None:
        def fields(name: str, **over: Any) -> Json:
            return {**cert_fields(w, name), **over}

        names = {n: d for n, _, d in World.STAFF}
        self.cert_2024 = raw_certificate(
            w.admin, **fields("C", not_before=1_704_067_200, not_after=1_735_603_200)
        )
        self.short_c = raw_certificate(w.admin, **fields("C", not_before=NOW - 2 * DAY, not_after=NOW + 100))
        self.renewed_a = certify(w.admin, w.staff["A"], names["A"], NOW + 9 * DAY, NOW + 365 * DAY)
        self.renewed_k2 = {
            n: certify(w.k2, w.staff[n], names[n], ROTATION - DAY, ROTATION + 365 * DAY) for n in "ABI"
        }
        c = w.certs
        cid = w.centre_id
        self.directories: dict[str, tuple[bytes, int]] = {  # name -> (bytes, trust chain length)
            "D7": (w.directory, 2),
            "D8": (sign_directory(w.admin, cid, 8, NOW + 100, NOW + 30 * DAY, [c["B"], c["C"], c["I"]]), 2),
            "D9": (sign_directory(w.admin, cid, 9, NOW + 11 * DAY, NOW + 30 * DAY, list(c.values())), 2),
            "D10": (
                sign_directory(
                    w.admin, cid, 10, NOW + 11 * DAY, NOW + 30 * DAY, [self.renewed_a, c["B"], c["C"], c["I"]]
                ),
                2,
            ),
            "D11": (
                sign_directory(
                    w.k2, cid, 11, ROTATION + 3600, ROTATION + 30 * DAY, list(self.renewed_k2.values())
                ),
                3,
            ),
            "D12": (
                sign_directory(w.admin, cid, 12, NOW, NOW + 30 * DAY, [c["A"], c["B"], self.short_c, c["I"]]),
                2,
            ),
        }
        chains = {2: w.trust, 3: w.trust_full}
        self.verified = {
            name: verify_directory(data, chains[length].anchors, parse_directory(data).issued_at)
            for name, (data, length) in self.directories.items()
        }

    def json(self) -> Json:
        return {
            name: {
                "directory_hex": hx(data),
                "chain_length": length,
                "verify_at": parse_directory(data).issued_at,
            }
            for name, (data, length) in self.directories.items()
        }


def live_cases(s: Script) -> list[Json]:
    """Commits refused only by a receiver that is told it receives live (its clock, its directory)."""
    f = Forge(s)
    adds_short = f.commit(
        f.env(ObjectType.COMMIT, 6, 2, "A"), "A", f.entries(["A"], [s.dirs.short_c]), created_at=NOW + 60
    )
    cases = [
        ("live-commit-too-old", s.transcript[6], NOW + 120 + LIVE_SKEW + 1, "D7", "bad_time"),
        ("live-commit-from-the-future", s.transcript[6], NOW + 120 - LIVE_SKEW - 1, "D7", "bad_time"),
        ("live-commit-retains-member-not-listed", s.transcript[6], NOW + 120, "D8", "bad_certificate"),
        ("live-commit-adds-member-not-listed", adds_short, NOW + 90, "D7", "bad_certificate"),
        ("live-commit-adds-member-expired-now", adds_short, NOW + 200, "D12", "bad_certificate"),
    ]
    return [
        invalid(
            {
                "id": case_id,
                "receiver": "visitor",
                "prefix": 6,
                "message_b64url": b64encode(data),
                "live": {"now": now, "directory": directory},
            },
            error,
        )
        for case_id, data, now, directory, error in cases
    ]


def _accepted(case: Json, r: Received) -> Json:
    return {
        **case,
        "result": "valid",
        "kind": r.kind.value,
        "readable": r.readable,
        "added_hex": [hx(x) for x in r.added],
        "removed_hex": [hx(x) for x in r.removed],
    }


def accept_cases(s: Script) -> list[Json]:
    """Messages every receiver accepts that a careless reading of the rules might refuse."""
    f = Forge(s)
    items: list[tuple[str, int, bytes, Json | None]] = [
        ("live-genuine-commit", 6, s.transcript[6], {"now": NOW + 120, "directory": "D7"}),
        (
            "commit-at-previous-time-adds-certificate-expiring-soon",
            6,
            f.commit(
                f.env(ObjectType.COMMIT, 6, 2, "A"),
                "A",
                f.entries(["A"], [s.dirs.short_c]),
                created_at=NOW + 60,
            ),
            None,
        ),
        (
            "commit-within-rotation-grace",
            8,
            f.commit(
                f.env(ObjectType.COMMIT, 8, 3, "B"),
                "B",
                f.entries(["B"]),
                created_at=ROTATION + MAX_CLOCK_SKEW,
            ),
            None,
        ),
    ]
    out = []
    for case_id, prefix, data, live in items:
        conv = s.replay("visitor", prefix)
        context = None if live is None else Live(live["now"], s.dirs.verified[live["directory"]])
        case: Json = {
            "id": case_id,
            "receiver": "visitor",
            "prefix": prefix,
            "message_b64url": b64encode(data),
        }
        if live is not None:
            case["live"] = live
        out.append(_accepted(case, conv.receive(data, context)))
    return out


def revocation_cases(s: Script) -> list[Json]:
    """Who must go given a directory and a time, and the commit that removes or renews them."""
    items = [
        ("removed-from-directory", "B", 8, "D8", NOW + 1000, "rekey"),
        ("certificate-expired", "B", 8, "D9", NOW + 11 * DAY, "rekey"),
        ("certificate-expired-and-renewed", "B", 8, "D10", NOW + 11 * DAY, "rekey"),
        ("issuer-rotated-out", "B", 8, "D11", ROTATION + 3600, "rekey"),
        ("queue-rewrapped-without-deactivated", "visitor", 1, "D8", NOW + 1000, "requeue"),
        ("queue-rewrapped-after-rotation", "visitor", 1, "D11", ROTATION + 3600, "requeue"),
    ]
    cases = []
    for case_id, actor, prefix, directory, now, op in items:
        conv = s.replay(actor, prefix)
        verified = s.dirs.verified[directory]
        remove = conv.members_to_remove(verified, now)
        seed = f"trygg vectors: revocation {case_id}".encode()
        conv._rand = t.DeterministicRandom(seed)
        data = conv.rekey(verified, now) if op == "rekey" else conv.requeue(verified, now)
        r = s.replay("visitor", prefix).receive(data, Live(now, verified))
        for name in s.members:
            s.replay(name, prefix).receive(data)  # every member accepts it in catch-up too
        cases.append(
            {
                "id": case_id,
                "actor": actor,
                "prefix": prefix,
                "directory": directory,
                "now": now,
                "op": op,
                "remove_hex": [hx(x) for x in remove],
                "rand_seed_hex": hx(seed),
                "message_b64url": b64encode(data),
                "members_hex": [hx(m.member_id) for m in r.members],
                "added_hex": [hx(x) for x in r.added],
                "removed_hex": [hx(x) for x in r.removed],
                "result": "valid",
            }
        )
    return cases


def code_cases(s: Script) -> list[Json]:
    """The conversation code, as the visitor computes it for a staff member and as they do."""
    out = []
    for prefix, name in [(1, "C"), (3, "A"), (9, "B"), (len(s.transcript), "B")]:
        staff = s.members[name]
        code = s.replay("visitor", prefix).conversation_code(staff.member_id)
        assert s.replay(name, prefix).conversation_code() == code
        out.append({"id": f"code-{name}-at-{prefix}", "prefix": prefix, "staff": name, "code": code})
    return out


def directory_check_cases(s: Script) -> list[Json]:
    """A counsellor checks that the genesis was made from the (logged) directory it names."""
    d7 = s.world.directory
    out = [{"id": "genesis-directory", "receiver": "A", "directory_hex": hx(d7), "result": "valid"}]
    for case_id, data in [
        ("another-directory", s.dirs.directories["D8"][0]),
        ("tampered-directory", flip(d7, 30)),
    ]:
        out.append(invalid({"id": case_id, "receiver": "A", "directory_hex": hx(data)}, "bad_directory"))
    return out


def server_cases(s: Script) -> list[Json]:
    """What the server checks without keys: senders' signatures, commits' claimed times and
    that the staff a commit lists are in the current directory."""
    tr = s.transcript
    members = s.members
    by_id = {m.member_id: m for m in members.values()}

    def key_of(data: bytes) -> bytes:
        return by_id[peek(data).sender_id].sig_public

    cases: list[Json] = []
    for i, data in enumerate(tr):
        cases.append(
            {
                "id": f"signature-seq-{i}",
                "kind": "signature",
                "message_b64url": b64encode(data),
                "sig_public_hex": None if i == 0 else hx(key_of(data)),
                "result": "valid",
            }
        )
    forged = [
        ("signature-tampered-application", flip(tr[4], 100), key_of(tr[4])),
        ("signature-by-another-member", resign(tr[4], "application", members["visitor"]), key_of(tr[4])),
        ("signature-genesis-other-key", tr[0], members["A"].sig_public),
        ("signature-tampered-commit", flip(tr[6], 100), key_of(tr[6])),
        ("signature-tampered-request", flip(tr[17], 79), key_of(tr[17])),
    ]
    for case_id, data, key in forged:
        cases.append(
            invalid(
                {
                    "id": case_id,
                    "kind": "signature",
                    "message_b64url": b64encode(data),
                    "sig_public_hex": hx(key),
                },
                "bad_signature",
            )
        )
    for case_id, index, now, error in [
        ("time-on-the-dot", 6, NOW + 120, None),
        ("time-within-bound", 6, NOW + 120 + MAX_CLOCK_SKEW, None),
        ("time-too-far-behind", 6, NOW + 120 + MAX_CLOCK_SKEW + 1, "bad_time"),
        ("time-too-far-ahead", 6, NOW + 120 - MAX_CLOCK_SKEW - 1, "bad_time"),
        ("time-genesis-too-old", 0, NOW + DAY, "bad_time"),
        ("time-application-has-none", 4, NOW + 365 * DAY, None),
    ]:
        case = {"id": case_id, "kind": "claimed_time", "message_b64url": b64encode(tr[index]), "now": now}
        cases.append(invalid(case, error) if error else {**case, "result": "valid"})
    for case_id, index, directory, now, error in [
        ("listed-genuine-commit", 6, "D7", NOW + 120, None),
        ("listed-member-deactivated", 6, "D8", NOW + 120, "bad_certificate"),
        ("listed-member-expired-now", 6, "D9", NOW + 11 * DAY, "bad_certificate"),
        ("listed-directory-expired", 6, "D7", NOW + 31 * DAY, "bad_certificate"),
        ("listed-application-passes", 4, "D8", NOW + 120, None),
    ]:
        case = {
            "id": case_id,
            "kind": "listed_members",
            "message_b64url": b64encode(tr[index]),
            "directory": directory,
            "now": now,
        }
        assert (
            code_of(functools.partial(check_listed_members, tr[index], s.dirs.verified[directory], now))
            == error
        )
        cases.append(invalid(case, error) if error else {**case, "result": "valid"})
    return cases


def conversation_vectors(world: World, script: Script) -> Json:
    transcript = []
    visitor_view = script.replay("visitor", 1)
    for i, data in enumerate(script.transcript):
        results = script.results[i]
        entry: Json = {
            "seq": i,
            "message_b64url": b64encode(data),
            "build": script.builds[i],
            "routing": routing_json(data),
        }
        if i:
            any_result = results["visitor"]
            entry.update(
                kind=any_result.kind.value,
                epoch=any_result.epoch,
                sender_id_hex=hx(any_result.sender_id),
                sender_role=int(any_result.sender_role),
                added_hex=[hx(x) for x in any_result.added],
                removed_hex=[hx(x) for x in any_result.removed],
                history_recipient_hex=hx(any_result.history_recipient)
                if any_result.history_recipient
                else None,
                history_epochs=list(any_result.history_epochs),
                created_at=any_result.created_at,
                request_reason=any_result.request_reason,
                request_seq=any_result.request_seq,
                readable={name: r.readable for name, r in results.items()},
            )
            if any_result.body is not None:  # the visitor is in every epoch
                entry.update(content_type=any_result.content_type, body_hex=hx(any_result.body))
            visitor_view.receive(data)
        else:
            entry.update(
                kind="genesis",
                epoch=0,
                sender_id_hex=hx(script.visitor.member_id),
                sender_role=0,
                created_at=NOW,
                directory_hash_hex=hx(p.sha256(world.directory)),
                readable={name: c.can_read for name, c in _fresh_parties(script).items()},
            )
        entry.update(
            epoch_started_at=visitor_view.epoch_started_at,
            messages_in_epoch=visitor_view.messages_in_epoch,
        )
        transcript.append(entry)
    cases, survivals = negative_cases(script)
    return {
        "description": (
            "A whole conversation: queue, claim, transfer with history, interpreter joins with "
            "the visitor's consent and leaves, a key request answered by a re-key. Each receiver "
            "verifies the trust root chain, opens transcript[0] with its keys and receives the "
            "rest in order; cases apply transcript[:prefix] first."
        ),
        "now": NOW,
        "world": world.admin_json(),
        "trust": world.trust_json(),
        "anchors_hex": [hx(a) for a in world.anchors],
        "directory_hex": hx(world.directory),
        "directories": script.dirs.json(),
        "certificates_hex": {n: hx(c) for n, c in world.certs.items()},
        "receivers": {name: member_json(m) for name, m in script.members.items()},
        "transcript": transcript,
        "cases": cases + live_cases(script),
        "survival_cases": survivals,
        "accept_cases": accept_cases(script),
        "genesis_cases": genesis_cases(script),
        "past_cases": past_cases(script),
        "revocation_cases": revocation_cases(script),
        "code_cases": code_cases(script),
        "directory_check_cases": directory_check_cases(script),
        "server_cases": server_cases(script),
    }


def _fresh_parties(script: Script) -> dict[str, Conversation]:
    return {
        name: t.open_conversation_with(
            m, script.transcript[0], script.world.trust_full, t.DeterministicRandom(b"")
        )
        for name, m in script.members.items()
    }


def build_all() -> dict[str, Json]:
    world = World()
    code = format_resume_code(code_from_entropy(t.DeterministicRandom(b"trygg vectors: visitor code")(12)))
    script = Script(world, code)
    script.run()
    return {
        "encoding.json": encoding_vectors(),
        "padding.json": padding_vectors(),
        "key_schedule.json": key_schedule_vectors(),
        "hpke_wrap.json": hpke_wrap_vectors(),
        "certificates.json": certificate_vectors(world),
        "directory.json": directory_vectors(world),
        "resume_code.json": resume_code_vectors(world),
        "visitor_state.json": visitor_state_vectors(world, script.created, code),
        "staff_backup.json": staff_backup_vectors(world),
        "admin_backup.json": admin_backup_vectors(world),
        "fingerprint.json": fingerprint_vectors(world, script.visitor, p.sha256(script.transcript[0])),
        "conversation.json": conversation_vectors(world, script),
        "recovery_phrase.json": recovery_phrase_vectors(),
        "trust_root.json": trust_root_vectors(world, NOW, ROTATION),
        "log.json": log_vectors(
            world, {n: d for n, (d, _) in script.dirs.directories.items()}, NOW, ROTATION
        ),
    }


def render(doc: Json) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    docs = build_all()
    if "--check" in argv:
        stale = [n for n, d in docs.items() if (OUT / n).read_text(encoding="utf-8") != render(d)]
        for name in stale:
            print(f"stale: crypto/vectors/{name}")
        return 1 if stale else 0
    for name, doc in docs.items():
        (OUT / name).write_text(render(doc), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
