"""passports.global_asset_id: the pack's one global asset id (AAS, registry, SerialPart, BOM), indexed for
lookups by it; filled for the passports already stored

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 06:00:00
"""
import uuid

from alembic import op
import sqlalchemy as sa

# a migration stays as written: passport.identifiers.global_asset_id at this revision, copied
# (tests/store/test_store.py checks that the two agree)
_NS = uuid.UUID("6f1c3f52-8a54-4f0e-9a55-2f6b1a0c7e11")


def global_asset_id(passport_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NS, 'part:' + passport_id)}"

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("passports") as batch:
        batch.add_column(sa.Column("global_asset_id", sa.String(length=45), nullable=True))
    conn = op.get_bind()
    table = sa.table("passports", sa.column("id", sa.String), sa.column("global_asset_id", sa.String))
    ids = [r[0] for r in conn.execute(sa.select(table.c.id))]
    for i in range(0, len(ids), 1000):
        conn.execute(table.update().where(table.c.id == sa.bindparam("pid")).values(global_asset_id=sa.bindparam("gid")),
                     [{"pid": p, "gid": global_asset_id(p)} for p in ids[i:i + 1000]])
    op.create_index(op.f("ix_passports_global_asset_id"), "passports", ["global_asset_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_passports_global_asset_id"), table_name="passports")
    with op.batch_alter_table("passports") as batch:
        batch.drop_column("global_asset_id")
