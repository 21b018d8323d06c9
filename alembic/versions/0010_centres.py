"""A network of centres in one installation: everything per centre moves into "the first centre".

`centres` gets one row, whose id is the protocol centre id the installation already had
(`centre_identity`, dropped here), so every resume code and certificate stays valid; a
database that never made one gets a random id, as the first use would have.  Every
per-centre table gets `centre_id`, filled with the first centre; the three one-row-per-centre
tables (booking policy, opening hours, directories) get it in their primary key.  Staff
accounts get a home centre and the `network_admin` flag; `centre_staff` lists the other
centres a login works at.  Nothing is lost; the downgrade keeps the first centre only.

Revision ID: 0010
Revises: 0006
Create Date: 2026-11-30 13:30:00

"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables that get a centre_id column (NOT NULL, the first centre) with an index.
PLAIN = (
    "staff_accounts",
    "staff_invites",
    "audit_events",
    "conversations",
    "canned_replies",
    "bookings",
    "availability_rules",
    "availability_exceptions",
    "calendar_feeds",
    "centre_keys",
)

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

centres = sa.table(
    "centres",
    sa.column("id", sa.Uuid()),
    sa.column("slug", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _bookings_triggers() -> None:
    """SQLite's no-overlap triggers (0005) go with the bookings table when batch re-creates it."""
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS tr_bookings_no_overlap_insert")
    op.execute("DROP TRIGGER IF EXISTS tr_bookings_no_overlap_update")
    op.execute(f"CREATE TRIGGER tr_bookings_no_overlap_insert BEFORE INSERT ON bookings BEGIN {_OVERLAP} END")
    op.execute(
        "CREATE TRIGGER tr_bookings_no_overlap_update "
        "BEFORE UPDATE OF counsellor_id, starts_at, ends_at, status ON bookings "
        f"BEGIN {_OVERLAP} END"
    )


def _first_centre_id() -> uuid.UUID:
    bind = op.get_bind()
    identity = sa.table("centre_identity", sa.column("centre_id", sa.LargeBinary()))
    raw = bind.scalar(sa.select(identity.c.centre_id).limit(1))
    return uuid.UUID(bytes=bytes(raw)) if raw is not None else uuid.uuid4()


def upgrade() -> None:
    op.create_table(
        "centres",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("exit_url", sa.String(length=300), nullable=True),
        sa.Column("emergency_numbers", sa.String(length=40), nullable=True),
        sa.Column("region", sa.String(length=80), server_default="", nullable=False),
        sa.Column("kind", sa.String(length=20), server_default="victim_support", nullable=False),
        sa.Column("languages", sa.String(length=20), server_default="nb sv en", nullable=False),
        sa.Column("interpreters", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('victim_support', 'sexual_abuse', 'other')", name=op.f("ck_centres_kind")
        ),
        sa.CheckConstraint("slug <> ''", name=op.f("ck_centres_slug")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_centres")),
        sa.UniqueConstraint("host", name=op.f("uq_centres_host")),
        sa.UniqueConstraint("slug", name=op.f("uq_centres_slug")),
    )
    first = _first_centre_id()
    # SQLite keeps naive UTC (as UTCDateTime does); PostgreSQL an aware timestamp.
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    op.bulk_insert(centres, [{"id": first, "slug": "main", "created_at": now}])
    op.create_table(
        "centre_staff",
        sa.Column("centre_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'counsellor', 'interpreter')", name=op.f("ck_centre_staff_role")
        ),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centres.id"], name=op.f("fk_centre_staff_centre_id_centres"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_accounts.id"],
            name=op.f("fk_centre_staff_staff_id_staff_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("centre_id", "staff_id", name=op.f("pk_centre_staff")),
    )
    with op.batch_alter_table("centre_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_centre_staff_staff_id"), ["staff_id"], unique=False)

    for table in PLAIN:
        # On SQLite a re-creation of the table (env.py turns foreign keys off meanwhile).
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("centre_id", sa.Uuid(), nullable=True))
            batch_op.create_foreign_key(
                f"fk_{table}_centre_id_centres", "centres", ["centre_id"], ["id"], ondelete="CASCADE"
            )
        op.execute(sa.table(table, sa.column("centre_id", sa.Uuid())).update().values(centre_id=first))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("centre_id", existing_type=sa.Uuid(), nullable=False)
        op.create_index(f"ix_{table}_centre_id", table, ["centre_id"], unique=False)
    _bookings_triggers()
    op.add_column(
        "staff_accounts", sa.Column("network_admin", sa.Boolean(), server_default="0", nullable=False)
    )

    # One row per centre: the centre joins the primary key (leaf tables, safe to re-create).
    _rekey("booking_policy", first, drop=("singleton",), old_key=None)
    _rekey("opening_hours", first, drop=(), old_key="weekday")
    _rekey("centre_directories", first, drop=(), old_key="serial")
    op.drop_table("centre_identity")


def _rekey(table: str, first: uuid.UUID, drop: tuple[str, ...], old_key: str | None) -> None:
    op.add_column(table, sa.Column("centre_id", sa.Uuid(), nullable=True))
    op.execute(sa.table(table, sa.column("centre_id", sa.Uuid())).update().values(centre_id=first))
    with op.batch_alter_table(table, schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint(f"pk_{table}", type_="primary")
        if drop:
            batch_op.drop_constraint(batch_op.f(f"ck_{table}_singleton"), type_="check")
        for column in drop:
            batch_op.drop_column(column)
        batch_op.alter_column("centre_id", existing_type=sa.Uuid(), nullable=False)
        key = ["centre_id", old_key] if old_key else ["centre_id"]
        batch_op.create_primary_key(f"pk_{table}", key)
        batch_op.create_foreign_key(
            f"fk_{table}_centre_id_centres", "centres", ["centre_id"], ["id"], ondelete="CASCADE"
        )


def _unkey(table: str, old_key: str | None, first: uuid.UUID) -> None:
    op.execute(sa.table(table, sa.column("centre_id", sa.Uuid())).delete().where(sa.column("centre_id") != first))
    with op.batch_alter_table(table, schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint(f"fk_{table}_centre_id_centres", type_="foreignkey")
        batch_op.drop_constraint(f"pk_{table}", type_="primary")
        if old_key is None:
            batch_op.add_column(sa.Column("singleton", sa.Integer(), server_default="1", nullable=False))
            batch_op.create_check_constraint("singleton", "singleton = 1")
            batch_op.create_primary_key(f"pk_{table}", ["singleton"])
        else:
            batch_op.create_primary_key(f"pk_{table}", [old_key])
        batch_op.drop_column("centre_id")


def downgrade() -> None:
    bind = op.get_bind()
    first = bind.scalar(sa.select(centres.c.id).order_by(centres.c.created_at, centres.c.id).limit(1))
    op.create_table(
        "centre_identity",
        sa.Column("singleton", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("centre_id", sa.LargeBinary(length=16), nullable=False),
        sa.PrimaryKeyConstraint("singleton", name=op.f("pk_centre_identity")),
    )
    if first is None:
        return
    identity = sa.table("centre_identity", sa.column("singleton", sa.Integer()), sa.column("centre_id", sa.LargeBinary()))
    op.execute(identity.insert().values(singleton=1, centre_id=first.bytes))
    # Rows of the other centres cannot live in a single-centre database.
    for table in ("conversations", "bookings", "staff_invites", "canned_replies", "availability_rules",
                  "availability_exceptions", "calendar_feeds", "centre_keys", "audit_events"):
        op.execute(sa.text(f"DELETE FROM {table} WHERE centre_id IS NOT NULL AND centre_id != :first").bindparams(sa.bindparam("first", first, type_=sa.Uuid())))
    op.execute(sa.text("DELETE FROM staff_accounts WHERE centre_id IS NOT NULL AND centre_id != :first").bindparams(sa.bindparam("first", first, type_=sa.Uuid())))
    _unkey("centre_directories", "serial", first)
    _unkey("opening_hours", "weekday", first)
    _unkey("booking_policy", None, first)
    op.drop_column("staff_accounts", "network_admin")
    for table in reversed(PLAIN):
        op.drop_index(f"ix_{table}_centre_id", table_name=table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_centre_id_centres", type_="foreignkey")
            batch_op.drop_column("centre_id")
    _bookings_triggers()
    with op.batch_alter_table("centre_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_centre_staff_staff_id"))
    op.drop_table("centre_staff")
    op.drop_table("centres")
