"""The alerts repository: rules, their firings (one per rule and finding) and each delivery's outcome.

Functions take the connection of the caller's transaction. :func:`insert_alert` writes a firing only if the
rule has not fired on that finding before (the unique (rule, dedupe key) index decides, so two evaluations
racing each other still store it once).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select

from .tables import alert_deliveries, alert_rules, alerts


def insert_rule(conn: Connection, *, owner_id: str, name: str, kind: str, params: dict[str, Any], channel: str,
                target: str, secret: str | None, created_at: str) -> int:
    res = conn.execute(insert(alert_rules).values(owner_id=owner_id, name=name, kind=kind, params=orjson.dumps(params).decode(),
                                                  channel=channel, target=target, secret=secret, created_at=created_at))
    return int(res.inserted_primary_key[0])


def _rule(r: Any) -> dict[str, Any]:
    return {"id": r.id, "owner_id": r.owner_id, "name": r.name, "kind": r.kind, "params": orjson.loads(r.params),
            "channel": r.channel, "target": r.target, "secret": r.secret, "created_at": r.created_at,
            "disabled_at": r.disabled_at}


def rules(conn: Connection, *, owner_id: str | None = None, active_only: bool = False) -> list[dict[str, Any]]:
    """Rules (with their secrets: the service strips them before anything leaves it), by id."""
    q = select(alert_rules).order_by(alert_rules.c.id)
    if owner_id is not None:
        q = q.where(alert_rules.c.owner_id == owner_id)
    if active_only:
        q = q.where(alert_rules.c.disabled_at.is_(None))
    return [_rule(r) for r in conn.execute(q)]


def rule(conn: Connection, rule_id: int) -> dict[str, Any] | None:
    r = conn.execute(select(alert_rules).where(alert_rules.c.id == rule_id)).first()
    return _rule(r) if r is not None else None


def known_keys(conn: Connection, rule_id: int) -> set[str]:
    return set(conn.execute(select(alerts.c.dedupe_key).where(alerts.c.rule_id == rule_id)).scalars())


def insert_alert(conn: Connection, *, rule_id: int, dedupe_key: str, kind: str, pack_id: str, operator_id: str | None,
                 model_id: str | None, title: str, message: str, data: dict[str, Any], created_at: str) -> int | None:
    """The new alert's id, or None when the rule already fired on this finding.

    One statement, ``INSERT … ON CONFLICT (rule_id, dedupe_key) DO NOTHING RETURNING id``: a concurrent
    evaluation that stored the same finding first makes this one a no-op instead of an integrity error that
    would abort the caller's transaction (a select-then-insert would race)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - the store supports these two
        raise ValueError(f"alerts: unsupported database dialect {dialect!r} (sqlite or postgresql)")
    stmt = dialect_insert(alerts).values(
        rule_id=rule_id, dedupe_key=dedupe_key, kind=kind, pack_id=pack_id, operator_id=operator_id,
        model_id=model_id, title=title[:200], message=message, data=orjson.dumps(data, default=str).decode(),
        created_at=created_at).on_conflict_do_nothing(index_elements=["rule_id", "dedupe_key"]).returning(alerts.c.id)
    new_id = conn.execute(stmt).scalar()
    return int(new_id) if new_id is not None else None


def _alert(r: Any) -> dict[str, Any]:
    return {"id": r.id, "rule_id": r.rule_id, "dedupe_key": r.dedupe_key, "kind": r.kind, "pack_id": r.pack_id,
            "operator_id": r.operator_id, "model_id": r.model_id, "title": r.title, "message": r.message,
            "data": orjson.loads(r.data), "created_at": r.created_at}


def list_alerts(conn: Connection, *, operator_id: str | None = None, all_operators: bool = False,
                pack_id: str | None = None, model_id: str | None = None, kind: str | None = None,
                rule_ids: Iterable[int] | None = None, year: int | None = None,
                limit: int = 200) -> list[dict[str, Any]]:
    """Alerts newest first: about ``operator_id``'s packs, or every pack when ``all_operators``; fired in
    ``year`` when given (``created_at`` is ISO-8601 UTC text, so the year is a half-open text range). Every
    filter is in the query, before the limit."""
    q = select(alerts).order_by(alerts.c.id.desc()).limit(limit)
    if not all_operators:
        q = q.where(alerts.c.operator_id == operator_id)
    if pack_id is not None:
        q = q.where(alerts.c.pack_id == pack_id)
    if model_id is not None:
        q = q.where(alerts.c.model_id == model_id)
    if kind is not None:
        q = q.where(alerts.c.kind == kind)
    if rule_ids is not None:
        q = q.where(alerts.c.rule_id.in_(list(rule_ids)))
    if year is not None:
        q = q.where(alerts.c.created_at >= f"{int(year):04d}", alerts.c.created_at < f"{int(year) + 1:04d}")
    return [_alert(r) for r in conn.execute(q)]


def alert(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    r = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    return _alert(r) if r is not None else None


def insert_delivery(conn: Connection, *, alert_id: int, channel: str, target: str, status: str, attempts: int,
                    response_status: int | None, error: str | None, message: str | None, created_at: str) -> int:
    res = conn.execute(insert(alert_deliveries).values(
        alert_id=alert_id, channel=channel, target=target, status=status, attempts=attempts,
        response_status=response_status, error=error, message=message, created_at=created_at))
    return int(res.inserted_primary_key[0])


def deliveries(conn: Connection, alert_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    ids = list(alert_ids)
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    for r in conn.execute(select(alert_deliveries).where(alert_deliveries.c.alert_id.in_(ids))
                          .order_by(alert_deliveries.c.id)):
        out[r.alert_id].append({"id": r.id, "channel": r.channel, "target": r.target, "status": r.status,
                                "attempts": r.attempts, "response_status": r.response_status, "error": r.error,
                                "message": r.message, "created_at": r.created_at})
    return out


def undelivered(conn: Connection, rule_id: int, max_rounds: int) -> list[int]:
    """Alerts of the rule with no successful delivery yet and fewer than ``max_rounds`` failed rounds."""
    ok = select(alert_deliveries.c.alert_id).where(alert_deliveries.c.status.in_(("delivered", "stored")))
    rounds = (select(alert_deliveries.c.alert_id, func.count().label("n")).group_by(alert_deliveries.c.alert_id)
              .subquery())
    q = (select(alerts.c.id).select_from(alerts.outerjoin(rounds, rounds.c.alert_id == alerts.c.id))
         .where(alerts.c.rule_id == rule_id, alerts.c.id.not_in(ok),
                func.coalesce(rounds.c.n, 0) < max_rounds).order_by(alerts.c.id))
    return list(conn.execute(q).scalars())
