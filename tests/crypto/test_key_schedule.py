"""Known answers for every derivation from an epoch secret and every label."""

from __future__ import annotations

from typing import Any

import pytest

from crypto import primitives as p
from crypto.constants import label
from crypto.keyschedule import (
    confirmation,
    history_info,
    message_key,
    signature_input,
    wrap_info,
)

from .vectors import cases, h


@pytest.mark.parametrize("case", cases("key_schedule.json"))
def test_key_schedule(case: dict[str, Any]) -> None:
    kind = case["kind"]
    if kind == "message_key":
        key, nonce = message_key(h(case["epoch_secret_hex"]), h(case["key_nonce_hex"]), h(case["aad_hex"]))
        assert (key, nonce) == (h(case["key_hex"]), h(case["nonce_hex"]))
    elif kind == "confirmation":
        confirm_hash = p.sha256(h(case["confirm_input_hex"]))
        assert confirm_hash == h(case["confirm_hash_hex"])
        assert confirmation(h(case["epoch_secret_hex"]), confirm_hash) == h(case["confirmation_hex"])
    elif kind == "wrap_info":
        info = wrap_info(
            h(case["conversation_id_hex"]),
            case["epoch"],
            h(case["sender_id_hex"]),
            h(case["recipient_id_hex"]),
        )
        assert info == h(case["info_hex"])
    elif kind == "history_info":
        assert history_info(h(case["info_context_hex"])) == h(case["info_hex"])
    elif kind == "label":
        assert label(case["name"], h(case["context_hex"])) == h(case["label_hex"])
    elif kind == "signature_input":
        assert signature_input(case["name"], h(case["tbs_hex"])) == h(case["input_hex"])
    else:
        pytest.fail(f"unknown kind {kind}")
