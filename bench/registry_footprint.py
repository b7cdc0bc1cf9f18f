"""Whether PostgreSQL's own compression would shrink the stored JSON per passport (it does not), and its read cost.

    .venv/bin/python bench/registry_footprint.py postgresql://…/regscale   # a store loaded by registry_scale.py

PostgreSQL compresses a value only when its row exceeds ``toast_tuple_target`` (about 2 KB by default): the
passport's battery data (about 1.2 KB of JSON, stored twice: ``passports.data`` and ``passport_versions.data``)
and an event's canonical body (about 0.7 KB) stay uncompressed. This copies the three tables into scratch
tables with ``toast_tuple_target = 128`` and LZ4 compression of those columns (``INSERT … SELECT``: a plain
insert applies the table's target; ``VACUUM FULL`` would not), prints the sizes side by side, then times
primary-key reads of a sample of rows from each, interleaved (the read detoasts the value it sends), and
drops the scratch tables. Changes nothing in the store's own tables.

Measured (docs/benchmarks.md): no value is compressed. PostgreSQL enters its toaster only for rows longer
than TOAST_TUPLE_THRESHOLD (about 2 KB, a compile-time constant); ``toast_tuple_target`` only sets how far it
shrinks a row once there. The passport rows (about 1.5 KB) never get there: compression would have to be the
application's (e.g. zstd in a bytea), a schema change not made here.
"""

from __future__ import annotations

import random
import statistics
import sys
import time

import psycopg

TABLES = {"passports": ("data", "id"), "passport_versions": ("data", "passport_id"), "trace_events": ("body", "id")}


def main() -> None:
    url = sys.argv[1]
    with psycopg.connect(url, autocommit=True) as conn:
        total_before = total_after = 0
        n_pass = conn.execute("SELECT count(*) FROM passports").fetchone()[0]
        for t, (col, key) in TABLES.items():
            conn.execute(f"DROP TABLE IF EXISTS zz_{t}")
            conn.execute(f"CREATE TABLE zz_{t} (LIKE {t} INCLUDING ALL) WITH (toast_tuple_target = 128)")
            conn.execute(f"ALTER TABLE zz_{t} ALTER COLUMN {col} SET COMPRESSION lz4")
            t0 = time.perf_counter()
            conn.execute(f"INSERT INTO zz_{t} SELECT * FROM {t}")
            took = time.perf_counter() - t0
            conn.execute(f"VACUUM ANALYZE zz_{t}")
            a, b = (conn.execute(f"SELECT pg_total_relation_size('{x}')").fetchone()[0] for x in (t, f"zz_{t}"))
            rows = conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            packed = conn.execute(f"SELECT count(*) FROM zz_{t} WHERE pg_column_compression({col}) IS NOT NULL"
                                  ).fetchone()[0]
            total_before += a
            total_after += b
            print(f"{t:<18} {rows:>10,} rows: {a / 2**20:8.1f} MB → {b / 2**20:8.1f} MB compressed "
                  f"({a / rows:,.0f} → {b / rows:,.0f} bytes/row; {packed:,} values compressed; copy {took:.0f} s)")
        print(f"these three tables: {total_before / n_pass:,.0f} → {total_after / n_pass:,.0f} bytes per passport "
              f"({(total_before - total_after) / n_pass:,.0f} saved; the copies' indexes were built row by row)")
        for t, (col, key) in TABLES.items():
            ids = [r[0] for r in conn.execute(f"SELECT {key} FROM {t} TABLESAMPLE SYSTEM (1) REPEATABLE (3) LIMIT 2000")]
            random.Random(3).shuffle(ids)
            lat: dict[str, list[float]] = {t: [], f"zz_{t}": []}
            for _ in range(2):
                for i in ids:
                    for name in (t, f"zz_{t}"):
                        s = time.perf_counter()
                        conn.execute(f"SELECT {col} FROM {name} WHERE {key} = %s LIMIT 1", (i,)).fetchone()
                        lat[name].append((time.perf_counter() - s) * 1e6)
            print(f"read {col} of {t} by key ({len(ids)} rows × 2, interleaved): median "
                  f"{statistics.median(lat[t]):.0f} µs plain, {statistics.median(lat[f'zz_{t}']):.0f} µs compressed")
        for t in TABLES:
            conn.execute(f"DROP TABLE zz_{t}")


if __name__ == "__main__":
    main()
