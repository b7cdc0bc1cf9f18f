"""Many rows in one statement through the driver, the statement compiled once per dialect and table.

SQLAlchemy's ``conn.execute(stmt, rows)`` builds and processes a parameter set per row (~10 µs each); for the
pilot's hundreds of thousands of rows of plain values (str, int, float, ``None``) that is a large share of the
time. These helpers compile the statement once (per dialect, cached), put each row's values in the statement's
parameter order and hand the list to the driver's ``executemany``. Only for columns whose values need no type
processing: text, integers, floats (no dates, booleans or JSON objects — convert those first)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, insert

_COMPILED: dict[tuple[str, str], tuple[str, tuple[str, ...] | None]] = {}


def _compiled(conn: Any, key: str, build: Callable[[], Any]) -> tuple[str, tuple[str, ...] | None]:
    k = (conn.dialect.name, key)
    hit = _COMPILED.get(k)
    if hit is None:
        compiled = build().compile(dialect=conn.dialect)
        order = tuple(compiled.positiontup) if conn.dialect.positional else None  # type: ignore[arg-type]
        hit = _COMPILED[k] = (str(compiled), order)
    return hit


def _positional(rows: Sequence[Mapping[str, Any]], order: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Each row's values in ``order`` (``None`` for a key a row lacks)."""
    if len(order) > 1:
        get = itemgetter(*order)
        try:
            return [get(r) for r in rows]  # every row has every key (the usual case): one C call per row
        except KeyError:
            pass
    return [tuple(r.get(c) for c in order) for r in rows]


def execute_many(conn: Any, key: str, build: Callable[[], Any], rows: Sequence[Mapping[str, Any]]) -> Any:
    """``build()``'s statement (bound parameters named as the rows' keys) once per row of ``rows``; ``key``
    names the statement in the cache. Returns the driver's result (``rowcount``: rows changed, where told)."""
    sql, order = _compiled(conn, key, build)
    params: Any = _positional(rows, order) if order is not None else list(rows)
    return conn.exec_driver_sql(sql, params)


def insert_many(conn: Any, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (dicts by column name) into ``table``: the columns the first row names (the others get the
    database's default, e.g. an autoincrement key); a row without one of them gives it NULL."""
    if not rows:
        return
    cols = [c.name for c in table.columns if c.name in rows[0]]
    sql, order = _compiled(conn, "insert:" + table.name + ":" + ",".join(cols),
                           lambda: insert(table).values({c: bindparam(c) for c in cols}))
    if order is not None:
        params: Any = _positional(rows, order)
    else:
        params = [{c: r.get(c) for c in cols} for r in rows]
    conn.exec_driver_sql(sql, params)


_IN_SIZES = (1, 4, 16, 64, 250, 500)


def select_in(conn: Any, key: str, build: Callable[[list[Any]], Any], values: Sequence[Any],
              chunk: int = 500) -> list[Any]:
    """The rows of ``build(params)`` — a SELECT whose only bound parameters are ``params``, the members of an
    ``IN (…)`` list — for every value of ``values``, ``chunk`` at a time; ``key`` names the statement in the
    cache. The list is padded to one of a few lengths with its last value (``IN`` is membership: the same rows)
    so that each length is compiled once, not per call as an expanding ``in_()`` is. Rows by column name, as
    the driver returns them (no type processing: text and numbers, or convert the value yourself)."""
    out: list[Any] = []
    for i in range(0, len(values), chunk):
        part = list(values[i:i + chunk])
        n = next((s for s in _IN_SIZES if s >= len(part)), len(part))
        part += [part[-1]] * (n - len(part))
        sql, order = _compiled(conn, f"{key}/in{n}", lambda: build([bindparam(f"in_{k}") for k in range(n)]))
        if order is not None:
            pos = {f"in_{k}": v for k, v in enumerate(part)}
            params: Any = tuple(pos[name] for name in order)
        else:
            params = {f"in_{k}": v for k, v in enumerate(part)}
        out += conn.exec_driver_sql(sql, params).all()
    return out


def fetch_tuples(conn: Any, key: str, build: Callable[[], Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """``build()``'s rows (a SELECT whose bound parameters are named as ``params``' keys) as the driver gives them:
    plain tuples through the transaction's own DBAPI cursor, no result processing (text and numbers only); the
    statement compiled once per dialect and ``key``, as the other helpers here."""
    sql, order = _compiled(conn, key, build)
    cur = conn.connection.cursor()
    try:
        cur.execute(sql, tuple(params[c] for c in order) if order is not None else dict(params))
        return cur.fetchall()  # type: ignore[no-any-return]
    finally:
        cur.close()
