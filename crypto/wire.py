"""What the server may read without keys: routing fields and membership lists (PROTOCOL.md §11)."""

from __future__ import annotations

from dataclasses import dataclass

from .constants import ObjectType, Role
from .errors import guarded
from .keyschedule import message_hash
from .messages import CommitMessage, HistoryMessage, parse_message


@dataclass(frozen=True)
class Routing:
    """Clear fields of a conversation message, for storage, ordering and delivery."""

    type: ObjectType
    conversation_id: bytes
    epoch: int
    seq: int
    sender_id: bytes
    prev_hash: bytes
    message_hash: bytes
    members: tuple[tuple[bytes, Role], ...] = ()  # genesis/commit: (member id, role)
    history_recipient: bytes | None = None


@guarded
def peek(data: bytes) -> Routing:
    """Parse the structure (no signature or key check) and return the routing fields.

    The server accepts a message for (conversation_id, seq) only if seq is the next number and
    prev_hash is the message_hash of the message it stored at seq - 1.
    """
    msg = parse_message(data)
    env = msg.envelope
    members: tuple[tuple[bytes, Role], ...] = ()
    recipient = None
    if isinstance(msg, CommitMessage):
        members = tuple((m.member_id, m.role) for m in msg.members)
    elif isinstance(msg, HistoryMessage):
        recipient = msg.recipient_id
    return Routing(
        type=env.type,
        conversation_id=env.conversation_id,
        epoch=env.epoch,
        seq=env.seq,
        sender_id=env.sender_id,
        prev_hash=env.prev_hash,
        message_hash=message_hash(msg.raw),
        members=members,
        history_recipient=recipient,
    )
