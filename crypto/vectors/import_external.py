"""Convert published reference vectors into our case format (run by hand, output committed).

    python -m crypto.vectors.import_external UPSTREAM_DIR

UPSTREAM_DIR must hold, unmodified:
  rfc9180.json          cfrg/draft-irtf-cfrg-hpke test-vectors.json at commit 5f503c5
                        (the RFC 9180 set; CIRCL ships it as hpke/testdata/vectors_rfc9180_5f503c5.json.gz)
  x25519_test.json, ed25519_test.json, hkdf_sha256_test.json, aes_gcm_test.json,
  pbkdf2_hmacsha256_test.json
                        C2SP/wycheproof testvectors_v1/ (commit recorded below)

Only the cases for our suite are kept, and each file is bounded. The RFC 7748 and RFC 8032
examples are typed in from the RFC text and checked by the tests themselves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent
WYCHEPROOF = "C2SP/wycheproof@dac1dd4 testvectors_v1/"
RFC9180 = "cfrg/draft-irtf-cfrg-hpke@5f503c5 test-vectors.json (RFC 9180)"


def _write(name: str, source: str, cases: list[dict[str, Any]]) -> None:
    doc = {"source": source, "cases": cases}
    (OUT / name).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def hpke(upstream: Path) -> None:
    data = json.loads((upstream / "rfc9180.json").read_text())
    cases: list[dict[str, Any]] = []
    for v in data:
        if (v["mode"], v["kem_id"], v["kdf_id"], v["aead_id"]) != (0, 0x20, 1, 2):
            continue
        cases.append(
            {
                "id": "rfc9180-base-x25519-sha256-aes256gcm",
                "info_hex": v["info"],
                "skEm_hex": v["skEm"],
                "pkEm_hex": v["pkEm"],
                "skRm_hex": v["skRm"],
                "pkRm_hex": v["pkRm"],
                "enc_hex": v["enc"],
                "shared_secret_hex": v["shared_secret"],
                "key_schedule_context_hex": v["key_schedule_context"],
                "secret_hex": v["secret"],
                "key_hex": v["key"],
                "base_nonce_hex": v["base_nonce"],
                "exporter_secret_hex": v["exporter_secret"],
                "encryptions": [
                    {
                        "seq": i,
                        "aad_hex": e["aad"],
                        "pt_hex": e["pt"],
                        "nonce_hex": e["nonce"],
                        "ct_hex": e["ct"],
                    }
                    for i, e in enumerate(v["encryptions"][:4])
                ],
                "result": "valid",
            }
        )
    _write("rfc9180_hpke.json", RFC9180, cases)


def _tests(upstream: Path, name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    data = json.loads((upstream / name).read_text())
    return [(g, t) for g in data["testGroups"] for t in g["tests"]]


def x25519(upstream: Path) -> None:
    cases: list[dict[str, Any]] = []
    for _, t in _tests(upstream, "x25519_test.json"):
        zero = t["shared"] == "00" * 32
        if not zero and t["result"] != "valid" and "Twist" not in t["flags"]:
            continue
        if len(cases) >= 120 and not zero:
            continue
        cases.append(
            {
                "id": f"wycheproof-x25519-{t['tcId']}",
                "comment": t["comment"],
                "private_hex": t["private"],
                "public_hex": t["public"],
                "shared_hex": t["shared"],
                # We refuse an all-zero shared secret (RFC 9180 §7.1.4), Wycheproof's "acceptable".
                "result": "invalid" if zero else "valid",
                **({"error": "zero_shared_secret"} if zero else {}),
            }
        )
    _write("wycheproof_x25519.json", WYCHEPROOF + "x25519_test.json", cases)


def ed25519(upstream: Path) -> None:
    cases = [
        {
            "id": f"wycheproof-ed25519-{t['tcId']}",
            "comment": t["comment"],
            "public_hex": g["publicKey"]["pk"],
            "msg_hex": t["msg"],
            "sig_hex": t["sig"],
            "result": t["result"],
            **({"error": "bad_signature"} if t["result"] == "invalid" else {}),
        }
        for g, t in _tests(upstream, "ed25519_test.json")
    ]
    _write("wycheproof_ed25519.json", WYCHEPROOF + "ed25519_test.json", cases)


def hkdf(upstream: Path) -> None:
    cases: list[dict[str, Any]] = []
    for _, t in _tests(upstream, "hkdf_sha256_test.json"):
        if t["size"] > 255 * 32 + 1 or (len(cases) >= 40 and t["result"] == "valid"):
            continue
        cases.append(
            {
                "id": f"wycheproof-hkdf-sha256-{t['tcId']}",
                "comment": t["comment"],
                "ikm_hex": t["ikm"],
                "salt_hex": t["salt"],
                "info_hex": t["info"],
                "size": t["size"],
                "okm_hex": t["okm"],
                "result": t["result"],
                **({"error": "size_too_large"} if t["result"] == "invalid" else {}),
            }
        )
    _write("wycheproof_hkdf_sha256.json", WYCHEPROOF + "hkdf_sha256_test.json", cases)


def aes_gcm(upstream: Path) -> None:
    cases = [
        {
            "id": f"wycheproof-aes-gcm-{t['tcId']}",
            "comment": t["comment"],
            "key_hex": t["key"],
            "iv_hex": t["iv"],
            "aad_hex": t["aad"],
            "msg_hex": t["msg"],
            "ct_hex": t["ct"],
            "tag_hex": t["tag"],
            "result": t["result"],
            **({"error": "bad_tag"} if t["result"] == "invalid" else {}),
        }
        for g, t in _tests(upstream, "aes_gcm_test.json")
        if g["keySize"] == 256 and g["ivSize"] == 96 and g["tagSize"] == 128
    ]
    _write("wycheproof_aes256gcm.json", WYCHEPROOF + "aes_gcm_test.json", cases)


def pbkdf2(upstream: Path) -> None:
    cases = [
        {
            "id": f"wycheproof-pbkdf2-sha256-{t['tcId']}",
            "comment": t["comment"],
            "password_hex": t["password"],
            "salt_hex": t["salt"],
            "iterations": t["iterationCount"],
            "dk_len": t["dkLen"],
            "dk_hex": t["dk"],
            "result": t["result"],
        }
        for _, t in _tests(upstream, "pbkdf2_hmacsha256_test.json")
        if t["iterationCount"] <= 4096
    ]
    _write("wycheproof_pbkdf2_sha256.json", WYCHEPROOF + "pbkdf2_hmacsha256_test.json", cases)


def main(argv: list[str]) -> None:
    upstream = Path(argv[1])
    hpke(upstream)
    x25519(upstream)
    ed25519(upstream)
    hkdf(upstream)
    aes_gcm(upstream)
    pbkdf2(upstream)


if __name__ == "__main__":
    main(sys.argv)
