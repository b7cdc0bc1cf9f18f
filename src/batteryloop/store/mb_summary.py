"""The kept mass balance's repository (``trace_mb_*``, migration 0013): what
:mod:`batteryloop.trace.mb_summary` reads and writes. Functions take the connection of the caller's
transaction; element masses travel as dicts {element: kg} (JSON text in the tables)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import bindparam, insert, select, update

from . import trace_tables as tt

M, FL, DE, OU, IN = tt.trace_mb_mark, tt.trace_mb_flows, tt.trace_mb_demand, tt.trace_mb_outputs, tt.trace_mb_intermediate
L, ED, E = tt.trace_lots, tt.trace_lot_edges, tt.trace_events


def _chunks(xs: list[str], n: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(xs), n):
        yield xs[i:i + n]


def _add(d: dict[str, float], els: dict[str, float]) -> None:
    for k, v in els.items():
        d[k] = d.get(k, 0.0) + v


def _json(d: dict[str, float]) -> str:
    return orjson.dumps(d).decode()


def read_mark(conn: Any, *, lock: bool = False) -> int | None:
    """The last event folded in (None: no row yet); ``lock``: its row locked for this transaction (a refresh
    that folded outside the lock checks it again under it)."""
    q = select(M.c.gseq).where(M.c.id == 1)
    row = conn.execute(q.with_for_update() if lock else q).first()
    return row[0] if row else None


def lock_mark(conn: Any) -> int | None:
    return read_mark(conn, lock=True)


def set_mark(conn: Any, gseq: int, existed: bool) -> None:
    if existed:
        conn.execute(update(M).where(M.c.id == 1).values(gseq=gseq))
    else:
        conn.execute(insert(M).values(id=1, gseq=gseq))


def events_after(conn: Any, gseq: int, limit: int) -> list[tuple[int, Any]]:
    """(gseq, body) of the events after ``gseq``, in order, at most ``limit``."""
    return [tuple(r) for r in conn.execute(select(E.c.gseq, E.c.body).where(E.c.gseq > gseq)
                                           .order_by(E.c.gseq).limit(limit))]


def lot_rows(conn: Any, ids: list[str]) -> list[tuple[Any, ...]]:
    """(id, kind, mass_kg, elements, origin_type, producer, site, produced_at, model_id, has_inputs) per lot."""
    out = []
    for part in _chunks(ids):
        produced = {r[0] for r in conn.execute(select(ED.c.output_id).where(ED.c.output_id.in_(part)).distinct())}
        for r in conn.execute(select(L.c.id, L.c.kind, L.c.mass_kg, L.c.elements, L.c.origin_type, L.c.producer,
                                     L.c.site, L.c.produced_at, L.c.model_id).where(L.c.id.in_(part))):
            out.append((*r, r[0] in produced))
    return out


def internal_kg(conn: Any, ids: list[str]) -> dict[str, float]:
    """The kg of each of ``ids`` consumed inside its own account so far (lots with none are left out)."""
    out: dict[str, float] = {}
    for part in _chunks(ids):
        out.update({r[0]: r[1] for r in conn.execute(select(IN.c.lot_id, IN.c.internal_kg).where(IN.c.lot_id.in_(part)))})
    return out


def add_internal_kg(conn: Any, added: dict[str, float], before: dict[str, float]) -> None:
    """Add ``added`` kg to each lot's internal consumption (``before``: what is recorded now)."""
    new = [{"lot_id": x, "internal_kg": kg} for x, kg in added.items() if x not in before]
    if new:
        conn.execute(insert(IN), new)
    for x, kg in added.items():
        if x in before:
            conn.execute(update(IN).where(IN.c.lot_id == x).values(internal_kg=before[x] + kg))


def edges_from(conn: Any, ids: list[str]) -> list[tuple[str, str, float, int]]:
    """(output_id, input_id, mass_kg, gseq of the event) of every edge out of ``ids``."""
    out = []
    for part in _chunks(ids):
        out += [tuple(r) for r in conn.execute(select(ED.c.output_id, ED.c.input_id, ED.c.mass_kg, E.c.gseq)
                                               .join(E, E.c.id == ED.c.event_id).where(ED.c.input_id.in_(part)))]
    return out


def merge(conn: Any, flows: dict[tuple[str, str], dict[str, float]], demand: dict[str, dict[str, float]],
          outputs: dict[tuple[str, str, str, str], list[Any]]) -> None:
    """Add the deltas to the accumulators (rows made where missing): the current rows read in a few queries,
    then one batched UPDATE and one batched INSERT per table — the statements do not grow with the rows."""
    have: dict[tuple[str, str], dict[str, float]] = {}
    for part in _chunks(sorted({a for a, _ in flows})):
        for a, s, els in conn.execute(select(FL.c.account, FL.c.source, FL.c.elements).where(FL.c.account.in_(part))):
            have[(a, s)] = orjson.loads(els)
    upd, ins = [], []
    for (a, s), d in flows.items():
        if (a, s) in have:
            new = have[(a, s)]
            _add(new, d)
            upd.append({"a": a, "s": s, "e": _json(new)})
        else:
            ins.append({"account": a, "source": s, "elements": _json(d)})
    if upd:
        conn.execute(update(FL).where(FL.c.account == bindparam("a"), FL.c.source == bindparam("s"))
                     .values(elements=bindparam("e")), upd)
    if ins:
        conn.execute(insert(FL), ins)
    old: dict[str, dict[str, float]] = {}
    for part in _chunks(sorted(demand)):
        old.update({a: orjson.loads(e) for a, e in conn.execute(
            select(DE.c.account, DE.c.elements).where(DE.c.account.in_(part)))})
    upd, ins = [], []
    for a, d in demand.items():
        if a in old:
            new = old[a]
            _add(new, d)
            upd.append({"a": a, "e": _json(new)})
        else:
            ins.append({"account": a, "elements": _json(d)})
    if upd:
        conn.execute(update(DE).where(DE.c.account == bindparam("a")).values(elements=bindparam("e")), upd)
    if ins:
        conn.execute(insert(DE), ins)
    cur: dict[tuple[str, str, str, str], tuple[int, dict[str, float], dict[str, float]]] = {}
    for part in _chunks(sorted({k[0] for k in outputs})):
        for a, site, model, year, n, ea, ef in conn.execute(
                select(OU.c.account, OU.c.site, OU.c.model_id, OU.c.year, OU.c.packs, OU.c.elements_all,
                       OU.c.elements_final).where(OU.c.account.in_(part))):
            cur[(a, site, model, year)] = (n, orjson.loads(ea), orjson.loads(ef))
    upd, ins = [], []
    for key, (n, all_, final) in outputs.items():
        a, site, model, year = key
        if key in cur:
            n_old, a_old, f_old = cur[key]
            _add(a_old, all_)
            _add(f_old, final)
            upd.append({"a": a, "si": site, "m": model, "y": year, "n": n_old + n, "ea": _json(a_old),
                        "ef": _json(f_old)})
        else:
            ins.append({"account": a, "site": site, "model_id": model, "year": year, "packs": n,
                        "elements_all": _json(all_), "elements_final": _json(final)})
    if upd:
        conn.execute(update(OU).where(OU.c.account == bindparam("a"), OU.c.site == bindparam("si"),
                                      OU.c.model_id == bindparam("m"), OU.c.year == bindparam("y"))
                     .values(packs=bindparam("n"), elements_all=bindparam("ea"), elements_final=bindparam("ef")), upd)
    if ins:
        conn.execute(insert(OU), ins)


def accounts(conn: Any) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, dict[str, float]]]:
    """({account: {source: elements}}, {account: demand elements})."""
    flows: dict[str, dict[str, dict[str, float]]] = {}
    for a, s, els in conn.execute(select(FL.c.account, FL.c.source, FL.c.elements)):
        flows.setdefault(a, {})[s] = orjson.loads(els)
    demand = {a: orjson.loads(e) for a, e in conn.execute(select(DE.c.account, DE.c.elements))}
    return flows, demand


def outputs(conn: Any, model_id: str | None, year: int | None, plant: str | None) -> list[tuple[Any, ...]]:
    """(account, site, packs, elements_all, elements_final) of a model's packs, of a year, of a plant."""
    return [r[:2] + r[4:] for r in output_rows(conn, model_id, year, plant)]


def output_rows(conn: Any, model_id: str | None, year: int | None, plant: str | None) -> list[tuple[Any, ...]]:
    """(account, site, model_id, year, packs, elements_all, elements_final) of the packs of a model (every model's
    with a model when None), of a year, of a plant."""
    q = select(OU.c.account, OU.c.site, OU.c.model_id, OU.c.year, OU.c.packs, OU.c.elements_all,
               OU.c.elements_final)
    q = q.where(OU.c.model_id == model_id) if model_id is not None else q.where(OU.c.model_id != "")
    if year is not None:
        q = q.where(OU.c.year == str(year))
    if plant is not None:
        q = q.where(OU.c.site == plant)
    return [(a, s, m, y, n, orjson.loads(ea), orjson.loads(ef)) for a, s, m, y, n, ea, ef in conn.execute(q)]


def pack_ids(conn: Any, year: int | None, model_ids: Iterable[str]) -> dict[tuple[str, str, str], list[str]]:
    """{(model, site, year): pack lot ids} of the models' packs made in ``year`` (every year when None)."""
    out: dict[tuple[str, str, str], list[str]] = {}
    for part in _chunks(sorted(set(model_ids))):
        q = select(L.c.id, L.c.model_id, L.c.site, L.c.produced_at).where(L.c.kind == "pack", L.c.model_id.in_(part))
        if year is not None:  # ISO 8601 times: the year's are those from "<year>" up to "<year + 1>"
            q = q.where(L.c.produced_at >= f"{year:04d}", L.c.produced_at < f"{year + 1:04d}")
        for pid, model, site, at in conn.execute(q):
            out.setdefault((model, site, at[:4]), []).append(pid)
    return out
