"""protocol.js in a real Chromium page served by the app, against the Python implementation.

The page loads the protocol through the app's import map (hashed URLs, Subresource Integrity),
exactly as the chat pages will. Every shared vector file runs in the page, and one conversation
is built alternately by the browser and by Python, each message opened by both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crypto import (
    ContentType,
    Conversation,
    Role,
    b64decode,
    b64encode,
    centre_fingerprint,
    certify,
    cosign_trust_root,
    create_staff_identity,
    derive_resume_keys,
    draft_trust_root,
    encode_add_proposal,
    generate_admin_key,
    generate_resume_code,
    import_visitor_state,
    open_conversation,
    peek,
    resume_conversation,
    sign_directory,
    verify_sender_signature,
    verify_trust_root,
)
from crypto import primitives as p
from crypto.identity import LocalMember
from tests.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "crypto" / "vectors"
NOW = 1_767_225_600
SENTINEL = "kanarifugl-7d1f"  # must never appear in any byte the server sees


def _checks_script() -> str:
    """tests/js/vector_checks.mjs has no static imports; without `export` it is a script body."""
    source = (ROOT / "tests" / "js" / "vector_checks.mjs").read_text(encoding="utf-8")
    return re.sub(r"^export ", "", source, flags=re.MULTILINE)


SETUP = (
    "async () => {\n"
    + _checks_script()
    + """
  window.__m = await importModules("/static/js/");
  window.__t = makeTesting(window.__m);
  window.__checks = CHECKS;
  window.__parties = {};
}"""
)


@pytest.fixture
def protocol_page(page: Any, live_server: LiveServer) -> Any:
    page.goto(live_server.url + "/en/")
    page.evaluate(SETUP)
    return page


@pytest.mark.parametrize("name", sorted(p.name for p in VECTORS.glob("*.json")))
def test_vectors_in_chromium(protocol_page: Any, name: str) -> None:
    doc = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    protocol_page.evaluate(
        "async ([name, doc]) => { await window.__checks[name](doc, window.__m, window.__t); }",
        [name, doc],
    )


JS_TRUST = """async ([chain, pin]) => {
  const { fromHex: h } = window.__m.bytes;
  window.__trust = await window.__m.P.verifyTrustRoot(chain.map(h), h(pin));
  return window.__trust.version;
}"""

JS_OPEN = """async ([name, id, role, centre, kem, sig, genesis]) => {
  const { fromHex: h, b64decode } = window.__m.bytes;
  const me = await window.__m.P.memberFromPrivateBytes(h(id), role, h(centre), h(kem), h(sig));
  const conv = await window.__m.P.openConversation(me, b64decode(genesis), window.__trust);
  window.__parties[name] = conv;
  return me.kemPrivate.extractable || me.sigPrivate.extractable;
}"""

JS_CREATE = """async ([directory, now, code, centre]) => {
  const { fromHex: h, b64encode } = window.__m.bytes;
  const keys = await window.__m.P.deriveResumeKeys(code, h(centre));
  const created = await window.__m.P.createConversation(
    { directory: h(directory), trust: window.__trust, now, resumeKeys: keys });
  window.__parties.visitor = created.conversation;
  const me = created.conversation.me;
  return { genesis: b64encode(created.genesis), state: b64encode(created.visitorState),
           extractable: me.kemPrivate.extractable || me.sigPrivate.extractable };
}"""

JS_BUILD = """async ([party, op, args]) => {
  const { fromHex: h, b64encode, utf8 } = window.__m.bytes;
  const conv = window.__parties[party];
  let data;
  if (op === "encrypt") data = await conv.encrypt(args.content_type, h(args.body_hex));
  else if (op === "claim") data = await conv.claim(args.now);
  else if (op === "add_member") data = await conv.addMember(h(args.certificate_hex), args.now);
  else if (op === "remove_member") data = await conv.removeMember(h(args.member_id_hex), args.now);
  else if (op === "request_rekey") data = await conv.requestRekey(args.reason);
  else if (op === "rekey") data = await conv.rekey(null, args.now);
  else data = await conv.shareHistory(h(args.member_id_hex), args.epochs);
  return b64encode(data);
}"""

JS_DELIVER = """async (b64) => {
  const { toHex, b64decode } = window.__m.bytes;
  const out = {};
  for (const [name, conv] of Object.entries(window.__parties)) {
    const r = await conv.receive(b64decode(b64));
    out[name] = [r.kind, r.readable, r.body === null ? null : toHex(r.body)];
  }
  return out;
}"""

JS_PAST = """async ([party, b64]) => {
  const { toHex, b64decode } = window.__m.bytes;
  const r = await window.__parties[party].decryptPast(b64decode(b64));
  return toHex(r.body);
}"""


class Interop:
    """The same four parties held twice: once in the page, once in Python."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.centre_id = bytes(range(16))
        self.admin = generate_admin_key()
        self.pin = centre_fingerprint(self.centre_id, self.admin.public)
        draft = draft_trust_root(
            centre_id=self.centre_id,
            version=1,
            issued_at=NOW - 3600,
            previous=None,
            anchors=[self.admin.public],
            threshold=1,
            log_key=generate_admin_key().public,
        )
        self.roots = [cosign_trust_root(draft, self.admin)]
        self.trust = verify_trust_root(self.roots, self.pin)
        self.staff: dict[str, LocalMember] = {}
        self.certs: dict[str, bytes] = {}
        for name, role in [("A", Role.COUNSELLOR), ("B", Role.COUNSELLOR), ("I", Role.INTERPRETER)]:
            member = create_staff_identity(self.centre_id, name.encode() * 16, role)
            self.staff[name] = member
            self.certs[name] = certify(self.admin, member, f"Staff {name}", NOW - 60, NOW + 86_400)
        self.directory = sign_directory(
            self.admin, self.centre_id, 1, NOW - 60, NOW + 3600, list(self.certs.values())
        )
        self.py: dict[str, Conversation] = {}
        self.wire: list[bytes] = []

    def start(self) -> None:
        """The browser creates the conversation; Python resumes the visitor from the code."""
        code = generate_resume_code()
        assert self.page.evaluate(JS_TRUST, [[r.hex() for r in self.roots], self.pin.hex()]) == 1
        created = self.page.evaluate(JS_CREATE, [self.directory.hex(), NOW, code, self.centre_id.hex()])
        assert created["extractable"] is False
        genesis = b64decode(created["genesis"])
        self.wire.append(genesis)
        state = import_visitor_state(b64decode(created["state"]), derive_resume_keys(code, self.centre_id))
        self.py["visitor"] = resume_conversation(state, genesis, self.trust)
        for name, member in self.staff.items():
            self.py[name] = open_conversation(member, genesis, self.trust)
            extractable = self.page.evaluate(
                JS_OPEN,
                [
                    name,
                    member.member_id.hex(),
                    int(member.role),
                    member.centre_id.hex(),
                    p.x25519_private_bytes(member.kem_private).hex(),
                    p.ed25519_private_bytes(member.sig_private).hex(),
                    created["genesis"],
                ],
            )
            assert extractable is False

    def step(self, impl: str, party: str, op: str, **args: Any) -> dict[str, tuple[bool, bytes | None]]:
        """Build with one implementation, deliver to all eight conversations, compare."""
        if impl == "js":
            data = b64decode(self.page.evaluate(JS_BUILD, [party, op, _js_args(args)]))
        else:
            data = _py_build(self.py[party], op, args)
        self.wire.append(data)
        js = self.page.evaluate(JS_DELIVER, b64encode(data))
        out: dict[str, tuple[bool, bytes | None]] = {}
        for name, conv in self.py.items():
            r = conv.receive(data)
            js_kind, js_readable, js_body = js[name]
            assert (r.kind.value, r.readable) == (js_kind, js_readable), (name, op)
            assert (r.body.hex() if r.body is not None else None) == js_body, (name, op)
            out[name] = (r.readable, r.body)
        return out

    def say(self, impl: str, party: str, text: str) -> dict[str, tuple[bool, bytes | None]]:
        return self.step(impl, party, "encrypt", content_type=ContentType.TEXT, body=text.encode())


def _js_args(args: dict[str, Any]) -> dict[str, Any]:
    out = dict(args)
    if "body" in out:
        out["body_hex"] = out.pop("body").hex()
    for key in ("certificate", "member_id"):
        if key in out:
            out[f"{key}_hex"] = out.pop(key).hex()
    return out


def _py_build(conv: Conversation, op: str, args: dict[str, Any]) -> bytes:
    actions: dict[str, Callable[[], bytes]] = {
        "encrypt": lambda: conv.encrypt(args.get("content_type", 1), args.get("body", b"")),
        "claim": lambda: conv.claim(args.get("now")),
        "add_member": lambda: conv.add_member(args.get("certificate", b""), args.get("now")),
        "remove_member": lambda: conv.remove_member(args.get("member_id", b""), args.get("now")),
        "share_history": lambda: conv.share_history(args.get("member_id", b""), args.get("epochs", [])),
        "request_rekey": lambda: conv.request_rekey(args.get("reason", 1)),
        "rekey": lambda: conv.rekey(None, args.get("now")),
    }
    return actions[op]()


def _sender_key(x: Interop, data: bytes) -> bytes:
    sender = peek(data).sender_id
    visitor = x.py["visitor"].me
    if sender == visitor.member_id:
        return visitor.sig_public
    return next(m.sig_public for m in x.staff.values() if m.member_id == sender)


def readers(out: dict[str, tuple[bool, bytes | None]]) -> set[str]:
    return {name for name, (readable, _) in out.items() if readable}


def test_conversation_built_alternately_by_browser_and_python(protocol_page: Any) -> None:
    x = Interop(protocol_page)
    x.start()
    ids = {n: m.member_id for n, m in x.staff.items()}

    # Browser visitor writes to the queue: both implementations of every counsellor read it.
    assert readers(x.say("js", "visitor", f"Hei fra nettleseren {SENTINEL}")) == {"visitor", "A", "B"}
    x.step("py", "A", "claim", now=NOW + 1)
    assert readers(x.say("py", "A", "Hei, jeg heter Anna")) == {"visitor", "A"}
    reply = x.say("py", "visitor", f"Svar fra samme besøkende, nå i Python {SENTINEL}")
    assert readers(reply) == {"visitor", "A"}

    # Transfer: browser adds B, Python shares history, browser B removes A.
    x.step("js", "A", "add_member", certificate=x.certs["B"], now=NOW + 2)
    assert readers(x.step("py", "A", "share_history", member_id=ids["B"], epochs=[0, 1])) == {"B"}
    x.step("js", "B", "remove_member", member_id=ids["A"], now=NOW + 3)
    assert readers(x.say("js", "B", "Bjørn her")) == {"visitor", "B"}

    # Interpreter: proposed by B in Python, consented to by the visitor in the browser.
    x.step("py", "B", "encrypt", content_type=ContentType.PROPOSAL, body=encode_add_proposal(x.certs["I"]))
    x.step("js", "visitor", "add_member", certificate=x.certs["I"], now=NOW + 4)
    x.step("py", "visitor", "share_history", member_id=ids["I"], epochs=[3])
    assert readers(x.say("js", "I", "Tolken er her")) == {"visitor", "B", "I"}
    x.step("js", "B", "remove_member", member_id=ids["I"], now=NOW + 5)
    last = x.say("py", "B", f"Tolken har gått {SENTINEL}")
    assert readers(last) == {"visitor", "B"}
    assert last["visitor"][1] == f"Tolken har gått {SENTINEL}".encode()

    # The interpreter reads the epoch shared with them, in both implementations.
    proposal = x.wire[9]  # 0 genesis, 1-4 queue and claim, 5-8 transfer, 9 the proposal
    assert x.py["I"].decrypt_past(proposal).body == encode_add_proposal(x.certs["I"])
    in_browser = protocol_page.evaluate(JS_PAST, ["I", b64encode(proposal)])
    assert in_browser == encode_add_proposal(x.certs["I"]).hex()

    # A key request from the browser visitor, answered by a Python re-key; the browser reads on.
    x.step("js", "visitor", "request_rekey", reason=1)
    x.step("py", "B", "rekey", now=NOW + 6)
    assert readers(x.say("js", "visitor", "Ny nøkkel")) == {"visitor", "B"}
    assert x.py["visitor"].conversation_code(ids["B"]) == x.py["B"].conversation_code()

    # What the server relays is ordered, routable, signed by its sender, and holds no plaintext.
    for seq, data in enumerate(x.wire):
        assert peek(data).seq == seq
        assert verify_sender_signature(data, None if seq == 0 else _sender_key(x, data)).seq == seq
        assert SENTINEL.encode() not in data
