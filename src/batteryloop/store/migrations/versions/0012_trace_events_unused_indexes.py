"""trace_events: drop the indexes on kind and actor, which no query uses

Measured with bench/registry_scale.py (docs/benchmarks.md, "Registry at national scale"): no read of the
store filters or orders ledger events by kind or by actor (events are read by id, by store sequence and
through chain links), PostgreSQL counted 0 scans of either index over the whole bench, and each costs an
index insert on every append and about 7 bytes per event on disk plus B-tree overhead (3.4 MB per
500,000 events; about 0.35 GB each at 50 million). A query that needs them brings its own index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 08:40:00
"""
from alembic import op


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_trace_events_kind", table_name="trace_events")
    op.drop_index("ix_trace_events_actor", table_name="trace_events")


def downgrade() -> None:
    op.create_index("ix_trace_events_actor", "trace_events", ["actor"])
    op.create_index("ix_trace_events_kind", "trace_events", ["kind"])
