"""What travels on the bus: channel names (built only here) and the events services publish.

Services publish after their transaction commits.  An event says "look again" (the
database stays the source of truth); typing and receipts carry their few fields, because
they are relayed as they are, and an append carries what was stored.  Channels:

- `queue`: the shared queue changed (`queue`), or who is on duty may have (`presence`);
  counsellors who asked for the queue listen, and so does a visitor while waiting in it;
- `conversation:<hex>`: a conversation changed (`changed`), someone is typing or read, or
  members must go and the conversation must re-key (`rekey_needed`, with `members`, `renewed`
  and `action`); a `changed` that only appended one object to the log carries it (`seq`,
  `hash`, `message`, `at`: what the writer stored, server/services/writer.py), and its
  followers send it on as it is;
- `staff:<hex>`: a staff member's list of open conversations may have changed
  (`assignments`), or one or more of their sessions ended or their account changed
  (`session_ended`, with `staff_id` and `reason`: `logout`, `logout_everywhere`,
  `password_changed`, `password_reset`, `deactivated`, `role_changed`); every process's
  websocket hub (hub.py) holds that person's sockets, reads their sessions again, and
  closes those that must close with the reason's code (closes.py).

(When one installation serves several centres, `queue` becomes `queue:<centre hex>` here.)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from server.validators import to_b64u

from .bus import Bus

QUEUE = "queue"
_CONVERSATION = "conversation:"
_STAFF = "staff:"
SESSION_ENDED = "session_ended"


def queue_channel() -> str:
    return QUEUE


def conversation_channel(conversation_id: uuid.UUID) -> str:
    return _CONVERSATION + conversation_id.hex


def staff_channel(staff_id: uuid.UUID) -> str:
    return _STAFF + staff_id.hex


def conversation_of(channel: str) -> uuid.UUID | None:
    """The conversation a channel is about, if it is a conversation channel."""
    if not channel.startswith(_CONVERSATION):
        return None
    return uuid.UUID(hex=channel[len(_CONVERSATION) :])


def is_staff_channel(channel: str) -> bool:
    return channel.startswith(_STAFF)


async def conversation_changed(
    bus: Bus, conversation_id: uuid.UUID, queue: bool = False, staff: Sequence[uuid.UUID] = ()
) -> None:
    """Wake every connection that shows this conversation (and the queue, and these staff's lists)."""
    await bus.publish(conversation_channel(conversation_id), {"kind": "changed"})
    if queue:
        await queue_changed(bus)
    for staff_id in staff:
        await bus.publish(staff_channel(staff_id), {"kind": "assignments"})


async def appended(
    bus: Bus,
    conversation_id: uuid.UUID,
    seq: int,
    message_hash: bytes,
    body: bytes,
    at: datetime | None,
) -> None:
    """A new object in the conversation's log (nothing else changed): it travels with the event,
    so a follower that has everything before `seq` sends it without reading the database."""
    await bus.publish(
        conversation_channel(conversation_id),
        {
            "kind": "changed",
            "seq": seq,
            "hash": message_hash.hex(),
            "message": to_b64u(body),
            "at": at.isoformat() if at is not None else None,
        },
    )


async def rekey_needed(
    bus: Bus, conversation_id: uuid.UUID, members: Sequence[str], renewed: Sequence[str], action: str
) -> None:
    """Members (hex ids) must go from this conversation (`renewed`: those the directory certifies
    anew): its online members' clients re-key (`action`: `rekey`, or `requeue` to re-wrap the
    queue epoch)."""
    await bus.publish(
        conversation_channel(conversation_id),
        {"kind": "rekey_needed", "members": list(members), "renewed": list(renewed), "action": action},
    )


async def queue_changed(bus: Bus) -> None:
    await bus.publish(QUEUE, {"kind": "queue"})


async def presence_changed(bus: Bus) -> None:
    """Who is on duty may have changed: listeners read it again and tell their clients if it did."""
    await bus.publish(QUEUE, {"kind": "presence"})


async def typing(bus: Bus, conversation_id: uuid.UUID, member: str, seconds: int, origin: str) -> None:
    """Relayed as is to the conversation's other connections (`origin` is the sender's connection)."""
    await bus.publish(
        conversation_channel(conversation_id),
        {"kind": "typing", "member": member, "seconds": seconds, "connection": origin},
    )


async def receipt(
    bus: Bus, conversation_id: uuid.UUID, member: bytes, delivered: int, read: int, origin: str
) -> None:
    await bus.publish(
        conversation_channel(conversation_id),
        {
            "kind": "receipt",
            "member": member.hex(),
            "delivered": delivered,
            "read": read,
            "connection": origin,
        },
    )


async def session_ended(bus: Bus, staff_id: uuid.UUID, reason: str) -> None:
    """Sessions of this staff member ended: every connection of theirs, on every process, re-checks."""
    await bus.publish(
        staff_channel(staff_id), {"kind": SESSION_ENDED, "staff_id": staff_id.hex, "reason": reason}
    )
