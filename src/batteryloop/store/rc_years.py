"""The years whose Art. 8 recycled content was applied to passports, and the stale marks late events leave
(``trace_rc_years``, migration 0015)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select, update

from .trace_tables import trace_rc_years as T


def years(conn: Any) -> dict[int, tuple[str | None, str | None]]:
    """Every applied year → (stale_since, stale_event_id), both None while its figures are current."""
    return {r.year: (r.stale_since, r.stale_event_id)
            for r in conn.execute(select(T.c.year, T.c.stale_since, T.c.stale_event_id))}


def mark_stale(conn: Any, from_year: int, at: str, event_id: str) -> None:
    """Mark ``from_year`` and every later applied year stale (those not stale already)."""
    conn.execute(update(T).where(T.c.year >= from_year, T.c.stale_since.is_(None))
                 .values(stale_since=at, stale_event_id=event_id))


def set_applied(conn: Any, applied: Iterable[int], at: str, fresh: Iterable[int]) -> None:
    """Record ``applied`` years as applied at ``at``; clear the stale mark of the ``fresh`` ones."""
    have = years(conn)
    fresh = set(fresh)
    for y in sorted(set(applied)):
        if y not in have:
            conn.execute(insert(T).values(year=y, applied_at=at, stale_since=None, stale_event_id=None))
        elif y in fresh:
            conn.execute(update(T).where(T.c.year == y).values(applied_at=at, stale_since=None, stale_event_id=None))
        else:
            conn.execute(update(T).where(T.c.year == y).values(applied_at=at))
