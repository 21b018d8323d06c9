"""Per-centre certificates: a staff member who works at two centres is certified by each.

A certificate names its centre, so one column on `staff_keys` could certify a person at one
centre only.  `staff_certificates` holds one per (centre, staff member); every existing
certificate moves there under the person's home centre, and the columns on `staff_keys` go.
The downgrade keeps the home centre's certificate only.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30 14:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_certificates",
        sa.Column("centre_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("certificate", sa.LargeBinary(length=1024), nullable=False),
        sa.Column("certified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["centre_id"],
            ["centres.id"],
            name=op.f("fk_staff_certificates_centre_id_centres"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_accounts.id"],
            name=op.f("fk_staff_certificates_staff_id_staff_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("centre_id", "staff_id", name=op.f("pk_staff_certificates")),
    )
    with op.batch_alter_table("staff_certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_certificates_staff_id"), ["staff_id"], unique=False)
    op.execute(
        "INSERT INTO staff_certificates (centre_id, staff_id, certificate, certified_at)"
        " SELECT a.centre_id, k.staff_id, k.certificate, COALESCE(k.certified_at, k.created_at)"
        " FROM staff_keys k JOIN staff_accounts a ON a.id = k.staff_id"
        " WHERE k.certificate IS NOT NULL"
    )
    with op.batch_alter_table("staff_keys", schema=None) as batch_op:
        batch_op.drop_column("certified_at")
        batch_op.drop_column("certificate")


def downgrade() -> None:
    with op.batch_alter_table("staff_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certificate", sa.LargeBinary(length=1024), nullable=True))
        batch_op.add_column(sa.Column("certified_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE staff_keys SET"
        " certificate = (SELECT c.certificate FROM staff_certificates c JOIN staff_accounts a"
        " ON a.id = c.staff_id AND a.centre_id = c.centre_id WHERE c.staff_id = staff_keys.staff_id),"
        " certified_at = (SELECT c.certified_at FROM staff_certificates c JOIN staff_accounts a"
        " ON a.id = c.staff_id AND a.centre_id = c.centre_id WHERE c.staff_id = staff_keys.staff_id)"
    )
    with op.batch_alter_table("staff_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_certificates_staff_id"))
    op.drop_table("staff_certificates")
