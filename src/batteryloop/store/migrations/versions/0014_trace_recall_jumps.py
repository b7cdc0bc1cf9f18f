"""trace_recall_jumps: recall's jumps over packs, so a recall through recycling walks lots, not every pack

For every arc of the recall walk that leaves a pack (recycled into black mass, built into another pack), a row
from each lot before that pack (not a pack itself, through packs only) to where the arc leads
(batteryloop.store.trace_reach). Filled here from the lot edges and pack sources; kept by the ledger's appends.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 15:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_FILL = """
INSERT INTO trace_recall_jumps (target_id, source_id, target_kind)
SELECT DISTINCT a.dst, s.src, a.kind FROM (
    SELECT e.input_id AS p, e.output_id AS dst, e.output_kind AS kind
      FROM trace_lot_edges e JOIN trace_lots pl ON pl.id = e.input_id
     WHERE pl.kind = 'pack' AND e.output_kind <> 'module'
    UNION
    SELECT ps.source_id, ps.pack_id, 'pack'
      FROM trace_pack_sources ps JOIN trace_lots pl ON pl.id = ps.source_id WHERE pl.kind = 'pack'
  ) a JOIN (
    SELECT e.output_id AS p, e.input_id AS src
      FROM trace_lot_edges e JOIN trace_lots il ON il.id = e.input_id
     WHERE e.output_kind = 'pack' AND il.kind <> 'pack'
    UNION
    SELECT e.output_id, e2.input_id
      FROM trace_lot_edges e JOIN trace_lots m ON m.id = e.input_id
      JOIN trace_lot_edges e2 ON e2.output_id = e.input_id JOIN trace_lots il ON il.id = e2.input_id
     WHERE e.output_kind = 'pack' AND m.kind = 'module' AND il.kind <> 'pack'
    UNION
    SELECT j.target_id, j.source_id FROM trace_recall_jumps j
  ) s ON s.p = a.p
WHERE NOT EXISTS (SELECT 1 FROM trace_recall_jumps x WHERE x.target_id = a.dst AND x.source_id = s.src)
"""


def upgrade() -> None:
    op.create_table("trace_recall_jumps", sa.Column("target_id", sa.String(length=100), nullable=False),
                    sa.Column("source_id", sa.String(length=100), nullable=False),
                    sa.Column("target_kind", sa.String(length=16), nullable=False),
                    sa.PrimaryKeyConstraint("target_id", "source_id", name=op.f("pk_trace_recall_jumps")))
    op.create_index("ix_trace_recall_jumps_source", "trace_recall_jumps", ["source_id", "target_kind", "target_id"])
    # filled from the lot edges and pack sources as batteryloop.store.trace_reach.rebuild does (a frozen copy of
    # its statement): repeated until nothing is new (a second pass adds jumps over packs built from packs)
    bind = op.get_bind()
    while bind.execute(sa.text(_FILL)).rowcount:
        pass


def downgrade() -> None:
    op.drop_index("ix_trace_recall_jumps_source", table_name="trace_recall_jumps")
    op.drop_table("trace_recall_jumps")
