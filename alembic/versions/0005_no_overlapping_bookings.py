"""No two confirmed bookings of one counsellor overlap: enforced by the database itself.

The partial unique index of 0003 forbids two confirmed bookings at the same start; this
forbids any overlap (e.g. after the slot length changed).  PostgreSQL: an exclusion
constraint over the booking's time range (btree_gist for the uuid equality).  SQLite has no
exclusion constraints: triggers refuse an overlapping insert or update (SQLite runs one
writer at a time, and Trygg's writes start with BEGIN IMMEDIATE, so check and write cannot
interleave).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:30:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OVERLAP = """
    SELECT RAISE(ABORT, 'overlapping confirmed booking')
    WHERE NEW.status = 'confirmed' AND EXISTS (
        SELECT 1 FROM bookings AS other
        WHERE other.counsellor_id = NEW.counsellor_id
          AND other.status = 'confirmed'
          AND other.id != NEW.id
          AND other.starts_at < NEW.ends_at
          AND other.ends_at > NEW.starts_at
    );
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
            "(counsellor_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (status = 'confirmed')"
        )
    else:
        op.execute(f"CREATE TRIGGER tr_bookings_no_overlap_insert BEFORE INSERT ON bookings BEGIN {_OVERLAP} END")
        op.execute(
            "CREATE TRIGGER tr_bookings_no_overlap_update "
            "BEFORE UPDATE OF counsellor_id, starts_at, ends_at, status ON bookings "
            f"BEGIN {_OVERLAP} END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE bookings DROP CONSTRAINT ex_bookings_no_overlap")
    else:
        op.execute("DROP TRIGGER tr_bookings_no_overlap_update")
        op.execute("DROP TRIGGER tr_bookings_no_overlap_insert")
