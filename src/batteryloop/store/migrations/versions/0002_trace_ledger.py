"""trace ledger: signed events, hash chains, lots, lot edges, pack sources, custody

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trace_events",
        sa.Column("gseq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.String(length=32), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("recorded_at", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("gseq", name=op.f("pk_trace_events")),
        sa.UniqueConstraint("id", name=op.f("uq_trace_events_id")),
    )
    op.create_index("ix_trace_events_kind", "trace_events", ["kind"])
    op.create_index("ix_trace_events_actor", "trace_events", ["actor"])

    op.create_table(
        "trace_chain",
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("event_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("subject", "seq", name=op.f("pk_trace_chain")),
        sa.UniqueConstraint("subject", "prev_hash", name="uq_trace_chain_subject_prev_hash"),
    )
    op.create_index("ix_trace_chain_event_id", "trace_chain", ["event_id"])

    op.create_table(
        "trace_lots",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mass_kg", sa.Float(), nullable=False),
        sa.Column("consumed_kg", sa.Float(), nullable=False),
        sa.Column("elements", sa.Text(), nullable=False),
        sa.Column("material", sa.String(length=100), nullable=True),
        sa.Column("model_id", sa.String(length=100), nullable=True),
        sa.Column("origin_type", sa.String(length=16), nullable=True),
        sa.Column("origin_country", sa.String(length=2), nullable=True),
        sa.Column("origin_site", sa.String(length=200), nullable=True),
        sa.Column("certified_by", sa.String(length=32), nullable=True),
        sa.Column("producer", sa.String(length=32), nullable=False),
        sa.Column("site_country", sa.String(length=2), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("produced_at", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_lots")),
    )
    op.create_index("ix_trace_lots_kind_model", "trace_lots", ["kind", "model_id"])
    op.create_index("ix_trace_lots_origin_site", "trace_lots", ["origin_site"])
    op.create_index("ix_trace_lots_producer", "trace_lots", ["producer"])

    op.create_table(
        "trace_lot_edges",
        sa.Column("output_id", sa.String(length=100), nullable=False),
        sa.Column("input_id", sa.String(length=100), nullable=False),
        sa.Column("output_kind", sa.String(length=16), nullable=False),
        sa.Column("mass_kg", sa.Float(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("output_id", "input_id", name=op.f("pk_trace_lot_edges")),
    )
    op.create_index("ix_trace_lot_edges_input", "trace_lot_edges", ["input_id", "output_kind", "output_id"])

    op.create_table(
        "trace_pack_sources",
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("pack_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("source_id", "pack_id", name=op.f("pk_trace_pack_sources")),
    )

    op.create_table(
        "trace_custody",
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_event_id", sa.String(length=100), nullable=False),
        sa.Column("last_kind", sa.String(length=32), nullable=False),
        sa.Column("last_event_at", sa.String(length=32), nullable=False),
        sa.Column("exported_to", sa.String(length=2), nullable=True),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_trace_custody")),
    )
    op.create_index("ix_trace_custody_holder", "trace_custody", ["holder"])


def downgrade() -> None:
    op.drop_table("trace_custody")
    op.drop_table("trace_pack_sources")
    op.drop_table("trace_lot_edges")
    op.drop_table("trace_lots")
    op.drop_table("trace_chain")
    op.drop_table("trace_events")
