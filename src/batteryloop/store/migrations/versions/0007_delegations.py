"""delegations: service providers acting for a passport's operator or a pack's custodian

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delegations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("grantor_id", sa.String(length=32), nullable=False),
        sa.Column("grantee_id", sa.String(length=32), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=True),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["grantee_id"], ["participants.id"],
                                name=op.f("fk_delegations_grantee_id_participants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
    )
    op.create_index(op.f("ix_delegations_subject"), "delegations", ["subject"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_delegations_subject"), table_name="delegations")
    op.drop_table("delegations")
