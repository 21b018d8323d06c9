"""Interpreters: the languages an interpreter covers, and an interpreter attached to a booking.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00.000000

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interpreter_languages', sa.String(length=400), server_default='', nullable=False))

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interpreter_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_bookings_interpreter_id'), ['interpreter_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_bookings_interpreter_id_staff_accounts'), 'staff_accounts', ['interpreter_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bookings_interpreter_id_staff_accounts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_bookings_interpreter_id'))
        batch_op.drop_column('interpreter_id')

    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.drop_column('interpreter_languages')
