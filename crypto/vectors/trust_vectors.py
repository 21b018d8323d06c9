"""Vectors for trust roots (trust_root.json) and the log of roots and directories (log.json).

Called by generate.py with its World: one centre whose root has three versions (v1: K1 alone;
v2: K1, K2, K3 with threshold 2; v3 at ROTATION: K2, K3, K4 with threshold 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import primitives as p
from ..constants import MAX_CLOCK_SKEW, ZERO_HASH
from ..errors import ProtocolError
from ..identity import AdminKey
from ..log import LogKind, entry_of, log_chain, sign_log_head
from ..trust import (
    centre_fingerprint,
    cosign_trust_root,
    draft_trust_root,
    parse_trust_root,
    short_centre_fingerprint,
    verify_trust_root,
)

Json = dict[str, Any]


def hx(data: bytes) -> str:
    return data.hex()


def flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 1
    return bytes(out)


def invalid(case: Json, error: str) -> Json:
    return {**case, "result": "invalid", "error": error}


def _seed(key: AdminKey) -> str:
    return hx(p.ed25519_private_bytes(key.private))


def make_root(
    w: Any,
    version: int,
    issued: int,
    prev: bytes | None,
    keys: Sequence[AdminKey],
    threshold: int,
    signers: Sequence[AdminKey],
    centre_id: bytes | None = None,
) -> bytes:
    data = draft_trust_root(
        centre_id=centre_id or w.centre_id,
        version=version,
        issued_at=issued,
        previous=prev,
        anchors=[k.public for k in keys],
        threshold=threshold,
        log_key=w.log_key.public,
    )
    for signer in signers:
        data = cosign_trust_root(data, signer)
    return data


def _retouch(data: bytes, offset: int, value: bytes) -> bytes:
    """Overwrite bytes of the signed part (structure checks come before signatures)."""
    return data[:offset] + value + data[offset + len(value) :]


def trust_root_vectors(w: Any, now: int, rotation: int) -> Json:
    v1, v2, v3 = w.roots
    k1, k2, k3, k4 = w.admin, w.k2, w.k3, w.k4
    keys = {"K1": k1, "K2": k2, "K3": k3, "K4": k4}
    names = {k.public: n for n, k in keys.items()}
    cases: list[Json] = []
    for root, signers in [(v1, ["K1"]), (v2, ["K1", "K2"]), (v3, ["K2", "K3"])]:
        parsed = parse_trust_root(root)
        cases.append(
            {
                "id": f"build-v{parsed.version}",
                "kind": "build",
                "version": parsed.version,
                "issued_at": parsed.issued_at,
                "previous_version": parsed.version - 1 or None,
                "anchors": [names[a] for a in parsed.anchors],
                "threshold": parsed.threshold,
                "signers": signers,
                "root_hex": hx(root),
                "result": "valid",
            }
        )

    def verify(
        case_id: str, chain: list[bytes], error: str | None, pin: bytes | None = None, **extra: Any
    ) -> None:
        case: Json = {
            "id": case_id,
            "kind": "verify",
            "chain_hex": [hx(r) for r in chain],
            "pin_hex": hx(pin or w.pin),
            **extra,
        }
        if error:
            cases.append(invalid(case, error))
            return
        root = verify_trust_root(
            chain,
            pin or w.pin,
            verify_trust_root([bytes.fromhex(x) for x in extra["known_hex"]], w.pin)
            if "known_hex" in extra
            else None,
        )
        newest = root.versions[-1]
        case.update(
            version=newest.version,
            anchors_hex=[hx(a) for a in root.anchors],
            threshold=newest.threshold,
            log_key_hex=hx(newest.log_key),
            hash_hex=hx(newest.hash),
            anchors_at=[
                {"at": at, "anchors_hex": [hx(a) for a in root.anchors_at(at)]}
                for at in (now, rotation, rotation + MAX_CLOCK_SKEW, rotation + MAX_CLOCK_SKEW + 1)
            ],
            result="valid",
        )
        cases.append(case)

    verify("verify-v1", [v1], None)
    verify("verify-v1-v2", [v1, v2], None)
    verify("verify-full-chain", [v1, v2, v3], None)
    verify("verify-extends-known", [v1, v2, v3], None, known_hex=[hx(v1), hx(v2)])
    verify("verify-same-as-known", [v1, v2], None, known_hex=[hx(v1), hx(v2)])

    other_pin = centre_fingerprint(w.centre_id, k2.public)
    v1_k1k2_by_k2 = make_root(w, 1, now - 30 * 86_400, None, [k1, k2], 1, [k2])
    v1_two_of_two_one_signed = make_root(w, 1, now - 30 * 86_400, None, [k1, k2], 2, [k1])
    v2_new_keys_only = make_root(w, 2, now - 20 * 86_400, v1, [k1, k2, k3], 2, [k2, k3])
    v3_one_of_two = make_root(w, 3, rotation, v2, [k2, k3, k4], 2, [k2])
    v3_own_unsigned = make_root(w, 3, rotation, v2, [k4], 1, [k2, k3])
    v2_wrong_previous = make_root(w, 2, now - 20 * 86_400, v1_k1k2_by_k2, [k1, k2, k3], 2, [k1, k2])
    v2_same_time = make_root(w, 2, now - 30 * 86_400, v1, [k1, k2, k3], 2, [k1, k2])
    v2_other_centre = make_root(w, 2, now - 20 * 86_400, v1, [k1, k2, k3], 2, [k1, k2], centre_id=bytes(16))
    v3_fork = make_root(w, 3, rotation, v2, [k2, k3], 2, [k2, k3])
    garbage_signature = v2[:-1] + bytes([v2[-1] ^ 1])
    extra_bad = _retouch(v2, len(v2) - 2 * 96 - 1, b"\x03") + b"\xff" * 32 + bytes(64)
    verify("verify-wrong-pin", [v1], "bad_root", pin=other_pin)
    verify("verify-v1-not-signed-by-pinned-anchor", [v1_k1k2_by_k2], "bad_root")
    verify("verify-v1-below-its-threshold", [v1_two_of_two_one_signed], "bad_root")
    verify("verify-v2-signed-by-new-anchors-only", [v1, v2_new_keys_only], "bad_root")
    verify("verify-v3-one-of-two-previous", [v1, v2, v3_one_of_two], "bad_root")
    verify("verify-v3-not-signed-by-own-anchors", [v1, v2, v3_own_unsigned], "bad_root")
    verify("verify-wrong-previous-hash", [v1, v2_wrong_previous], "bad_root")
    verify("verify-version-skipped", [v1, v3], "bad_root")
    verify("verify-issued-at-not-increasing", [v1, v2_same_time], "bad_root")
    verify("verify-other-centre", [v1, v2_other_centre], "bad_root")
    verify("verify-tampered-signature", [v1, garbage_signature], "bad_root")
    verify("verify-extra-invalid-signature", [v1, extra_bad], "bad_root")
    verify("verify-rollback-below-known", [v1, v2], "bad_root", known_hex=[hx(v1), hx(v2), hx(v3)])
    verify("verify-fork-of-known", [v1, v2, v3_fork], "bad_root", known_hex=[hx(v1), hx(v2), hx(v3)])
    verify("verify-unsupported-version", [b"\x01" + v1[1:]], "unsupported_version")
    threshold_at = 3 + 16 + 4 + 8 + 32
    verify("verify-threshold-zero", [_retouch(v1, threshold_at, b"\x00")], "malformed")
    verify("verify-threshold-above-count", [_retouch(v1, threshold_at, b"\x02")], "malformed")
    first = threshold_at + 2
    swapped = _retouch(v2, first, v2[first + 32 : first + 64] + v2[first : first + 32])
    verify("verify-anchors-unsorted", [v1, swapped], "malformed")
    verify("verify-nine-anchors", [_retouch(v1, threshold_at + 1, b"\x09")], "oversize")
    verify("verify-v1-names-a-previous", [_retouch(v1, threshold_at - 1, b"\x01")], "malformed")
    verify("verify-truncated", [v1[:-1]], "truncated")
    verify("verify-trailing-byte", [v1 + b"\x00"], "malformed")
    verify("verify-empty-chain", [], "malformed")
    try:
        draft_trust_root(
            centre_id=w.centre_id,
            version=1,
            issued_at=now,
            previous=None,
            anchors=[k1.public],
            threshold=2,
            log_key=w.log_key.public,
        )
    except ProtocolError as e:
        cases.append(
            invalid({"id": "draft-threshold-above-count", "kind": "draft", "threshold": 2}, e.code.value)
        )
    for name, key in [("K1", k1), ("K2", k2)]:
        pin = centre_fingerprint(w.centre_id, key.public)
        cases.append(
            {
                "id": f"fingerprint-{name}",
                "kind": "fingerprint",
                "anchor": name,
                "pin_hex": hx(pin),
                "short": short_centre_fingerprint(pin),
                "result": "valid",
            }
        )
    return {
        "description": (
            "Trust roots (type 0x03): version 1 carries the pinned first anchor; each later version "
            "names the previous one's hash and is signed by a threshold of the previous anchors and "
            "a threshold of its own. Signing keys are given by name (K1..K4) in `keys`."
        ),
        "centre_id_hex": hx(w.centre_id),
        "log_key_hex": hx(w.log_key.public),
        "keys": {n: {"seed_hex": _seed(k), "public_hex": hx(k.public)} for n, k in keys.items()},
        "cases": cases,
    }


def log_vectors(w: Any, directories: dict[str, bytes], now: int, rotation: int) -> Json:
    v1, v2, v3 = w.roots
    objects = [
        (LogKind.TRUST_ROOT, v1),
        (LogKind.TRUST_ROOT, v2),
        (LogKind.DIRECTORY, directories["D7"]),
        (LogKind.DIRECTORY, directories["D8"]),
        (LogKind.TRUST_ROOT, v3),
        (LogKind.DIRECTORY, directories["D11"]),
    ]
    entries = [entry_of(kind, obj) for kind, obj in objects]
    chain = [ZERO_HASH]
    for i, entry in enumerate(entries):
        chain.append(log_chain(chain[-1], i, entry))
    head3 = sign_log_head(w.log_key, w.centre_id, 3, chain[3], now)
    head6 = sign_log_head(w.log_key, w.centre_id, 6, chain[6], rotation + 3600)

    def ent(items: Sequence[tuple[int, bytes]]) -> list[Json]:
        return [{"kind": int(k), "object_hash_hex": hx(h)} for k, h in items]

    cases: list[Json] = [
        {
            "id": "chain",
            "kind": "chain",
            "objects": [{"kind": int(k), "object_hex": hx(o)} for k, o in objects],
            "chain_hex": [hx(c) for c in chain],
            "result": "valid",
        }
    ]
    for case_id, size, head, ts in [
        ("sign-head-3", 3, chain[3], now),
        ("sign-head-6", 6, chain[6], rotation + 3600),
    ]:
        cases.append(
            {
                "id": case_id,
                "kind": "sign_head",
                "size": size,
                "head_hex": hx(head),
                "timestamp": ts,
                "signed_hex": hx(sign_log_head(w.log_key, w.centre_id, size, head, ts)),
                "result": "valid",
            }
        )
    other = w.rogue
    empty = sign_log_head(w.log_key, w.centre_id, 0, ZERO_HASH, now)
    heads = [
        ("head-ok", head6, w.log_key.public, w.centre_id, None),
        ("head-empty-log", empty, w.log_key.public, w.centre_id, None),
        ("head-other-log-key", head6, other.public, w.centre_id, "bad_log"),
        (
            "head-signed-by-other-key",
            sign_log_head(other, w.centre_id, 6, chain[6], now),
            w.log_key.public,
            w.centre_id,
            "bad_log",
        ),
        ("head-other-centre", head6, w.log_key.public, bytes(16), "bad_log"),
        ("head-tampered-size", flip(head6, 26), w.log_key.public, w.centre_id, "bad_log"),
        ("head-empty-with-hash", _retouch(empty, 27, b"\x01"), w.log_key.public, w.centre_id, "malformed"),
        ("head-truncated", head6[:-1], w.log_key.public, w.centre_id, "truncated"),
        ("head-version-1", b"\x01" + head6[1:], w.log_key.public, w.centre_id, "unsupported_version"),
    ]
    for case_id, data, key, centre, error in heads:
        case = {
            "id": case_id,
            "kind": "head",
            "head_hex": hx(data),
            "log_key_hex": hx(key),
            "centre_id_hex": hx(centre),
        }
        cases.append(invalid(case, error) if error else {**case, "result": "valid"})

    def consistency(
        case_id: str, old: bytes, new: bytes, items: list[tuple[int, bytes]], error: str | None
    ) -> None:
        case = {
            "id": case_id,
            "kind": "consistency",
            "old_hex": hx(old),
            "new_hex": hx(new),
            "entries": ent(items),
        }
        cases.append(invalid(case, error) if error else {**case, "result": "valid"})

    swapped = [entries[4], entries[3], entries[5]]
    consistency("consistency-extends", head3, head6, entries[3:], None)
    consistency("consistency-same-head", head6, head6, [], None)
    consistency("consistency-from-empty", empty, head3, entries[:3], None)
    consistency("consistency-entries-reordered", head3, head6, swapped, "bad_log")
    consistency("consistency-entry-missing", head3, head6, entries[3:5], "bad_log")
    consistency("consistency-shrinks", head6, head3, [], "bad_log")
    forked_tail = [entries[3], entry_of(LogKind.DIRECTORY, directories["D9"]), entries[5]]
    forked = sign_log_head(w.log_key, w.centre_id, 6, _extend_all(chain[3], 3, forked_tail), now)
    consistency("consistency-fork", head3, forked, entries[3:], "bad_log")

    def inclusion(
        case_id: str, index: int, kind: int, obj: bytes, error: str | None, before: bytes | None = None
    ) -> None:
        case = {
            "id": case_id,
            "kind": "inclusion",
            "head_hex": hx(head6),
            "index": index,
            "before_hex": hx(chain[index] if before is None else before),
            "entries": ent(entries[index:]),
            "object_kind": int(kind),
            "object_hex": hx(obj),
        }
        if error:
            cases.append(invalid(case, error))
            return
        newest = all(e[0] != kind for e in entries[index + 1 :])
        cases.append({**case, "newest": newest, "result": "valid"})

    inclusion("inclusion-first-root", 0, LogKind.TRUST_ROOT, v1, None)
    inclusion("inclusion-genesis-directory", 2, LogKind.DIRECTORY, directories["D7"], None)
    inclusion("inclusion-newest-root", 4, LogKind.TRUST_ROOT, v3, None)
    inclusion("inclusion-newest-directory", 5, LogKind.DIRECTORY, directories["D11"], None)
    inclusion("inclusion-directory-not-logged", 2, LogKind.DIRECTORY, directories["D9"], "bad_log")
    inclusion("inclusion-wrong-kind", 2, LogKind.TRUST_ROOT, directories["D7"], "bad_log")
    inclusion("inclusion-wrong-before", 3, LogKind.DIRECTORY, directories["D8"], "bad_log", before=chain[2])
    inclusion("inclusion-first-with-before", 0, LogKind.TRUST_ROOT, v1, "bad_log", before=chain[1])
    return {
        "description": (
            "The append-only log of a centre's roots and directories: entries (kind, SHA-256 of the "
            "object), chain(i+1) = SHA-256(label('log/entry', chain(i) || u64 i || u8 kind || hash)), "
            "heads (type 0x04) signed by the log key the trust root names."
        ),
        "centre_id_hex": hx(w.centre_id),
        "log_key_seed_hex": _seed(w.log_key),
        "log_key_hex": hx(w.log_key.public),
        "cases": cases,
    }


def _extend_all(start: bytes, first: int, items: Sequence[tuple[int, bytes]]) -> bytes:
    value = start
    for offset, entry in enumerate(items):
        value = log_chain(value, first + offset, entry)
    return value
