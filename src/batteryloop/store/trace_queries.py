"""The trace queries' repository: what :mod:`batteryloop.trace.queries` reads of the ledger's tables.

Read only: the lots and lot edges upstream of a lot (lineage), the packs downstream of a lot, a site or a
supplier with their custody (recall), a subject's chain bodies and custody row, the lots of a flagged
origin, every pack's events (outflows), and the whole material graph (lots and
edges, for recycled content).

Lineage and recall are recursive SQL (``WITH RECURSIVE``, on SQLite and PostgreSQL) run through the
driver's cursor: plain tuples, no per-row result processing — these queries return thousands of rows.
Functions take the connection of the caller's read transaction (``store.read()``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import case, func, select, text

from . import trace_tables as tt

L, ED, CU, E, C = tt.trace_lots, tt.trace_lot_edges, tt.trace_custody, tt.trace_events, tt.trace_chain

# Upstream walks stop at sources: a lot with an origin (mined, or recovered and certified as recycled) is
# where the material graph begins (batteryloop.trace.massbalance.MaterialGraph leaves out its input edges).
# Without the stop a pack's lineage would climb through every recycling run back to the packs of earlier
# generations and their mines: rows growing with the ledger's history, all dropped afterwards.
_UP_STEP = """SELECT e.input_id FROM up JOIN trace_lots o ON o.id = up.id AND o.origin_type IS NULL
    JOIN trace_lot_edges e ON e.output_id = up.id"""

_UP = text(f"""
WITH RECURSIVE up(id) AS (
  SELECT CAST(:root AS VARCHAR(100))
  UNION
  {_UP_STEP}
)
SELECT e.output_id, e.input_id, e.mass_kg FROM up JOIN trace_lots o ON o.id = up.id AND o.origin_type IS NULL
  JOIN trace_lot_edges e ON e.output_id = up.id
""")

_UP_LOTS = text(f"""
WITH RECURSIVE up(id) AS (
  SELECT CAST(:root AS VARCHAR(100))
  UNION
  {_UP_STEP}
)
SELECT l.id, l.kind, l.mass_kg, l.elements, l.material, l.model_id, l.origin_type, l.origin_country,
       l.origin_site, l.certified_by, l.producer, l.site_country, l.site, l.produced_at, l.event_id, ev.kind AS stage
FROM up JOIN trace_lots l ON l.id = up.id JOIN trace_events ev ON ev.id = l.event_id
""")


def _down_sql(start: str, mode: str, through_recycling: bool = True) -> Any:
    # Fast walk: follow every edge except those into modules, and jump from the lots modules are made of
    # straight to the packs (trace_pack_sources): one cell batch fans out into hundreds of modules.
    # SQLite takes two recursive terms (each searched by index); PostgreSQL takes one, a LATERAL
    # UNION ALL searched by index on both sides. Exhaustive walk: every edge, modules included.
    # through_recycling=False: the walk does not leave a lot with an origin (mined, or recovered and
    # certified) other than where it started (``root``): the recall stops at recovered lots
    cut = "" if through_recycling else (" AND (down.root = 1 OR NOT EXISTS (SELECT 1 FROM trace_lots o "
                                        "WHERE o.id = down.id AND o.origin_type IS NOT NULL))")
    extra = "" if through_recycling else ", 0"
    if mode == "exhaustive":
        step = f"SELECT e.output_id{extra} FROM trace_lot_edges e JOIN down ON e.input_id = down.id WHERE 1 = 1{cut}"
    elif mode == "sqlite":
        step = f"""SELECT e.output_id{extra} FROM trace_lot_edges e JOIN down ON e.input_id = down.id
    WHERE e.output_kind <> 'module'{cut}
  UNION
  SELECT ps.pack_id{extra} FROM trace_pack_sources ps JOIN down ON ps.source_id = down.id WHERE 1 = 1{cut}"""
    else:
        step = f"""SELECT x.dst{extra} FROM down CROSS JOIN LATERAL (
      SELECT e.output_id AS dst FROM trace_lot_edges e WHERE e.input_id = down.id AND e.output_kind <> 'module'
      UNION ALL
      SELECT ps.pack_id AS dst FROM trace_pack_sources ps WHERE ps.source_id = down.id
    ) x WHERE 1 = 1{cut}"""
    if not through_recycling:
        start = start.replace("SELECT CAST(:key AS VARCHAR(100))", "SELECT CAST(:key AS VARCHAR(100)), 1").replace(
            "SELECT id FROM", "SELECT id, 1 FROM")
    return text(f"""
WITH RECURSIVE down({"id" if through_recycling else "id, root"}) AS (
  {start}
  UNION
  {step}
)
SELECT l.id, l.model_id, l.site, l.site_country, l.produced_at, c.holder, c.country, c.status
FROM down CROSS JOIN trace_lots l LEFT JOIN trace_custody c ON c.subject = l.id
WHERE l.id = down.id AND l.kind = 'pack' ORDER BY l.id
""")


_STARTS = {
    "lot": "SELECT CAST(:key AS VARCHAR(100))",
    "site": "SELECT id FROM trace_lots WHERE origin_site = :key OR site = :key",
    "supplier": "SELECT id FROM trace_lots WHERE producer = :key OR certified_by = :key",
}
_RECALL = {(mode, by): _down_sql(start, mode) for by, start in _STARTS.items()
           for mode in ("sqlite", "postgresql", "exhaustive")}
_RECALL_FIRST_LIFE = {(mode, by): _down_sql(start, mode, through_recycling=False) for by, start in _STARTS.items()
                      for mode in ("sqlite", "postgresql", "exhaustive")}

RECALL_BY = tuple(_STARTS)
"""What a recall may start from: a lot, a site (origin or production site) or a supplier."""


def _driver_rows(conn: Any, stmt: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run a text() query through the driver's cursor: plain tuples, no per-row result processing
    (these queries return thousands of rows of plain strings and numbers)."""
    sql = stmt.text
    if conn.dialect.paramstyle == "qmark":
        order = sorted(params, key=lambda k: -len(k))
        names: list[str] = []

        def sub(m: Any) -> str:
            names.append(m.group(1))
            return "?"

        sql = re.sub(r":(" + "|".join(order) + r")\b", sub, sql)
        args: Any = tuple(params[n] for n in names)
    else:  # pyformat (psycopg)
        for k in params:
            sql = sql.replace(f":{k}", f"%({k})s")
        args = params
    cur = conn.connection.cursor()  # the transaction's own DBAPI connection
    try:
        if conn.dialect.name == "postgresql":
            # a graph walk touches a few rows per step: PostgreSQL's planner, guessing ten rows for the
            # recursive work table, would otherwise hash-join against whole tables at every step
            cur.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; "
                        "SET LOCAL enable_seqscan = off")
        cur.execute(sql, args)
        return cur.fetchall()
    finally:
        cur.close()


# ------------------------------------------------- PostgreSQL: one statement, one round trip
# On PostgreSQL lineage and recall run as ONE statement each on a connection of their own in autocommit
# (store.fastread.AutocommitConnections, the planner settings of _driver_rows set once for the session):
# one round trip instead of the read transaction's six or seven (pool ping, BEGIN, SET LOCAL, the walks,
# COMMIT, reset). A single statement is its own snapshot, as the transaction was.
WALK_SESSION_OPTIONS = "-c enable_hashjoin=off -c enable_mergejoin=off -c enable_seqscan=off"
"""Settings of the walk connections' sessions (libpq ``options``): see :func:`_driver_rows` for why."""

# A pack's lineage in one walk: each lot upstream (with the kind of event that made it) and, for lots that
# are not sources, its input edges (LEFT JOIN: a lot row per input edge; lots repeat, edges do not).
_LINEAGE_PG = f"""
WITH RECURSIVE up(id) AS (
  SELECT CAST(%(root)s AS VARCHAR(100))
  UNION
  {_UP_STEP}
)
SELECT l.id, l.kind, l.mass_kg, l.elements, l.material, l.model_id, l.origin_type, l.origin_country,
       l.origin_site, l.certified_by, l.producer, l.site_country, l.site, l.produced_at, l.event_id, ev.kind AS stage,
       e.input_id, e.mass_kg
FROM up JOIN trace_lots l ON l.id = up.id JOIN trace_events ev ON ev.id = l.event_id
  LEFT JOIN trace_lot_edges e ON e.output_id = l.id AND l.origin_type IS NULL
"""


def lineage_rows(conns: Any, root: str) -> list[tuple[Any, ...]]:
    """:func:`upstream_lots` and :func:`upstream_edges` in one statement through ``conns``
    (:class:`~batteryloop.store.fastread.AutocommitConnections`, PostgreSQL): rows of the lot's 16 columns
    followed by one input edge of it (input_id, mass_kg), or two ``None`` for a lot without inputs (a source)."""
    return conns.all(_LINEAGE_PG, {"root": root})


# Recall carrying each lot's row through the walk (the service's form for a recall that stops at recovered
# lots, which needs each lot's origin as it walks; see recall_rows for why not for the other): the lot is read once, where the walk reaches it (not
# again for the answer), and a pack that no event consumed (consumed_kg = 0: it was never recycled, taken
# apart or reused — every input edge adds its mass to its lot's consumed_kg) is a leaf: its edges and pack
# sources are not looked up. Packs are most of the lots a recall reaches, so that halves the index probes per
# pack (the lot and its custody, instead of edges, pack sources, the lot and its custody). An input of
# 0 kg (the schema allows it) carries no material: a pack consumed only by such inputs is not followed.
_RECALL_PG_COLUMNS = "l.id, l.kind, l.consumed_kg, l.model_id, l.site, l.site_country, l.produced_at, l.origin_type"
_RECALL_PG_STARTS = {
    "lot": "l.id = %(key)s",
    "site": "l.origin_site = %(key)s OR l.site = %(key)s",
    "supplier": "l.producer = %(key)s OR l.certified_by = %(key)s",
}
# through_recycling=False: a lot with an origin (mined, or recovered and certified) that is not where the
# recall starts is not walked out of: the recall stops at recovered lots, as lineage and the mass balance do,
# and finds the first-life packs only
_RECALL_PG = {(by, through): f"""
WITH RECURSIVE down(id, kind, consumed_kg, model_id, site, site_country, produced_at, origin_type, root) AS (
  SELECT {_RECALL_PG_COLUMNS}, true FROM trace_lots l WHERE {start}
  UNION
  SELECT {_RECALL_PG_COLUMNS}, false FROM down CROSS JOIN LATERAL (
      SELECT e.output_id AS dst FROM trace_lot_edges e WHERE e.input_id = down.id AND e.output_kind <> 'module'
      UNION ALL
      SELECT ps.pack_id AS dst FROM trace_pack_sources ps WHERE ps.source_id = down.id
    ) x JOIN trace_lots l ON l.id = x.dst
  WHERE (down.kind <> 'pack' OR down.consumed_kg > 0){"" if through else " AND (down.root OR down.origin_type IS NULL)"}
)
SELECT d.id, d.model_id, d.site, d.site_country, d.produced_at, c.holder, c.country, c.status, d.kind
FROM down d LEFT JOIN trace_custody c ON c.subject = d.id
WHERE d.kind = 'pack'{" OR d.id = %(key)s" if by == "lot" else ""} ORDER BY d.id
""" for by, start in _RECALL_PG_STARTS.items() for through in (True, False)}


_RECALL_PG_WALK = {by: _RECALL[("postgresql", by)].text.replace(":key", "%(key)s") for by in _STARTS}


def recall_rows(conns: Any, key: str, by: str, through_recycling: bool = True) -> list[tuple[Any, ...]] | None:
    """:func:`recall_packs` through ``conns`` (PostgreSQL, autocommit): None when recalling by lot and there is
    no such lot. Through recycling it runs the walk of :data:`_RECALL` (measured against the carried-row form
    on 120,000 packs: that one read a third fewer buffers but took longer, interleaved — the recursive
    UNION's de-duplication of wide rows costs more than the probes it saves); stopping at recovered lots it
    runs :data:`_RECALL_PG`, which needs each lot's origin as it walks."""
    if by == "lot" and conns.one("SELECT 1 FROM trace_lots WHERE id = %(key)s", {"key": key}) is None:
        return None
    if through_recycling:
        return conns.all(_RECALL_PG_WALK[by], {"key": key})
    return [r[:8] for r in conns.all(_RECALL_PG[(by, False)], {"key": key}) if r[8] == "pack"]


# ------------------------------------------------------------------ lineage
def upstream_lots(conn: Any, root: str) -> list[tuple[Any, ...]]:
    """``root`` and every lot upstream of it, as tuples (id, kind, mass_kg, elements (JSON text), material,
    model_id, origin_type, origin_country, origin_site, certified_by, producer, site_country, site,
    produced_at, event_id, stage — the kind of the event that produced it). Empty if ``root`` is no lot."""
    return _driver_rows(conn, _UP_LOTS, {"root": root})


def upstream_edges(conn: Any, root: str) -> list[tuple[str, str, float]]:
    """Every lot edge upstream of ``root``, as (output_id, input_id, mass_kg)."""
    return _driver_rows(conn, _UP, {"root": root})  # type: ignore[return-value]


# ------------------------------------------------------------------- recall
def lot_exists(conn: Any, lot_id: str) -> bool:
    return conn.execute(select(L.c.id).where(L.c.id == lot_id)).first() is not None


def recall_packs(conn: Any, key: str, by: str, exhaustive: bool = False,
                 mode: str | None = None, through_recycling: bool = True) -> list[tuple[Any, ...]]:
    """Every pack downstream of ``key`` — a lot, a site or a supplier (``by``, one of :data:`RECALL_BY`) —
    ordered by id, as tuples (id, model_id, site, site_country, produced_at, holder, country, status).

    ``exhaustive`` walks every edge, modules included, instead of jumping over the module level;
    ``mode`` (``sqlite``, ``postgresql``, ``exhaustive``) forces the form of the walk, else it follows the
    database."""
    if mode is None:
        mode = "exhaustive" if exhaustive else ("sqlite" if conn.dialect.name == "sqlite" else "postgresql")
    return _driver_rows(conn, (_RECALL if through_recycling else _RECALL_FIRST_LIFE)[(mode, by)], {"key": key})


def lots_of_origin(conn: Any, *, site: str | None = None, country: str | None = None) -> list[str]:
    """The ids of the source lots (lots with an origin) from an origin site, or else from a country."""
    q = select(L.c.id).where(L.c.origin_type.is_not(None))
    q = q.where(L.c.origin_site == site) if site else q.where(L.c.origin_country == country)
    return [r.id for r in conn.execute(q)]


# ------------------------------------------------------------------ custody
def chain_bodies(conn: Any, subject: str) -> list[str]:
    """The bodies (JSON text) of a subject's events in chain order."""
    return [r.body for r in conn.execute(select(E.c.body).join(C, C.c.event_id == E.c.id)
                                         .where(C.c.subject == subject).order_by(C.c.seq))]


def custody(conn: Any, subject: str) -> dict[str, Any] | None:
    """A subject's custody row as a dict by column, ``None`` if it has none."""
    row = conn.execute(select(CU).where(CU.c.subject == subject)).first()
    return {str(k): v for k, v in row._mapping.items()} if row else None


# ----------------------------------------------------------------- outflows
CUSTODY_DATA_FREE_KINDS = ("soh_update", "repair", "swap", "removal", "passport_issued", "annotation")
"""Event kinds whose effect on a pack's custody depends on their kind, actor, time and country alone: their
bodies are not read (most of a pack's events are periodic state-of-health updates)."""


def pack_ids(conn: Any) -> list[str]:
    """Every pack's id, sorted (to split the packs into ranges)."""
    return list(conn.execute(select(L.c.id).where(L.c.kind == "pack").order_by(L.c.id)).scalars())


def pack_events(conn: Any, first: str | None = None, last: str | None = None) -> Any:
    """Every pack's events in chain order, as (pack, model_id, event_id, kind, actor, occurred_at, country, body):
    ``body`` (JSON text) only for the kinds not in :data:`CUSTODY_DATA_FREE_KINDS`, else ``None``. ``first`` and
    ``last``: only the packs with ids in that range (both included)."""
    body = case((E.c.kind.in_(CUSTODY_DATA_FREE_KINDS), None), else_=E.c.body)
    q = (select(C.c.subject, L.c.model_id, E.c.id, E.c.kind, E.c.actor, E.c.occurred_at, E.c.country, body)
         .select_from(C.join(L, L.c.id == C.c.subject).join(E, E.c.id == C.c.event_id))
         .where(L.c.kind == "pack").order_by(C.c.subject, C.c.seq))
    if first is not None:
        q = q.where(C.c.subject >= first)
    if last is not None:
        q = q.where(C.c.subject <= last)
    return conn.execute(q.execution_options(yield_per=10_000))  # batches, not the whole ledger in memory


def ledger_mark(conn: Any) -> tuple[int | None, str | None]:
    """(the last event's store-wide sequence number, the latest ``occurred_at``): what changes on every append,
    and the time of the last event (``None`` for an empty ledger)."""
    row = conn.execute(select(func.max(E.c.gseq), func.max(E.c.occurred_at))).first()
    return (row[0], row[1]) if row else (None, None)


# --------------------------------------------------------- recycled content
def all_lots(conn: Any) -> list[Any]:
    """Every lot (every column of ``trace_lots``; ``elements`` as JSON text)."""
    return conn.execute(select(L)).all()


def all_edges(conn: Any) -> list[tuple[str, str, float]]:
    """Every lot edge as (output_id, input_id, mass_kg)."""
    return [(r.output_id, r.input_id, r.mass_kg) for r in conn.execute(select(ED))]
