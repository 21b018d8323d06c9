"""Trust roots, their drafts, and the append-only log of roots and directories (issue 14).

Keyed by the centre's 16-byte protocol id so that one installation can hold many centres.
Nothing is carried over: the first admin who unlocks their key after the upgrade signs
version 1 of the root, and the next directory they publish is the first one logged.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-30 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trust_roots",
        sa.Column("centre_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("signed", sa.LargeBinary(length=4096), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("centre_id", "version", name=op.f("pk_trust_roots")),
    )
    op.create_table(
        "trust_root_drafts",
        sa.Column("centre_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("signed", sa.LargeBinary(length=4096), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("centre_id", name=op.f("pk_trust_root_drafts")),
    )
    op.create_table(
        "trust_log",
        sa.Column("centre_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("object_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("chain", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("centre_id", "index", name=op.f("pk_trust_log")),
    )


def downgrade() -> None:
    op.drop_table("trust_log")
    op.drop_table("trust_root_drafts")
    op.drop_table("trust_roots")
