"""exchange: DSP negotiations and transfers, issued credentials, Ouranos records

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_negotiations",
        sa.Column("pid", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("peer_pid", sa.String(length=100), nullable=True),
        sa.Column("counterparty_did", sa.String(length=300), nullable=False),
        sa.Column("counterparty_address", sa.String(length=500), nullable=False),
        sa.Column("dataset_id", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("offer", sa.Text(), nullable=False),
        sa.Column("agreement_id", sa.String(length=100), nullable=True),
        sa.Column("agreement", sa.Text(), nullable=True),
        sa.Column("claims", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("pid", name=op.f("pk_exchange_negotiations")),
        sa.UniqueConstraint("agreement_id", name=op.f("uq_exchange_negotiations_agreement_id")),
    )
    op.create_index("ix_exchange_negotiations_peer_pid", "exchange_negotiations", ["peer_pid"])

    op.create_table(
        "exchange_transfers",
        sa.Column("pid", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("peer_pid", sa.String(length=100), nullable=True),
        sa.Column("counterparty_did", sa.String(length=300), nullable=False),
        sa.Column("counterparty_address", sa.String(length=500), nullable=False),
        sa.Column("agreement_id", sa.String(length=100), nullable=False),
        sa.Column("format", sa.String(length=50), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("data_address", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("pid", name=op.f("pk_exchange_transfers")),
    )
    op.create_index("ix_exchange_transfers_agreement_id", "exchange_transfers", ["agreement_id"])

    op.create_table(
        "exchange_credentials",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("issuer_did", sa.String(length=300), nullable=False),
        sa.Column("subject_did", sa.String(length=300), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("status_list", sa.String(length=100), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=True),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_credentials")),
        sa.UniqueConstraint("status_list", "status_index", name="uq_exchange_credentials_status_list_status_index"),
    )

    op.create_table(
        "exchange_ouranos",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("operator_id", sa.String(length=32), nullable=False),
        sa.Column("trace_id", sa.String(length=100), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", name=op.f("pk_exchange_ouranos")),
    )
    op.create_index("ix_exchange_ouranos_trace_id", "exchange_ouranos", ["trace_id"])


def downgrade() -> None:
    op.drop_index("ix_exchange_ouranos_trace_id", table_name="exchange_ouranos")
    op.drop_table("exchange_ouranos")
    op.drop_table("exchange_credentials")
    op.drop_index("ix_exchange_transfers_agreement_id", table_name="exchange_transfers")
    op.drop_table("exchange_transfers")
    op.drop_index("ix_exchange_negotiations_peer_pid", table_name="exchange_negotiations")
    op.drop_table("exchange_negotiations")
