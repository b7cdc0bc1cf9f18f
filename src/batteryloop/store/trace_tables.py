"""Tables of the traceability ledger (batteryloop.trace), on the shared ``metadata``.

* ``trace_events`` — one row per signed event: its canonical body (the bytes the hash covers), hash,
  signature and a store-wide sequence number ``gseq`` (assigned max + 1 inside the write
  transaction, so a gap means a removed row).
* ``trace_chain`` — one row per (subject, event): the subject's hash chain. The primary key
  (subject, seq) and the unique (subject, prev_hash) make a fork impossible: two writers that both
  extend the same head collide and the second is retried against the new head.
* ``trace_lots`` — material lots and the things built from them (cell batches, modules, packs) with
  mass, element contents, origin, producer site and remaining mass.
* ``trace_lot_edges`` — output lot ← input lot, with the input mass that went into the output.
* ``trace_pack_sources`` — pack ← the lots its modules were made from (a shortcut for recall).
* ``trace_recall_jumps`` — recall's jumps over packs (migration 0014): for every arc of the recall walk that
  leaves a pack (a pack recycled into black mass, or built into another pack), the lots before the pack
  straight to where the arc leads — so a recall through recycling walks lots, not the packs it reaches.
* ``trace_custody`` — the latest custody state of each subject (holder, country, status), kept up to
  date by every append: recall and outflow reports read it instead of replaying chains.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text, UniqueConstraint

from .tables import metadata

trace_events = Table(
    "trace_events",
    metadata,
    Column("gseq", Integer, primary_key=True, autoincrement=False),
    Column("id", String(100), nullable=False, unique=True),
    Column("hash", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(32), nullable=False),
    Column("occurred_at", String(32), nullable=False),
    Column("country", String(2), nullable=False),
    Column("recorded_at", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("signature", String(100), nullable=False),
    # no index on kind or actor: no query reads events by them (migration 0012 dropped the two there were)
)

trace_chain = Table(
    "trace_chain",
    metadata,
    Column("subject", String(100), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("event_id", String(100), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("event_hash", String(64), nullable=False),
    UniqueConstraint("subject", "prev_hash", name="uq_trace_chain_subject_prev_hash"),
    Index("ix_trace_chain_event_id", "event_id"),
)

trace_lots = Table(
    "trace_lots",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("mass_kg", Float, nullable=False),
    Column("consumed_kg", Float, nullable=False, default=0.0),
    Column("elements", Text, nullable=False),  # JSON {element: kg}
    Column("material", String(100)),
    Column("model_id", String(100)),
    Column("origin_type", String(16)),  # primary / pre_consumer / post_consumer; NULL for produced lots
    Column("origin_country", String(2)),
    Column("origin_site", String(200)),
    Column("certified_by", String(32)),
    Column("producer", String(32), nullable=False),
    Column("site_country", String(2), nullable=False),
    Column("site", String(200), nullable=False),
    Column("produced_at", String(32), nullable=False),
    Column("event_id", String(100), nullable=False),
    Index("ix_trace_lots_kind_model", "kind", "model_id"),
    Index("ix_trace_lots_origin_site", "origin_site"),
    Index("ix_trace_lots_producer", "producer"),
)

trace_lot_edges = Table(
    "trace_lot_edges",
    metadata,
    Column("output_id", String(100), primary_key=True),
    Column("input_id", String(100), primary_key=True),
    Column("output_kind", String(16), nullable=False),
    Column("mass_kg", Float, nullable=False),
    Column("event_id", String(100), nullable=False),
    # covering index for downstream walks (recall): seek by input, read output kind and id from the index
    Index("ix_trace_lot_edges_input", "input_id", "output_kind", "output_id"),
)

trace_pack_sources = Table(
    "trace_pack_sources",
    metadata,
    Column("source_id", String(100), primary_key=True),
    Column("pack_id", String(100), primary_key=True),
)
"""For each pack, the lots its modules were made from (and its direct non-module inputs): lets a recall
skip the module level, where a downstream walk fans out most (one cell batch → hundreds of modules)."""

trace_recall_jumps = Table(
    "trace_recall_jumps",
    metadata,
    Column("target_id", String(100), primary_key=True),  # where an arc out of a pack leads (a new lot)
    Column("source_id", String(100), primary_key=True),  # a lot (not a pack) before that pack
    Column("target_kind", String(16), nullable=False),
    Index("ix_trace_recall_jumps_source", "source_id", "target_kind", "target_id"),
)
"""Recall's jumps over packs (:mod:`batteryloop.store.trace_reach`): a row (target, source) for every arc of the
recall walk ``pack -> target`` and every lot ``source`` that is not a pack and reaches that pack through packs
only. Written with the target, by the event that creates it; never changed afterwards."""

trace_custody = Table(
    "trace_custody",
    metadata,
    Column("subject", String(100), primary_key=True),
    Column("holder", String(32)),
    Column("country", String(2), nullable=False),
    Column("status", String(16), nullable=False),  # in_use / exported / end_of_life / second_life
    Column("last_event_id", String(100), nullable=False),
    Column("last_kind", String(32), nullable=False),
    Column("last_event_at", String(32), nullable=False),
    Column("exported_to", String(2)),
    Index("ix_trace_custody_holder", "holder"),
)

# ------------------------------------------- the mass balance kept as the ledger grows (migration 0013)
# Accumulators of batteryloop.trace.mb_summary, per production account (producer | site | year): recycled
# content of a model-year from these, not from a pass over the whole material graph. Refreshed from the
# events appended since ``trace_mb_mark.gseq``. Element masses as JSON {element: kg}.
trace_mb_mark = Table(
    "trace_mb_mark",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("gseq", Integer, nullable=False),  # the last event folded into the accumulators
)

trace_mb_flows = Table(
    "trace_mb_flows",
    metadata,
    Column("account", String(300), primary_key=True),  # the consuming account
    # where the element mass came from: "acct:<account>" (final lots of another account) or
    # "origin:post_consumer" / "origin:pre_consumer" (recovered or scrap lots entering the loop)
    Column("source", String(320), primary_key=True),
    Column("elements", Text, nullable=False),
)

trace_mb_demand = Table(
    "trace_mb_demand",
    metadata,
    Column("account", String(300), primary_key=True),
    Column("elements", Text, nullable=False),  # element content of the account's final lots
)

trace_mb_outputs = Table(
    "trace_mb_outputs",
    metadata,
    Column("account", String(300), primary_key=True),  # or "origin:<type>" for packs made of nothing recorded
    Column("site", String(200), primary_key=True),
    Column("model_id", String(100), primary_key=True),
    Column("year", String(4), primary_key=True),
    Column("packs", Integer, nullable=False),
    Column("elements_all", Text, nullable=False),  # element content of all these packs
    Column("elements_final", Text, nullable=False),  # of those not consumed inside their own account
)

trace_mb_intermediate = Table(
    "trace_mb_intermediate",
    metadata,
    Column("lot_id", String(100), primary_key=True),  # a lot its own account consumed (part of it or all)
    # kg of it consumed inside its own account (migration 0015): that part is an intermediate, the rest final
    Column("internal_kg", Float, nullable=False, server_default="0"),
)

# ------------------------------------------- the years whose recycled content was applied (migration 0015)
# A transformation admitted late for an applied year marks it and the later applied years stale
# (batteryloop.trace.ledger), until the year is applied again (batteryloop.trace.service).
trace_rc_years = Table(
    "trace_rc_years",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", String(32), nullable=False),
    Column("stale_since", String(32)),  # when a late event made its figures stale (recording time)
    Column("stale_event_id", String(100)),  # the last late event (stale_since: when the first was recorded)
)
