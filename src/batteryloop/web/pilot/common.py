"""What every pilot section reads its report with: numbers, rows by year (who may see the findings pack by pack
is the policy point's: :func:`batteryloop.access.pilot_findings_visible`).

A section copes with a report that lacks it (older runs, or a run without the data space): these helpers
turn a missing or malformed part into nothing rather than an error."""

from __future__ import annotations

from typing import Any

ELEMENTS = ("Li", "Ni", "Co", "Pb")


def _num(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) else 0.0


def _year_rows(rows: Any) -> list[dict[str, Any]]:
    """Rows keyed by year, sorted; anything else (None, a bad shape) is no rows."""
    if not isinstance(rows, list):
        return []
    return sorted((r for r in rows if isinstance(r, dict) and "year" in r), key=lambda r: r["year"])


def _fmt_int(v: Any) -> str:
    return f"{int(v):,}" if isinstance(v, (int, float)) else "—"


def _keys(rows: list[dict[str, Any]], skip: tuple[str, ...] = ("year",)) -> list[str]:
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in skip and k not in keys:
                keys.append(k)
    return keys
