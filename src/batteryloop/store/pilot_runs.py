"""The pilot-runs repository: the ``pilot_runs`` table (one row per pilot-simulator run, its report as JSON).

Functions take the connection of the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, desc, insert, select

from .tables import pilot_runs


def insert_run(conn: Connection, *, created_at: str, seed: int, packs: int, years: int, start_year: int,
               report_json: str) -> int:
    """A run and its report (JSON text); the run's id."""
    res = conn.execute(insert(pilot_runs).values(created_at=created_at, seed=seed, packs=packs, years=years,
                                                 start_year=start_year, report=report_json))
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def latest_run(conn: Connection) -> dict[str, Any] | None:
    """The latest run: ``{id, created_at, report}`` (``report``: the JSON text), or ``None`` before any run."""
    row = conn.execute(select(pilot_runs.c.id, pilot_runs.c.created_at, pilot_runs.c.report)
                       .order_by(desc(pilot_runs.c.id)).limit(1)).first()
    return {"id": row.id, "created_at": row.created_at, "report": row.report} if row is not None else None
