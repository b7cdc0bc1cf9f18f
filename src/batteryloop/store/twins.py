"""Tables and queries of the Digital Twin Registry (:mod:`batteryloop.passport.twin_registry`).

* ``dtr_shells`` — one row per shell descriptor: its id, the participant that owns it (the economic
  operator of the pack it describes, or whoever registered a descriptor of a foreign asset), the passport
  it describes when it describes one of this node's packs, its global asset id, asset kind and type, when
  it was created, and the whole descriptor (with its specificAssetIds and submodel descriptors) as JSON.
  ``seq`` orders the rows by creation: the registry's lists are paged by it.
* ``dtr_asset_ids`` — the descriptor's specificAssetIds (name, value) again, one row each, for lookups by
  asset id; rewritten with the descriptor.
* ``dtr_access_rules`` — the Tractus-X granular access rules of a tenant (``tid``, the owner of the shells
  they govern) for one target BPN (or ``PUBLIC_READABLE``), with the policy as JSON and its validity.

Functions take the connection of the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    true,
    tuple_,
    update,
)

from .tables import metadata

dtr_shells = Table(
    "dtr_shells",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("shell_id", String(2048), nullable=False, unique=True),
    Column("owner_id", String(32)),  # None: registered by the node admin for no participant
    Column("passport_id", String(100), index=True),
    Column("global_asset_id", String(2048), index=True),
    Column("asset_kind", String(16)),
    Column("asset_type", String(2048)),
    Column("created_at", String(32), nullable=False),
    Column("descriptor", Text, nullable=False),  # JSON: the AssetAdministrationShellDescriptor as stored
)

dtr_asset_ids = Table(
    "dtr_asset_ids",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("shell_seq", Integer, ForeignKey("dtr_shells.seq", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("value", String(2048), nullable=False),
    Index("ix_dtr_asset_ids_name_value", "name", "value"),
)

dtr_access_rules = Table(
    "dtr_access_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tid", String(36), nullable=False, index=True),  # the tenant: the owner of the shells governed
    Column("target", String(64), nullable=False, index=True),  # the BPN the rule is for, or PUBLIC_READABLE
    Column("policy", Text, nullable=False),  # JSON: {"accessRules": [...]}
    Column("description", String(256)),
    Column("valid_from", String(32)),
    Column("valid_to", String(32)),
)


@dataclass(frozen=True)
class ShellRow:
    seq: int
    shell_id: str
    owner_id: str | None
    passport_id: str | None
    global_asset_id: str | None
    created_at: str
    descriptor: dict[str, Any]


def _shell(r: Any) -> ShellRow:
    return ShellRow(r.seq, r.shell_id, r.owner_id, r.passport_id, r.global_asset_id, r.created_at,
                    orjson.loads(r.descriptor))


def get_shell(conn: Connection, shell_id: str) -> ShellRow | None:
    row = conn.execute(select(dtr_shells).where(dtr_shells.c.shell_id == shell_id)).first()
    return _shell(row) if row is not None else None


def _pairs(descriptor: dict[str, Any]) -> list[tuple[str, str]]:
    return [(sa["name"], sa["value"]) for sa in descriptor.get("specificAssetIds") or ()]


def insert_shell(conn: Connection, *, shell_id: str, owner_id: str | None, passport_id: str | None,
                 created_at: str, descriptor: dict[str, Any]) -> int:
    res = conn.execute(insert(dtr_shells), {
        "shell_id": shell_id, "owner_id": owner_id, "passport_id": passport_id,
        "global_asset_id": descriptor.get("globalAssetId"), "asset_kind": descriptor.get("assetKind"),
        "asset_type": descriptor.get("assetType"), "created_at": created_at,
        "descriptor": orjson.dumps(descriptor).decode()})
    seq = int(res.inserted_primary_key[0])  # type: ignore[index]
    _write_pairs(conn, seq, descriptor)
    return seq


def _write_pairs(conn: Connection, seq: int, descriptor: dict[str, Any]) -> None:
    pairs = _pairs(descriptor)
    if pairs:
        conn.execute(insert(dtr_asset_ids), [{"shell_seq": seq, "name": n, "value": v} for n, v in pairs])


def update_shell(conn: Connection, seq: int, *, owner_id: str | None, passport_id: str | None,
                 descriptor: dict[str, Any]) -> None:
    """Replace the stored descriptor (and its asset-id rows) of the shell ``seq``."""
    conn.execute(update(dtr_shells).where(dtr_shells.c.seq == seq).values(
        owner_id=owner_id, passport_id=passport_id, global_asset_id=descriptor.get("globalAssetId"),
        asset_kind=descriptor.get("assetKind"), asset_type=descriptor.get("assetType"),
        descriptor=orjson.dumps(descriptor).decode()))
    conn.execute(delete(dtr_asset_ids).where(dtr_asset_ids.c.shell_seq == seq))
    _write_pairs(conn, seq, descriptor)


def delete_shell(conn: Connection, seq: int) -> None:
    conn.execute(delete(dtr_asset_ids).where(dtr_asset_ids.c.shell_seq == seq))
    conn.execute(delete(dtr_shells).where(dtr_shells.c.seq == seq))


def page_shells(conn: Connection, *, after: int = 0, limit: int = 100, asset_kind: str | None = None,
                asset_type: str | None = None, created_after: str | None = None) -> list[ShellRow]:
    """Shells in creation order from the first after ``after``, at most ``limit``, matching every filter given."""
    conds = [dtr_shells.c.seq > after]
    if asset_kind is not None:
        conds.append(dtr_shells.c.asset_kind == asset_kind)
    if asset_type is not None:
        conds.append(dtr_shells.c.asset_type == asset_type)
    if created_after is not None:
        conds.append(dtr_shells.c.created_at > created_after)
    q = select(dtr_shells).where(and_(true(), *conds)).order_by(dtr_shells.c.seq).limit(limit)
    return [_shell(r) for r in conn.execute(q)]


def shells_with_all(conn: Connection, pairs: list[tuple[str, str]], global_asset_ids: list[str], *,
                    after: int = 0, limit: int = 500, created_after: str | None = None) -> list[ShellRow]:
    """Shells (from the first after ``after``) that carry every (name, value) of ``pairs`` as a specificAssetId
    and every one of ``global_asset_ids`` as their global asset id — visibility aside (the registry filters)."""
    conds = [dtr_shells.c.seq > after]
    if created_after is not None:
        conds.append(dtr_shells.c.created_at > created_after)
    for g in set(global_asset_ids):
        conds.append(dtr_shells.c.global_asset_id == g)
    if pairs:
        wanted = sorted(set(pairs))
        having = (select(dtr_asset_ids.c.shell_seq)
                  .where(tuple_(dtr_asset_ids.c.name, dtr_asset_ids.c.value).in_(wanted))
                  .group_by(dtr_asset_ids.c.shell_seq)
                  .having(func.count(func.distinct(dtr_asset_ids.c.name + "\x1f" + dtr_asset_ids.c.value))
                          == len(wanted)))
        conds.append(dtr_shells.c.seq.in_(having))
    q = select(dtr_shells).where(and_(*conds)).order_by(dtr_shells.c.seq).limit(limit)
    return [_shell(r) for r in conn.execute(q)]


def shells_with_endpoint(conn: Connection, href_part: str) -> list[ShellRow]:
    """Shells whose descriptor text names ``href_part`` (the submodel endpoint check narrows it down)."""
    q = select(dtr_shells).where(dtr_shells.c.descriptor.contains(href_part)).order_by(dtr_shells.c.seq)
    return [_shell(r) for r in conn.execute(q)]


# ------------------------------------------------------------------------------------------ access rules
@dataclass(frozen=True)
class RuleRow:
    id: int
    tid: str
    target: str
    policy: dict[str, Any]
    description: str | None
    valid_from: str | None
    valid_to: str | None


def _rule(r: Any) -> RuleRow:
    return RuleRow(r.id, r.tid, r.target, orjson.loads(r.policy), r.description, r.valid_from, r.valid_to)


def insert_rule(conn: Connection, row: dict[str, Any]) -> int:
    res = conn.execute(insert(dtr_access_rules), {**row, "policy": orjson.dumps(row["policy"]).decode()})
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def update_rule(conn: Connection, rule_id: int, row: dict[str, Any]) -> None:
    conn.execute(update(dtr_access_rules).where(dtr_access_rules.c.id == rule_id).values(
        **{**row, "policy": orjson.dumps(row["policy"]).decode()}))


def delete_rule(conn: Connection, rule_id: int) -> None:
    conn.execute(delete(dtr_access_rules).where(dtr_access_rules.c.id == rule_id))


def get_rule(conn: Connection, rule_id: int) -> RuleRow | None:
    row = conn.execute(select(dtr_access_rules).where(dtr_access_rules.c.id == rule_id)).first()
    return _rule(row) if row is not None else None


def rules_of(conn: Connection, tids: Iterable[str] | None = None) -> list[RuleRow]:
    """The access rules of the tenants ``tids`` (all when ``None``), by id."""
    q = select(dtr_access_rules).order_by(dtr_access_rules.c.id)
    if tids is not None:
        q = q.where(dtr_access_rules.c.tid.in_(list(tids)))
    return [_rule(r) for r in conn.execute(q)]
