"""audit log of restricted reads

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 04:25:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("passport_id", sa.String(length=50), nullable=False),
        sa.Column("tiers", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_passport_at", "audit_log", ["passport_id", "at"])
    op.create_index("ix_audit_actor_at", "audit_log", ["actor", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_actor_at", table_name="audit_log")
    op.drop_index("ix_audit_passport_at", table_name="audit_log")
    op.drop_table("audit_log")
