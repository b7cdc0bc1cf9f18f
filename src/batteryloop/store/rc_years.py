"""The years whose Art. 8 recycled content was applied to passports, and the stale marks late events leave
(``trace_rc_years``, migration 0015)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert, select, update

from .trace_tables import trace_events as E
from .trace_tables import trace_rc_years as T


def years(conn: Any) -> dict[int, tuple[str | None, str | None]]:
    """Every applied year → (stale_since, stale_event_id), both None while its figures are current."""
    return {r.year: (r.stale_since, r.stale_event_id)
            for r in conn.execute(select(T.c.year, T.c.stale_since, T.c.stale_event_id))}


def mark_stale(conn: Any, from_year: int, at: str, event_id: str) -> None:
    """Mark ``from_year`` and every later applied year stale: ``stale_since`` when the first late event was
    recorded, ``stale_event_id`` the last one (an apply that ran before it must not clear the mark)."""
    conn.execute(update(T).where(T.c.year >= from_year, T.c.stale_since.is_(None))
                 .values(stale_since=at, stale_event_id=event_id))
    conn.execute(update(T).where(T.c.year >= from_year, T.c.stale_since.is_not(None))
                 .values(stale_event_id=event_id))


def last_gseq(conn: Any) -> int:
    """The store sequence number of the last event stored (0: none): an apply's start."""
    return int(conn.execute(select(func.coalesce(func.max(E.c.gseq), 0))).scalar_one())


def set_applied(conn: Any, applied: Iterable[int], at: str, fresh: Iterable[int], upto_gseq: int | None = None
                ) -> None:
    """Record ``applied`` years as applied at ``at``; clear the stale mark of the ``fresh`` ones — with
    ``upto_gseq`` (the last event stored when the apply began reading the ledger) only a mark whose last event
    is at or before it: an event admitted while the apply ran leaves its year stale."""
    have = years(conn)
    fresh = set(fresh)
    if upto_gseq is not None:
        late = {y for y, (since, ev) in have.items() if since is not None and ev is not None}
        if late:
            seq = dict(conn.execute(select(E.c.id, E.c.gseq).where(E.c.id.in_(sorted({have[y][1] for y in late})))).all())
            fresh -= {y for y in late if seq.get(have[y][1], upto_gseq + 1) > upto_gseq}
    for y in sorted(set(applied)):
        if y not in have:
            conn.execute(insert(T).values(year=y, applied_at=at, stale_since=None, stale_event_id=None))
        elif y in fresh:
            conn.execute(update(T).where(T.c.year == y).values(applied_at=at, stale_since=None, stale_event_id=None))
        else:
            conn.execute(update(T).where(T.c.year == y).values(applied_at=at))
