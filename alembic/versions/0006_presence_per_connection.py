"""Presence per open staff websocket, so "on duty" can change the moment the last one closes.

The old table kept one heartbeat per staff member, so a counsellor who closed their
dashboard stayed "on duty" until the heartbeat lapsed.  Its rows are only a recent
heartbeat (every open socket writes its own row again at once), so nothing is carried over.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("staff_presence")
    op.create_table(
        "staff_presence",
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_accounts.id"],
            name=op.f("fk_staff_presence_staff_id_staff_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_staff_presence")),
    )
    op.create_index(op.f("ix_staff_presence_staff_id"), "staff_presence", ["staff_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_presence_staff_id"), table_name="staff_presence")
    op.drop_table("staff_presence")
    op.create_table(
        "staff_presence",
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_accounts.id"],
            name=op.f("fk_staff_presence_staff_id_staff_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_staff_presence")),
    )
