"""A centre's trust root and its append-only log (PROTOCOL.md §5.4-§5.6), kept by centre id.

Only anchors can change the anchors. The server stores the root chain, and accepts a new version
only if it verifies as extending the stored chain from the *pinned* first anchor. The pin comes
from configuration (`TRYGG_TRUST_PIN`, `TRYGG_TRUST_PINS_FILE`) or, on a zero-config install,
from the first root registered (trust on first use), written to a file in the data directory —
never from the database. Pages carry the pin, and every client verifies the chain to it, so a
row written into the database or an admin login without an anchor key adds no anchor.

Every root version and every directory is appended to a hash-chained log whose heads are signed
with the log key, which lives outside the database (`TRYGG_LOG_KEY` or a file in the data
directory, made on first use) and which each root version names.

Every function takes the centre id, so a network of centres (issue 16) is one root and one log
per centre.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crypto import ProtocolError
from crypto import primitives as p
from crypto.constants import ZERO_HASH, label
from crypto.log import LogKind, entry_of, log_chain, sign_log_head
from crypto.trust import (
    RootVersion,
    TrustRoot,
    centre_fingerprint,
    parse_trust_root,
    short_centre_fingerprint,
    verify_trust_root,
)
from server.errors import PublicError
from server.i18n import N_
from server.models import AuditEvent, CentreKey, StaffAccount, TrustLogEntry, TrustRootDraft, TrustRootVersion
from server.resources import Resources

BAD_ROOT = N_("This trust root does not extend the centre's chain of anchors.")
WRONG_LOG_KEY = N_("The trust root must name this server's log key.")
ROOT_RACE = N_("Someone else changed the anchors at the same moment; load the page again.")
BAD_SINCE = N_("The log is not that long.")


# --- the root chain ----------------------------------------------------------------------


async def chain(res: Resources, centre_id: bytes) -> list[bytes]:
    """Every stored root version, version 1 first."""
    async with res.db() as db:
        return list(
            await db.scalars(
                select(TrustRootVersion.signed)
                .where(TrustRootVersion.centre_id == centre_id)
                .order_by(TrustRootVersion.version)
            )
        )


async def verified(res: Resources, centre_id: bytes) -> TrustRoot | None:
    """The stored chain verified to the pin; None when there is none (or it does not verify)."""
    pin = res.trust.pin(centre_id)
    stored = await chain(res, centre_id)
    if pin is None or not stored:
        return None
    try:
        return verify_trust_root(stored, pin)
    except ProtocolError:
        return None


async def draft(res: Resources, centre_id: bytes) -> bytes | None:
    async with res.db() as db:
        row = await db.get(TrustRootDraft, centre_id)
    return row.signed if row else None


@dataclass(frozen=True)
class Submitted:
    applied: bool  # False: kept as a draft that waits for more signatures
    version: int


def _signatures_valid(data: bytes) -> bool:
    root = parse_trust_root(data)
    message = label("sig/root", root.tbs)
    return all(p.ed25519_verify(signer, signature, message) for signer, signature in root.signatures)


async def submit_root(res: Resources, centre_id: bytes, admin: StaffAccount, data: bytes) -> Submitted:
    """Store a new root version if it extends the chain under the pin; else, if it is the next
    version signed so far only by some of the anchors that must sign it, keep it as the draft
    other admins cosign (2-of-n). Anything else is refused."""
    try:
        root = parse_trust_root(data)
        signatures_ok = _signatures_valid(data)
    except ProtocolError:
        raise PublicError(422, BAD_ROOT, code="bad_root") from None
    if root.centre_id != centre_id or not signatures_ok:
        raise PublicError(422, BAD_ROOT, code="bad_root")
    if root.log_key != res.trust.log_key().public:
        raise PublicError(422, WRONG_LOG_KEY, code="wrong_log_key")
    first_use: bytes | None = None
    try:
        async with res.db.begin() as db:
            stored = list(
                await db.scalars(
                    select(TrustRootVersion.signed)
                    .where(TrustRootVersion.centre_id == centre_id)
                    .order_by(TrustRootVersion.version)
                )
            )
            pin = res.trust.pin(centre_id)
            if pin is None and not stored:
                # Trust on first use: the submitting admin's own key is the pinned first anchor.
                own = await db.get(CentreKey, admin.id)
                if own is None or own.sig_public not in root.anchors:
                    raise PublicError(422, BAD_ROOT, code="bad_root")
                pin = first_use = centre_fingerprint(centre_id, own.sig_public)
            if pin is None:
                raise PublicError(422, BAD_ROOT, code="bad_root")
            try:
                verify_trust_root([*stored, data], pin)
            except ProtocolError:
                if not stored or not _is_draft(root, parse_trust_root(stored[-1])):
                    raise PublicError(422, BAD_ROOT, code="bad_root") from None
                row = await db.get(TrustRootDraft, centre_id)
                if row is None:
                    db.add(TrustRootDraft(centre_id=centre_id, signed=data))
                else:
                    row.signed = data
                db.add(AuditEvent(actor_id=admin.id, action="trust_root.draft"))
                return Submitted(False, root.version)
            db.add(TrustRootVersion(centre_id=centre_id, version=root.version, signed=data))
            await db.execute(delete(TrustRootDraft).where(TrustRootDraft.centre_id == centre_id))
            await append_log(db, centre_id, LogKind.TRUST_ROOT, data)
            db.add(AuditEvent(actor_id=admin.id, action="trust_root.add"))
    except IntegrityError:
        raise PublicError(409, ROOT_RACE, code="root_race") from None
    if first_use is not None:
        res.trust.remember_first_use(centre_id, first_use)
    return Submitted(True, root.version)


def _is_draft(root: RootVersion, previous: RootVersion) -> bool:
    """The next version, naming the current one, with some signature by a current anchor."""
    signers = {signer for signer, _ in root.signatures}
    return (
        root.version == previous.version + 1
        and root.previous == previous.hash
        and root.issued_at > previous.issued_at
        and bool(signers & set(previous.anchors))
        and signers <= set(previous.anchors) | set(root.anchors)
    )


# --- the log -------------------------------------------------------------------------------


async def append_log(db: AsyncSession, centre_id: bytes, kind: int, obj: bytes) -> None:
    """Append one entry in the caller's transaction (two at once collide on the key: a 409)."""
    last = (
        await db.execute(
            select(TrustLogEntry.index, TrustLogEntry.chain)
            .where(TrustLogEntry.centre_id == centre_id)
            .order_by(TrustLogEntry.index.desc())
            .limit(1)
        )
    ).first()
    index, before = (last[0] + 1, last[1]) if last else (0, ZERO_HASH)
    entry = entry_of(kind, obj)
    db.add(
        TrustLogEntry(
            centre_id=centre_id,
            index=index,
            kind=entry[0],
            object_hash=entry[1],
            chain=log_chain(before, index, entry),
        )
    )
    await db.flush()


@dataclass(frozen=True)
class LogView:
    """A signed head and the entries after `since`, with chain(since) to start from."""

    head: bytes
    size: int
    since: int
    before: bytes
    entries: Sequence[tuple[int, bytes]]


async def log_view(res: Resources, centre_id: bytes, since: int = 0) -> LogView:
    async with res.db() as db:
        size = await db.scalar(
            select(func.count()).select_from(TrustLogEntry).where(TrustLogEntry.centre_id == centre_id)
        )
        size = int(size or 0)
        if since > size:
            raise PublicError(422, BAD_SINCE, code="bad_since")
        rows = list(
            await db.execute(
                select(TrustLogEntry.index, TrustLogEntry.kind, TrustLogEntry.object_hash)
                .add_columns(TrustLogEntry.chain)
                .where(TrustLogEntry.centre_id == centre_id, TrustLogEntry.index >= since - 1)
                .order_by(TrustLogEntry.index)
            )
        )
    before = ZERO_HASH
    entries: list[tuple[int, bytes]] = []
    head_hash = ZERO_HASH
    for index, kind, object_hash, chained in rows:
        if index == since - 1:
            before = chained
        elif index < size:
            entries.append((kind, object_hash))
        if index == size - 1:
            head_hash = chained
    signed = sign_log_head(res.trust.log_key(), centre_id, size, head_hash, int(time.time()))
    return LogView(signed, size, since, before, entries[: size - since])


def short_pin(pin: bytes) -> str:
    return short_centre_fingerprint(pin)
