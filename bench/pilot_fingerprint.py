"""A fingerprint of everything a pilot run leaves behind, to prove a speed-up changed no figure.

    .venv/bin/python bench/pilot_fingerprint.py run --packs 300 --years 10 --seed 42 --out a.json [--src DIR]
    .venv/bin/python bench/pilot_fingerprint.py compare a.json b.json

``run`` plays ``batteryloop demo --no-serve`` in a child process on a fresh SQLite store (``--src``: the source
tree the child imports, e.g. an older checkout's ``src``) and writes: the stored pilot report (without what
depends on the wall clock: the run's duration, its timings, its id and creation time, the data-space nodes'
ports, the random UUIDs they make up), the printed summary's figures, and for every table of the store its row count and a SHA-256 of its
rows (sorted; each column apart too, so a difference names the column). Columns that hold the wall-clock
time of a write (``created_at``, ``updated_at``, ``recorded_at``, …, listed in ``VOLATILE``) and the passport
and model version hashes over those are left out; everything the simulation decides — ledger events (ids, kinds,
actors, times, data, chain links), passports and their versions, lots, custody, route decisions — is in.

``compare`` prints the differences and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# columns that hold when a row was written (the wall clock), not what the pilot simulated; found by running
# the same seed twice on one tree (the rest of each table is identical between such runs)
VOLATILE = {"created_at", "updated_at", "recorded_at", "last_used_at", "expires_at", "revoked_at", "at",
            "token_hash", "token_prefix", "token_id"}
# per table: further columns that carry the wall clock inside them
VOLATILE_BY_TABLE = {
    "pilot_runs": {"report"},  # compared on its own below, without the timings
    "api_tokens": {"id", "hash", "prefix", "secret_hash"},
    # version hashes cover the write time (created_at); the content they cover (data, reason, author) is compared
    "passports": {"hash"}, "passport_versions": {"hash", "prev_hash"},
    "battery_models": {"hash"}, "battery_model_versions": {"hash", "prev_hash"},
    "trace_rc_years": {"applied_at", "stale_since"},  # when a year's recycled content was applied / marked stale
}
REPORT_VOLATILE = {("summary", "duration_s"), ("summary", "timings_s")}


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PORT = re.compile(r"127\.0\.0\.1(:|%3A)\d+")
_CLOCK = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def _scrub(text: str) -> str:
    """What the data-space nodes make up at run time: random UUIDs (agreements, credentials, datasets) and the
    ports the OS handed out."""
    return _PORT.sub("127.0.0.1:PORT", _UUID.sub("UUID", text))


def _norm_report(rep: dict[str, Any]) -> dict[str, Any]:
    rep = json.loads(_scrub(json.dumps(rep)))
    for a, b in REPORT_VOLATILE:
        rep.get(a, {}).pop(b, None)
    for k in ("run_id", "created_at"):
        rep.pop(k, None)
    ds = rep.get("dataspace")
    if isinstance(ds, dict):  # the nodes' negotiations and transfers carry the wall-clock time of each step
        ds = json.loads(_CLOCK.sub("TIME", json.dumps(ds)))
        if isinstance(ds.get("bridge"), dict):  # a hash over the bridged credentials (their UUIDs and times)
            ds["bridge"].pop("commitment_root", None)
        rep["dataspace"] = ds
    return rep


def fingerprint(db: Path) -> dict[str, Any]:
    con = sqlite3.connect(db)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    out: dict[str, Any] = {}
    for t in tables:
        cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]
        keep = [c for c in cols if c not in VOLATILE and c not in VOLATILE_BY_TABLE.get(t, set())]
        rows = con.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in keep) or "1"} FROM "{t}"').fetchall()
        rows = [tuple(_scrub(v) if isinstance(v, str) else v for v in r) for r in rows]
        text_rows = sorted(json.dumps(list(r), default=str) for r in rows)
        per_col = {}
        for j, c in enumerate(keep):
            h = hashlib.sha256()
            for v in sorted(json.dumps(r[j], default=str) for r in rows):
                h.update(v.encode())
                h.update(b"\n")
            per_col[c] = h.hexdigest()[:16]
        h = hashlib.sha256("\n".join(text_rows).encode()).hexdigest()[:16]
        out[t] = {"rows": len(rows), "sha256": h, "columns": per_col,
                  "left_out": sorted(set(cols) - set(keep))}
    rep = con.execute("SELECT report FROM pilot_runs ORDER BY id DESC LIMIT 1").fetchone()
    con.close()
    return {"tables": out, "report": _norm_report(json.loads(rep[0])) if rep else None}


def run(packs: int, years: int, seed: int, src: str | None, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="pilot-fp-") as tmp:
        env = {**os.environ, "BATTERYLOOP_DATABASE_URL": f"sqlite:///{tmp}/pilot.db", "BATTERYLOOP_VAR_DIR": tmp,
               "COLUMNS": "400"}  # the summary's lines unwrapped
        if src:
            env["PYTHONPATH"] = src
        cmd = [sys.executable, "-m", "batteryloop.cli", "demo", "--packs", str(packs), "--years", str(years),
               "--seed", str(seed), "--no-serve"]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"demo failed:\n{p.stderr[-3000:]}")
        fp = fingerprint(Path(tmp) / "pilot.db")
        # the summary's lines without the time it took and the run's id
        text = (p.stdout + "\n" + p.stderr).splitlines()
        fp["summary_text"] = [re.sub(r"ready in [\d.]+ s|run \d+|/tmp/\S+", "", ln)
                              for ln in text if ln.startswith(("pilot 1", "pilot 2", "  "))]
    out.write_text(json.dumps(fp, indent=1, sort_keys=True))
    print(f"{out}: {sum(t['rows'] for t in fp['tables'].values())} rows in {len(fp['tables'])} tables")


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'b' if k not in a else 'a'}")
            else:
                _diff(a[k], b[k], f"{path}/{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for j, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{j}]", out)
    elif a != b:
        out.append(f"{path}: {str(a)[:120]} != {str(b)[:120]}")


def compare(a: Path, b: Path) -> int:
    fa, fb = json.loads(a.read_text()), json.loads(b.read_text())
    diffs: list[str] = []
    _diff(fa, fb, "", diffs)
    for d in diffs[:400]:
        print(d)
    n_rows = sum(t["rows"] for t in fa["tables"].values())
    print(f"{len(diffs)} differences ({n_rows} rows in {len(fa['tables'])} tables and the report compared)")
    return 1 if diffs else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--packs", type=int, default=300)
    r.add_argument("--years", type=int, default=10)
    r.add_argument("--seed", type=int, default=42)
    r.add_argument("--src", default=None, help="source tree for the child's PYTHONPATH (default: as inherited)")
    r.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    a = ap.parse_args()
    if a.cmd == "run":
        run(a.packs, a.years, a.seed, a.src, a.out)
    else:
        raise SystemExit(compare(a.a, a.b))


if __name__ == "__main__":
    main()
