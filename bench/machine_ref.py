"""How fast this machine runs the pilot's kind of work: a fixed reference workload, in seconds (best of three).

    .venv/bin/python bench/machine_ref.py

Runs of the pilot on different days land on different machines: session 15's machine took 943 CPU s for the
100,000-pack pilot, session 16's 588 CPU s for the same code (docs/benchmarks.md, "Session 16"). A figure only
compares with another measured on a machine of the same reference time. The workload is what the pilot's hot
paths are made of, in a fixed mix, single-threaded:

* 60,000 event-like dicts serialised with orjson (sorted keys), hashed (SHA-256) and parsed back;
* 60,000 rows inserted into a fresh SQLite file in WAL mode (one transaction, a text primary key and an index),
  then read back by key in random order;
* 2,000 Ed25519 signatures made and checked with libsodium (PyNaCl), as the ledger does.

``bench/pilot_scale.py`` prints it before its runs. Prints each part's seconds and the total.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import tempfile
import time

import orjson
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair

N_EVENTS = 60_000
N_ROWS = 60_000
N_SIGNATURES = 2_000


def _json() -> None:
    for i in range(N_EVENTS):
        ev = {"id": f"PACK-{i:08d}-soh-2025", "kind": "soh_update", "actor": "BPNL000000000EM1",
              "occurred_at": "2025-12-01T03:00:00.000000Z", "place": {"country": "DE", "site": "BMS telemetry"},
              "subjects": [f"PACK-{i:08d}"], "prev": {f"PACK-{i:08d}": "0" * 64},
              "data": {"soh_capacity_pct": 91.25, "full_equivalent_cycles": 312.4}}
        body = orjson.dumps(ev, option=orjson.OPT_SORT_KEYS)
        hashlib.sha256(body).hexdigest()
        orjson.loads(body)


def _sqlite() -> None:
    with tempfile.TemporaryDirectory(prefix="machine-ref-") as tmp:
        con = sqlite3.connect(os.path.join(tmp, "ref.db"), isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("CREATE TABLE t (id TEXT PRIMARY KEY, k INTEGER, body TEXT)")
            con.execute("CREATE INDEX ix_t_k ON t (k)")
            rng = random.Random(42)
            ids = [f"lot-{rng.getrandbits(48):012x}" for _ in range(N_ROWS)]
            con.execute("BEGIN")
            con.executemany("INSERT INTO t VALUES (?, ?, ?)", ((x, i, "x" * 400) for i, x in enumerate(ids)))
            con.execute("COMMIT")
            rng.shuffle(ids)
            for x in ids:
                con.execute("SELECT k, body FROM t WHERE id = ?", (x,)).fetchone()
        finally:
            con.close()


def _signatures() -> None:
    pk, sk = crypto_sign_seed_keypair(b"\x07" * 32)
    for i in range(N_SIGNATURES):
        msg = hashlib.sha256(str(i).encode()).hexdigest().encode()
        crypto_sign_open(crypto_sign(msg, sk), pk)


PARTS = (("json + sha256", _json), ("sqlite", _sqlite), ("ed25519", _signatures))


def reference() -> dict[str, float]:
    """Each part's best time of three runs (seconds) and their sum (``total``)."""
    best = {}
    for name, fn in PARTS:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        best[name] = min(times)
    best["total"] = sum(best.values())
    return best


def line(ref: dict[str, float]) -> str:
    return "machine reference (bench/machine_ref.py, best of 3): " + ", ".join(
        f"{k} {v:.2f} s" for k, v in ref.items())


if __name__ == "__main__":
    print(line(reference()))
