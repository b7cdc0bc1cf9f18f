"""The trace queries' repository: what :mod:`batteryloop.trace.queries` reads of the ledger's tables.

Read only: the lots and lot edges upstream of a lot (lineage), the packs downstream of a lot, a site or a
supplier with their custody (recall), a subject's chain bodies and custody row, the lots of a flagged
origin, every pack's events (outflows), and the whole material graph (lots and
edges, for recycled content).

Lineage and recall are recursive SQL (``WITH RECURSIVE``, on SQLite and PostgreSQL) run through the
driver's cursor: plain tuples, no per-row result processing — these queries return thousands of rows. A recall
through recycling walks lots and the jumps over consumed packs (:func:`recall_via_jumps`, table
``trace_recall_jumps`` of :mod:`.trace_reach`), and may return one page with the count of all packs.
Functions take the connection of the caller's read transaction (``store.read()``).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

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
WALK_SESSION_OPTIONS = "-c enable_hashjoin=off -c enable_mergejoin=off -c enable_seqscan=off -c jit=off"
"""Settings of the walk connections' sessions (libpq ``options``): see :func:`_driver_rows` for why; and no JIT
compilation — the planner's row guesses for recursive walks are huge (hundreds of millions), which would
compile every walk (2 s measured for a recall that runs in 40 ms)."""

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


# ------------------------------------------------- recall through recycling over the jumps (migration 0014)
# The walk visits lots that are not packs only: edges to lots that are neither modules nor packs, and the jumps
# over consumed packs (store.trace_reach); the packs are then one arc (pack sources; edges into packs from a
# module the recall starts at) or one jump away from the walk's lots. ``seeds``: the lots (not packs) the walk
# starts from; ``packs``: packs found before the walk (packs the recall starts at and the packs they lead to).
_JUMP_WALK = {
    "sqlite": """
WITH RECURSIVE w(id) AS (
  SELECT value FROM json_each(:seeds)
  UNION
  SELECT e.output_id FROM trace_lot_edges e JOIN w ON e.input_id = w.id WHERE e.output_kind NOT IN ('module', 'pack')
  UNION
  SELECT j.target_id FROM trace_recall_jumps j JOIN w ON j.source_id = w.id WHERE j.target_kind <> 'pack'
), packs(id) AS (
  SELECT value FROM json_each(:packs)
  UNION SELECT ps.pack_id FROM trace_pack_sources ps JOIN w ON ps.source_id = w.id
  UNION SELECT j.target_id FROM trace_recall_jumps j JOIN w ON j.source_id = w.id WHERE j.target_kind = 'pack'{modules}
)""",
    "postgresql": """
WITH RECURSIVE w(id) AS (
  SELECT CAST(s AS VARCHAR(100)) FROM unnest(CAST(:seeds AS VARCHAR(100)[])) s
  UNION
  SELECT x.dst FROM w CROSS JOIN LATERAL (
    SELECT e.output_id AS dst FROM trace_lot_edges e WHERE e.input_id = w.id AND e.output_kind NOT IN ('module', 'pack')
    UNION ALL
    SELECT j.target_id FROM trace_recall_jumps j WHERE j.source_id = w.id AND j.target_kind <> 'pack'
  ) x
), packs(id) AS (
  SELECT CAST(s AS VARCHAR(100)) FROM unnest(CAST(:packs AS VARCHAR(100)[])) s
  UNION SELECT ps.pack_id FROM w JOIN trace_pack_sources ps ON ps.source_id = w.id
  UNION SELECT j.target_id FROM w JOIN trace_recall_jumps j ON j.source_id = w.id AND j.target_kind = 'pack'{modules}
)""",
}
# a module the recall starts at leads to its pack by an edge (pack sources hold the modules' inputs, not the modules)
_JUMP_MODULES = {
    "sqlite": "\n  UNION SELECT e.output_id FROM trace_lot_edges e JOIN w ON e.input_id = w.id WHERE e.output_kind = 'pack'",
    "postgresql": "\n  UNION SELECT e.output_id FROM w JOIN trace_lot_edges e ON e.input_id = w.id AND e.output_kind = 'pack'",
}
_PACK_COLUMNS = "l.id, l.model_id, l.site, l.site_country, l.produced_at, c.holder, c.country, c.status"
# Every pack with its row and custody: two index lookups per pack, most of a whole answer's cost. On PostgreSQL
# the pack ids are sorted first and looked up in that order: consecutive lookups then descend through the same
# index pages (cached), and the join keeps the order, so the answer needs no sort of its wide rows after it.
# Looking up in the hash order of the de-duplication and then sorting the rows took 244 ms of PostgreSQL's CPU
# for the first 2019 mine lot of bench/registry_scale.py (14,800 packs), this 175 ms (docs/benchmarks.md,
# "Fourth pass"). SQLite sorts by its own plan.
_JUMP_ALL = {
    "sqlite": f"""
SELECT {_PACK_COLUMNS}
FROM packs p JOIN trace_lots l ON l.id = p.id LEFT JOIN trace_custody c ON c.subject = l.id ORDER BY l.id""",
    "postgresql": f"""
SELECT {_PACK_COLUMNS}
FROM (SELECT id FROM packs ORDER BY id) p JOIN trace_lots l ON l.id = p.id LEFT JOIN trace_custody c ON c.subject = l.id
ORDER BY l.id""",
}
# one page (by pack id) and the number of all packs: every id in ``packs`` is a pack's (pack sources, jumps to
# packs and edges into packs lead to packs only), so the count reads no lot row; the page's rows only are read
_JUMP_PAGE = f"""
SELECT {_PACK_COLUMNS}, n.n FROM (SELECT count(*) AS n FROM packs) n LEFT JOIN (
  (SELECT id FROM packs ORDER BY id LIMIT :limit OFFSET :offset) pg
  JOIN trace_lots l ON l.id = pg.id LEFT JOIN trace_custody c ON c.subject = l.id) ON 1 = 1
ORDER BY l.id"""

# From packs the recall starts at: the packs they lead to through packs only (a pack built from a pack's modules),
# then the lots (not packs, not modules) any of them leads to, where the walk over lots starts (flag 1).
_FROM_PACKS = {
    "sqlite": """
WITH RECURSIVE sp(id) AS (
  SELECT value FROM json_each(:packs)
  UNION SELECT e.output_id FROM trace_lot_edges e JOIN sp ON e.input_id = sp.id WHERE e.output_kind = 'pack'
  UNION SELECT ps.pack_id FROM trace_pack_sources ps JOIN sp ON ps.source_id = sp.id
)
SELECT id, 0 FROM sp
UNION SELECT e.output_id, 1 FROM trace_lot_edges e JOIN sp ON e.input_id = sp.id WHERE e.output_kind NOT IN ('module', 'pack')""",
    "postgresql": """
WITH RECURSIVE sp(id) AS (
  SELECT CAST(s AS VARCHAR(100)) FROM unnest(CAST(:packs AS VARCHAR(100)[])) s
  UNION
  SELECT x.dst FROM sp CROSS JOIN LATERAL (
    SELECT e.output_id AS dst FROM trace_lot_edges e WHERE e.input_id = sp.id AND e.output_kind = 'pack'
    UNION ALL
    SELECT ps.pack_id FROM trace_pack_sources ps WHERE ps.source_id = sp.id
  ) x
)
SELECT id, 0 FROM sp
UNION SELECT e.output_id, 1 FROM sp JOIN trace_lot_edges e ON e.input_id = sp.id AND e.output_kind NOT IN ('module', 'pack')""",
}
_START_KINDS = {
    "lot": "SELECT id, kind FROM trace_lots WHERE id = :key",
    "site": "SELECT id, kind FROM trace_lots WHERE origin_site = :key OR site = :key",
    "supplier": "SELECT id, kind FROM trace_lots WHERE producer = :key OR certified_by = :key",
}


def recall_via_jumps(run: Any, dialect: str, key: str, by: str, limit: int | None = None,
                     offset: int = 0) -> tuple[list[tuple[Any, ...]], int] | None:
    """Every pack downstream of ``key`` through recycling — the packs of :func:`recall_packs` — by the walk over
    lots and jumps (module docstring of :mod:`.trace_reach`): (rows as :func:`recall_packs` gives them, ordered
    by pack id, the number of all packs). With ``limit``: the rows of that page only (from ``offset``), and
    the number of all packs, counted without reading their rows. ``None`` when recalling by lot and there is
    no such lot.

    ``run(sql, params)`` runs a statement (``:name`` parameters; lists as arrays) and returns its rows: the read
    transaction's connection on SQLite (:func:`_driver_rows`), a walk connection on PostgreSQL (each statement
    its own snapshot: the start lots, the packs they are, the walk)."""
    def arr(xs: list[str]) -> Any:
        return orjson.dumps(xs).decode() if dialect == "sqlite" else xs

    starts = run(_START_KINDS[by], {"key": key})
    if by == "lot" and not starts:
        return None
    seeds = sorted(i for i, k in starts if k != "pack")
    packs = sorted(i for i, k in starts if k == "pack")
    modules = any(k == "module" for _, k in starts)
    if packs:
        found = run(_FROM_PACKS[dialect], {"packs": arr(packs)})
        packs = sorted(i for i, f in found if not f)
        seeds = sorted(set(seeds) | {i for i, f in found if f})
    walk = _JUMP_WALK[dialect].format(modules=_JUMP_MODULES[dialect] if modules else "")
    params: dict[str, Any] = {"seeds": arr(seeds), "packs": arr(packs)}
    if limit is None:
        rows = run(walk + _JUMP_ALL[dialect], params)
        return rows, len(rows)
    rows = run(walk + _JUMP_PAGE, {**params, "limit": limit, "offset": offset})
    return [r[:8] for r in rows if r[0] is not None], rows[0][8]


def pg_runner(conns: Any) -> Any:
    """:func:`recall_via_jumps`'s ``run`` on PostgreSQL's walk connections (:class:`AutocommitConnections`)."""
    def run(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        for k in sorted(params, key=len, reverse=True):
            sql = re.sub(rf":{k}\b", f"%({k})s", sql)
        return conns.all(sql, params)
    return run


def sqlite_runner(conn: Any) -> Any:
    """:func:`recall_via_jumps`'s ``run`` in a read transaction (SQLite; PostgreSQL too, with its planner
    settings set for the transaction)."""
    return lambda sql, params: _driver_rows(conn, text(sql), params)


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
