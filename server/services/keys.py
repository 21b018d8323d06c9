"""Public keys, encrypted key backups, certificates and the signed staff directory.

The server never holds a private key in clear.  It checks what it stores
(structure, sizes, and that the published directory and certificates verify
against the centre's anchors and match the accounts they name), so a broken
or hostile admin client cannot publish a directory the visitors' clients
would then reject, and the wrong person cannot be certified by mistake.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crypto import ProtocolError, Role, verify_certificate, verify_directory
from crypto.certificates import Certificate, Directory
from crypto.log import LogKind
from server.errors import PublicError
from server.i18n import N_
from server.models import (
    AuditEvent,
    CentreDirectory,
    CentreKey,
    StaffAccount,
    StaffCertificate,
    StaffKey,
    utcnow,
)
from server.models import Role as AccountRole
from server.models.centre import in_current_centre
from server.models.staff import roles_at_current_centre
from server.resources import Resources
from server.services import trust

BAD_KEY = N_("The key could not be read.")
BAD_DIRECTORY = N_("The directory does not match the certified keys.")
NO_CENTRE_KEY = N_("The centre has no trust root yet: an admin must unlock their centre key first.")
ROLE_OF = {AccountRole.COUNSELLOR.value: Role.COUNSELLOR, AccountRole.INTERPRETER.value: Role.INTERPRETER}


async def centre_id(res: Resources) -> bytes:
    """The protocol id of the centre being served: the 16 bytes of its `centres.id`.

    Also tells the trust files which centre is the first (the one a single `TRYGG_TRUST_PIN` pins)."""
    if res.trust.default_centre is None:
        res.trust.default_centre = (await res.centres.first()).protocol_id
    return (await res.centres.current()).protocol_id


async def anchors(res: Resources, centre: bytes) -> list[bytes]:
    """The anchors of the centre's newest root version, verified to the pin (none without one).

    An admin's centre key is an anchor only once a root version names it (services/trust.py)."""
    root = await trust.verified(res, centre)
    return list(root.anchors) if root else []


async def current_directory(res: Resources) -> bytes | None:
    async with res.db() as db:
        return await db.scalar(
            select(CentreDirectory.signed)
            .where(in_current_centre(CentreDirectory.centre_id))
            .order_by(CentreDirectory.serial.desc())
            .limit(1)
        )


@dataclass(frozen=True)
class OwnKeys:
    backup: bytes | None
    certificate: bytes | None


async def own_keys(res: Resources, staff: StaffAccount) -> OwnKeys:
    """The staff member's key backup, and the certificate of the centre being served (each
    centre they work at certifies them separately)."""
    async with res.db() as db:
        row = await db.get(StaffKey, staff.id)
        certificate = await db.scalar(
            select(StaffCertificate.certificate).where(
                StaffCertificate.staff_id == staff.id, in_current_centre(StaffCertificate.centre_id)
            )
        )
    return OwnKeys(row.backup, certificate) if row else OwnKeys(None, None)


async def set_own_keys(
    res: Resources, staff: StaffAccount, kem_public: bytes, sig_public: bytes, backup: bytes
) -> None:
    """Store a staff member's new public keys and backup; a new key needs new certificates (at
    every centre they work at)."""
    if len(kem_public) != 32 or len(sig_public) != 32 or not 32 < len(backup) <= 4096:
        raise PublicError(422, BAD_KEY, code="bad_key")
    async with res.db.begin() as db:
        row = await db.get(StaffKey, staff.id)
        if row is None:
            db.add(StaffKey(staff_id=staff.id, kem_public=kem_public, sig_public=sig_public, backup=backup))
        else:
            same_key = row.kem_public == kem_public and row.sig_public == sig_public
            row.backup = backup
            if not same_key:  # a new backup of the same key keeps it; a new key loses the certificates
                row.kem_public, row.sig_public = kem_public, sig_public
                await db.execute(delete(StaffCertificate).where(StaffCertificate.staff_id == staff.id))
        db.add(AuditEvent(actor_id=staff.id, action="keys.set", subject_id=staff.id))


async def centre_key(res: Resources, admin: StaffAccount) -> CentreKey | None:
    async with res.db() as db:
        return await db.get(CentreKey, admin.id)


async def set_centre_key(res: Resources, admin: StaffAccount, sig_public: bytes, backup: bytes) -> None:
    if len(sig_public) != 32 or not 32 < len(backup) <= 4096:
        raise PublicError(422, BAD_KEY, code="bad_key")
    try:
        async with res.db.begin() as db:
            row = await db.get(CentreKey, admin.id)
            if row is None:
                db.add(CentreKey(admin_id=admin.id, sig_public=sig_public, backup=backup))
            else:
                row.sig_public, row.backup = sig_public, backup
            db.add(AuditEvent(actor_id=admin.id, action="centre_key.set", subject_id=admin.id))
    except IntegrityError:
        raise PublicError(409, BAD_KEY, code="bad_key") from None


async def admin_centre_keys(res: Resources) -> list[tuple[StaffAccount, CentreKey]]:
    """Every active admin's centre key, for the anchors' page (which of them are anchors is the
    root's word, verified in the browser)."""
    async with res.db() as db:
        rows = await db.execute(
            select(StaffAccount, CentreKey)
            .join(CentreKey, CentreKey.admin_id == StaffAccount.id)
            .where(StaffAccount.is_active.is_(True))
            .order_by(StaffAccount.display_name)
        )
        return [(account, key) for account, key in rows]


@dataclass(frozen=True)
class StaffKeyInfo:
    account: StaffAccount
    role: str  # the role at the centre being served
    key: StaffKey
    certificate: bytes | None  # this centre's certificate of the key


async def staff_keys(res: Resources) -> list[StaffKeyInfo]:
    """Keys of the active counsellors and interpreters who work at the centre being served (its
    own and those given a role here), with this centre's certificates: for its admin."""
    async with res.db() as db:
        return [info for info in (await _working_here(db)).values() if info.account.is_active]


async def staff_keys_all(res: Resources) -> list[StaffKeyInfo]:
    """As `staff_keys`, deactivated accounts included (the directory's status lists them)."""
    async with res.db() as db:
        return list((await _working_here(db)).values())


async def _working_here(db: AsyncSession) -> dict[uuid.UUID, StaffKeyInfo]:
    """Everyone with a key and a chat role (counsellor, interpreter) at the centre being served."""
    here = roles_at_current_centre().subquery()
    rows = await db.execute(
        select(StaffAccount, here.c.role, StaffKey, StaffCertificate)
        .join(here, here.c.staff_id == StaffAccount.id)
        .join(StaffKey, StaffKey.staff_id == StaffAccount.id)
        .outerjoin(
            StaffCertificate,
            (StaffCertificate.staff_id == StaffAccount.id) & in_current_centre(StaffCertificate.centre_id),
        )
        .where(here.c.role.in_(tuple(ROLE_OF)))
        .order_by(StaffAccount.display_name)
    )
    return {
        account.id: StaffKeyInfo(account, role, key, cert.certificate if cert else None)
        for account, role, key, cert in rows
    }


async def publish_directory(
    res: Resources, admin: StaffAccount, certificates: dict[uuid.UUID, bytes], directory: bytes
) -> None:
    """Store new certificates and the directory listing exactly the certified, active staff."""
    ours = await centre_id(res)
    trusted = await anchors(res, ours)
    if not trusted:
        raise PublicError(409, NO_CENTRE_KEY, code="no_centre_key")
    now = int(time.time())
    try:
        verified = verify_directory(directory, trusted, now)
        parsed = {staff_id: verify_certificate(raw, trusted, now) for staff_id, raw in certificates.items()}
    except ProtocolError:
        raise PublicError(422, BAD_DIRECTORY, code="bad_directory") from None
    try:
        await _store_directory(res, admin, ours, parsed, verified, directory)
    except IntegrityError:  # another directory or root logged at the same moment
        raise PublicError(409, BAD_DIRECTORY, code="bad_directory") from None


async def _store_directory(
    res: Resources,
    admin: StaffAccount,
    ours: bytes,
    parsed: dict[uuid.UUID, Certificate],
    verified: Directory,
    directory: bytes,
) -> None:
    async with res.db.begin() as db:
        last = await db.scalar(
            select(CentreDirectory.serial)
            .where(in_current_centre(CentreDirectory.centre_id))
            .order_by(CentreDirectory.serial.desc())
            .limit(1)
        )
        if verified.centre_id != ours or verified.serial <= (last or 0):
            raise PublicError(422, BAD_DIRECTORY, code="bad_directory")
        rows = await _working_here(db)
        for staff_id, cert in parsed.items():
            found = rows.get(staff_id)
            if (
                found is None
                or cert.staff_id != staff_id.bytes
                or cert.centre_id != ours
                or cert.kem_public != found.key.kem_public
                or cert.sig_public != found.key.sig_public
                or ROLE_OF.get(found.role) != cert.role
                or not found.account.is_active
            ):
                raise PublicError(422, BAD_DIRECTORY, code="bad_directory")
            stored = await db.scalar(
                select(StaffCertificate).where(
                    StaffCertificate.staff_id == staff_id, in_current_centre(StaffCertificate.centre_id)
                )
            )
            if stored is None:
                db.add(StaffCertificate(staff_id=staff_id, certificate=cert.raw, certified_at=utcnow()))
            else:
                stored.certificate, stored.certified_at = cert.raw, utcnow()
            rows[staff_id] = StaffKeyInfo(found.account, found.role, found.key, cert.raw)
        listed = {uuid.UUID(bytes=c.staff_id) for c in verified.certificates}
        certified = {
            staff_id
            for staff_id, info in rows.items()
            if info.certificate is not None and info.account.is_active
        }
        if listed != certified or any(
            rows[uuid.UUID(bytes=c.staff_id)].certificate != c.raw for c in verified.certificates
        ):
            raise PublicError(422, BAD_DIRECTORY, code="bad_directory")
        db.add(CentreDirectory(serial=verified.serial, signed=directory, published_by=admin.id))
        await trust.append_log(db, ours, LogKind.DIRECTORY, directory)
        db.add(AuditEvent(actor_id=admin.id, action="directory.publish"))
