"""trace_mb_*: the mass balance's accumulators per production account, kept as the ledger grows

Recycled content of a model-year (batteryloop.trace.mb_summary) from per-account sums — element mass flowing
into each producer-site-year account from each other account and from recycled sources, the element content
of its final lots, its packs by model and year — refreshed from the events appended since the last refresh,
instead of a pass over the whole material graph (32 s at 200,000 packs; hours at ten million). Empty here:
the first refresh folds in the existing ledger once.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:10:00
"""
import sqlalchemy as sa
from alembic import op


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("trace_mb_mark", sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column("gseq", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_mb_mark")))
    op.execute("INSERT INTO trace_mb_mark (id, gseq) VALUES (1, 0)")  # one row, locked by each refresh
    op.create_table("trace_mb_flows", sa.Column("account", sa.String(length=300), nullable=False),
                    sa.Column("source", sa.String(length=320), nullable=False),
                    sa.Column("elements", sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint("account", "source", name=op.f("pk_trace_mb_flows")))
    op.create_table("trace_mb_demand", sa.Column("account", sa.String(length=300), nullable=False),
                    sa.Column("elements", sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint("account", name=op.f("pk_trace_mb_demand")))
    op.create_table("trace_mb_outputs", sa.Column("account", sa.String(length=300), nullable=False),
                    sa.Column("site", sa.String(length=200), nullable=False),
                    sa.Column("model_id", sa.String(length=100), nullable=False),
                    sa.Column("year", sa.String(length=4), nullable=False),
                    sa.Column("packs", sa.Integer(), nullable=False),
                    sa.Column("elements_all", sa.Text(), nullable=False),
                    sa.Column("elements_final", sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint("account", "site", "model_id", "year", name=op.f("pk_trace_mb_outputs")))
    op.create_table("trace_mb_intermediate", sa.Column("lot_id", sa.String(length=100), nullable=False),
                    sa.PrimaryKeyConstraint("lot_id", name=op.f("pk_trace_mb_intermediate")))


def downgrade() -> None:
    for t in ("trace_mb_intermediate", "trace_mb_outputs", "trace_mb_demand", "trace_mb_flows", "trace_mb_mark"):
        op.drop_table(t)
