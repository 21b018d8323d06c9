"""Moving between centres: a conversation's open offer of a move to another centre.

`conversations.move_to_id` is the centre its counsellor offered to move it to, until the
visitor consents (the move commit clears it and sets `centre_id`) or declines (cleared).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 14:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("move_to_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            "fk_conversations_move_to_id_centres", "centres", ["move_to_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_conversations_move_to_id_centres", type_="foreignkey")
        batch_op.drop_column("move_to_id")
