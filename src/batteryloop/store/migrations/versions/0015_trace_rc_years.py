"""trace_rc_years: the years whose Art. 8 recycled content was applied, and whether a late event made them stale;
trace_mb_intermediate.internal_kg: how much of a lot its own account consumed

A transformation recorded late (events may arrive out of order) for a year whose figures were already written
into passports changes those figures: the ledger marks that year and the later applied ones stale, and applying
the recycled content reports them (batteryloop.trace.service.apply_recycled_content).

A lot partly consumed inside its own production account is an intermediate for that part only (its shipped part
stays a final output at the account's rate): the kept mass-balance sums (migration 0013) now count the internal
kilograms per lot. The accumulators are emptied here so that the next query folds the whole ledger in again under
that rule (batteryloop.trace.mb_summary).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 04:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("trace_rc_years", sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column("applied_at", sa.String(length=32), nullable=False),
                    sa.Column("stale_since", sa.String(length=32), nullable=True),
                    sa.Column("stale_event_id", sa.String(length=100), nullable=True),
                    sa.PrimaryKeyConstraint("year", name=op.f("pk_trace_rc_years")))
    # the years already written into passports: their versions' reasons name them
    # ("Art. 8 recycled content <year> from the ledger (…)", batteryloop.trace.service.recycled_content_reason)
    op.execute(sa.text(
        "INSERT INTO trace_rc_years (year, applied_at) "
        "SELECT CAST(substr(reason, 25, 4) AS INTEGER), max(created_at) FROM passport_versions "
        "WHERE reason LIKE 'Art. 8 recycled content %' AND substr(reason, 25, 4) BETWEEN '1900' AND '2200' "
        "GROUP BY substr(reason, 25, 4)"))
    with op.batch_alter_table("trace_mb_intermediate") as b:
        b.add_column(sa.Column("internal_kg", sa.Float(), nullable=False, server_default="0"))
    for t in ("trace_mb_intermediate", "trace_mb_outputs", "trace_mb_demand", "trace_mb_flows", "trace_mb_mark"):
        op.execute(sa.text(f"DELETE FROM {t}"))


def downgrade() -> None:
    for t in ("trace_mb_intermediate", "trace_mb_outputs", "trace_mb_demand", "trace_mb_flows", "trace_mb_mark"):
        op.execute(sa.text(f"DELETE FROM {t}"))
    with op.batch_alter_table("trace_mb_intermediate") as b:
        b.drop_column("internal_kg")
    op.drop_table("trace_rc_years")
