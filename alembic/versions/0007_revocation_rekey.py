"""Revocation that re-keys (PROTOCOL.md §8.5, §11): each member's signing key as the server
knows it from the transcript, and a mark on conversations that must re-key without someone.

`conversation_members.sig_public` is the member's Ed25519 key from the latest genesis or commit
(rows stored before this revision have none: the server reads that message again instead).
`conversations.rekey_needed_at` is set when a member must go (deactivated, no longer listed in
the directory, certificate expired) and cleared when the next commit is stored.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_members") as batch:
        batch.add_column(sa.Column("sig_public", sa.LargeBinary(length=32), nullable=True))
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("rekey_needed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("rekey_needed_at")
    with op.batch_alter_table("conversation_members") as batch:
        batch.drop_column("sig_public")
