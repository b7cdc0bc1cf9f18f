"""Where fleet analyses live once stored: ``<var>/fleet/<id>/`` (``BATTERYLOOP_VAR_DIR``), one folder per stored run
of ``batteryloop fleet analyze … --store --as OPERATOR``, read by the dashboard's fleet page (``/fleet``).

A folder holds ``table.parquet`` (the per-pack table of :func:`batteryloop.fleet.analysis.analyze`),
``summary.parquet`` (each pack's telemetry summary per mode: :func:`batteryloop.fleet.analysis.telemetry_summary`)
and ``meta.json`` (id, operator, stored_at, source folder, engine, packs, flagged). It is written under a temporary
name and renamed: a reader never sees half an analysis. Access is the policy's (:mod:`batteryloop.access`):
``fleet.analysis.store`` — a participant stores analyses as itself (the node admin for anyone);
``fleet.analysis.read`` — the operator that stored it, authorities and the node admin.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import polars as pl

from ..access import Caller, Resource, authorize, decide
from ..errors import NotFound

_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$")


class FleetResults:
    """The stored analyses under ``root`` (``<var>/fleet``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def save(self, table: pl.DataFrame, summary: pl.DataFrame, caller: Caller, *, operator: str | None = None,
             source: str = "", engine: str = "polars") -> dict[str, Any]:
        """Store an analysis for ``operator`` (default: the caller); returns its meta."""
        operator = operator or caller.participant_id
        if not operator:
            raise ValueError("a stored fleet analysis belongs to an operator: give --as OPERATOR")
        authorize(caller, "fleet.analysis.store", Resource("participant", operator, participant=operator))
        now = dt.datetime.now(dt.UTC)
        rid = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        meta = {"id": rid, "operator": operator, "stored_at": now.isoformat(timespec="seconds"), "source": source,
                "engine": engine, "packs": table.height, "flagged": int((table["faults"] != "").sum()),
                "with_soh": int(table["soh_pct"].is_not_null().sum())}
        tmp = self.root / f".{rid}.tmp"
        tmp.mkdir(parents=True)
        try:
            table.write_parquet(tmp / "table.parquet")
            summary.write_parquet(tmp / "summary.parquet")
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
            tmp.rename(self.root / rid)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return meta

    def _metas(self) -> list[dict[str, Any]]:
        if not self.root.is_dir():
            return []
        out = []
        for d in self.root.iterdir():
            if _ID.match(d.name) and (d / "meta.json").is_file():
                out.append(json.loads((d / "meta.json").read_text()))
        return sorted(out, key=lambda m: m["id"], reverse=True)

    def list(self, caller: Caller) -> list[dict[str, Any]]:
        """The analyses ``caller`` may read, newest first."""
        return [m for m in self._metas() if decide(caller, "fleet.analysis.read", self._resource(m))]

    @staticmethod
    def _resource(meta: dict[str, Any]) -> Resource:
        return Resource("fleet analysis", meta["id"], operator=meta["operator"])

    def load(self, rid: str, caller: Caller) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame]:
        """An analysis' meta, per-pack table and telemetry summary (403/401 when the caller may not read it)."""
        d = self.root / rid
        if not _ID.match(rid) or not (d / "meta.json").is_file():
            raise NotFound(f"no stored fleet analysis {rid!r} (store one with `batteryloop fleet analyze DIR -o OUT "
                           "--store --as OPERATOR`)")
        meta = json.loads((d / "meta.json").read_text())
        authorize(caller, "fleet.analysis.read", self._resource(meta))
        return meta, pl.read_parquet(d / "table.parquet"), pl.read_parquet(d / "summary.parquet")
