"""dtr_shells, dtr_asset_ids, dtr_access_rules: the Digital Twin Registry's shell descriptors, their
specificAssetIds for lookups, and the tenants' granular access rules (batteryloop.store.twins)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 08:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dtr_shells",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("shell_id", sa.String(length=2048), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("passport_id", sa.String(length=100), nullable=True),
        sa.Column("global_asset_id", sa.String(length=2048), nullable=True),
        sa.Column("asset_kind", sa.String(length=16), nullable=True),
        sa.Column("asset_type", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("descriptor", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_dtr_shells")),
        sa.UniqueConstraint("shell_id", name=op.f("uq_dtr_shells_shell_id")),
    )
    op.create_index(op.f("ix_dtr_shells_passport_id"), "dtr_shells", ["passport_id"], unique=False)
    op.create_index(op.f("ix_dtr_shells_global_asset_id"), "dtr_shells", ["global_asset_id"], unique=False)
    op.create_table(
        "dtr_asset_ids",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("shell_seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=2048), nullable=False),
        sa.ForeignKeyConstraint(["shell_seq"], ["dtr_shells.seq"], ondelete="CASCADE",
                                name=op.f("fk_dtr_asset_ids_shell_seq_dtr_shells")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dtr_asset_ids")),
    )
    op.create_index(op.f("ix_dtr_asset_ids_shell_seq"), "dtr_asset_ids", ["shell_seq"], unique=False)
    op.create_index("ix_dtr_asset_ids_name_value", "dtr_asset_ids", ["name", "value"], unique=False)
    op.create_table(
        "dtr_access_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tid", sa.String(length=36), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=True),
        sa.Column("valid_from", sa.String(length=32), nullable=True),
        sa.Column("valid_to", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dtr_access_rules")),
    )
    op.create_index(op.f("ix_dtr_access_rules_tid"), "dtr_access_rules", ["tid"], unique=False)
    op.create_index(op.f("ix_dtr_access_rules_target"), "dtr_access_rules", ["target"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dtr_access_rules_target"), table_name="dtr_access_rules")
    op.drop_index(op.f("ix_dtr_access_rules_tid"), table_name="dtr_access_rules")
    op.drop_table("dtr_access_rules")
    op.drop_index("ix_dtr_asset_ids_name_value", table_name="dtr_asset_ids")
    op.drop_index(op.f("ix_dtr_asset_ids_shell_seq"), table_name="dtr_asset_ids")
    op.drop_table("dtr_asset_ids")
    op.drop_index(op.f("ix_dtr_shells_global_asset_id"), table_name="dtr_shells")
    op.drop_index(op.f("ix_dtr_shells_passport_id"), table_name="dtr_shells")
    op.drop_table("dtr_shells")
