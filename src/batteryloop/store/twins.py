"""Tables and queries of the Digital Twin Registry (:mod:`batteryloop.passport.twin_registry`).

* ``dtr_shells`` — one row per shell descriptor: its id, the participant that owns it (the economic
  operator of the pack it describes, or whoever registered a descriptor of a foreign asset), the passport
  it describes when it describes one of this node's packs, its global asset id, asset kind and type, when
  it was created, and the whole descriptor (with its specificAssetIds and submodel descriptors) as JSON —
  except for a descriptor the node registered for one of its packs and nobody has changed since (a *derived
  pack twin*): its ``descriptor`` is only the marker ``{"_pack_base_url": <the public base URL at issue>}``
  (:func:`pack_marker`), and the registry builds the whole descriptor from the pack's passport row when it is
  read (:func:`batteryloop.passport.pack_twins.expand`): everything in it is derivable, so storing it (~5.5 kB
  per pack) bought nothing. A write through the registry API stores the descriptor whole, as any other.
  ``seq`` orders the rows by creation: the registry's lists are paged by it.
* ``dtr_asset_ids`` — the descriptor's specificAssetIds (name, value) again, one row each, for lookups by
  asset id; rewritten with the descriptor.
* ``dtr_access_rules`` — the Tractus-X granular access rules of a tenant (``tid``, the owner of the shells
  they govern) for one target BPN (or ``PUBLIC_READABLE``), with the policy as JSON and its validity.

Functions take the connection of the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
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
    exists,
    func,
    insert,
    literal,
    select,
    true,
    tuple_,
    update,
)

from . import bulk
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


#: the key of a derived pack twin's stored marker (not a descriptor key: the registry's bodies are cut to
#: the schema's keys, so no stored descriptor has it)
PACK_MARK = "_pack_base_url"


def pack_marker(base_url: str) -> str:
    """The stored text of a derived pack twin whose endpoints are under ``base_url``."""
    return orjson.dumps({PACK_MARK: base_url}).decode()


@dataclass(frozen=True)
class ShellRow:
    seq: int
    shell_id: str
    owner_id: str | None
    passport_id: str | None
    global_asset_id: str | None
    created_at: str
    descriptor: dict[str, Any]  # of a derived pack twin: {} until the registry expands it
    pack_base: str | None = None  # a derived pack twin's base URL; None for a descriptor stored whole
    pack: dict[str, Any] | None = None  # a derived pack twin's passport fields (:func:`pack_rows`'), read with it


_PACK_COLS = ("id", "serial_number", "model_id", "economic_operator_id", "owner_id", "global_asset_id")


@cache
def _select() -> Any:
    """SELECT of shell rows with their passport's fields (a derived pack twin is built from them: one query).
    Built once (statements are immutable: ``where`` makes a new one)."""
    from .tables import passports

    return (select(dtr_shells, *(passports.c[k].label("p_" + k) for k in _PACK_COLS))
            .select_from(dtr_shells.outerjoin(passports, passports.c.id == dtr_shells.c.passport_id)))


def _shell(r: Any) -> ShellRow:
    d = orjson.loads(r.descriptor)
    if PACK_MARK in d:
        m = r._mapping
        pack = {k: m["p_" + k] for k in _PACK_COLS} if m["p_id"] is not None else None
        return ShellRow(r.seq, r.shell_id, r.owner_id, r.passport_id, r.global_asset_id, r.created_at, {},
                        d[PACK_MARK], pack)
    return ShellRow(r.seq, r.shell_id, r.owner_id, r.passport_id, r.global_asset_id, r.created_at, d)


def get_shell(conn: Connection, shell_id: str) -> ShellRow | None:
    row = conn.execute(_select().where(dtr_shells.c.shell_id == shell_id)).first()
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


def insert_pack_shells(conn: Connection, shells: list[tuple[str, str, str, str, list[tuple[str, str]]]], *,
                       base_url: str, created_at: str, chunk: int = 500) -> None:
    """Insert the derived pack twins of packs being issued, ``(owner_id, passport_id, shell_id,
    global_asset_id, asset-id pairs)`` each, under ``base_url`` (the marker, :func:`pack_marker`): per ``chunk``
    one SELECT for descriptors already registered under these shell ids (then replaced: a pack's shell id is
    its own), one batched INSERT of the shells, one SELECT of their seqs and one INSERT of their asset ids."""
    text = pack_marker(base_url)
    for i in range(0, len(shells), chunk):
        part = shells[i:i + chunk]
        ids = [s[2] for s in part]
        taken = [r.seq for r in conn.execute(select(dtr_shells.c.seq).where(dtr_shells.c.shell_id.in_(ids)))]
        if taken:
            conn.execute(delete(dtr_asset_ids).where(dtr_asset_ids.c.shell_seq.in_(taken)))
            conn.execute(delete(dtr_shells).where(dtr_shells.c.seq.in_(taken)))
        bulk.insert_many(conn, dtr_shells, [{
            "shell_id": sid, "owner_id": owner, "passport_id": pid, "global_asset_id": gid,
            "asset_kind": "Instance", "asset_type": None, "created_at": created_at, "descriptor": text}
            for owner, pid, sid, gid, _ in part])
        # their seqs by shell id (unique), one SELECT: an INSERT … RETURNING in parameter order is one
        # statement per row on SQLite
        q = select(dtr_shells.c.shell_id, dtr_shells.c.seq).where(dtr_shells.c.shell_id.in_(ids))
        seqs = {r.shell_id: r.seq for r in conn.execute(q)}
        rows = [{"shell_seq": seqs[sid], "name": n, "value": v} for _, _, sid, _, pairs in part for n, v in pairs]
        bulk.insert_many(conn, dtr_asset_ids, rows)


def update_pack_shells(conn: Connection, updates: list[tuple[int, str | None, str, list[tuple[str, str]]]]) -> None:
    """Bring derived pack twins ``(seq, owner_id, global_asset_id, asset-id pairs)`` in step with their
    passports: their owner and global asset id columns and their asset-id rows (the marker stays)."""
    if not updates:
        return
    from sqlalchemy import bindparam

    conn.execute(update(dtr_shells).where(dtr_shells.c.seq == bindparam("b_seq")).values(
        owner_id=bindparam("b_owner"), global_asset_id=bindparam("b_gid")),
        [{"b_seq": seq, "b_owner": owner, "b_gid": gid} for seq, owner, gid, _ in updates])
    seqs = [u[0] for u in updates]
    for i in range(0, len(seqs), 500):
        conn.execute(delete(dtr_asset_ids).where(dtr_asset_ids.c.shell_seq.in_(seqs[i:i + 500])))
    rows = [{"shell_seq": seq, "name": n, "value": v} for seq, _, _, pairs in updates for n, v in pairs]
    if rows:
        conn.execute(insert(dtr_asset_ids), rows)


def asset_pairs(conn: Connection, seqs: Iterable[int], chunk: int = 500) -> dict[int, list[tuple[str, str]]]:
    """Shell seq → the (name, value) of its stored asset-id rows (sorted)."""
    ids = sorted(set(seqs))
    out: dict[int, list[tuple[str, str]]] = {}
    for i in range(0, len(ids), chunk):
        q = select(dtr_asset_ids.c.shell_seq, dtr_asset_ids.c.name, dtr_asset_ids.c.value).where(
            dtr_asset_ids.c.shell_seq.in_(ids[i:i + chunk]))
        for r in conn.execute(q):
            out.setdefault(r.shell_seq, []).append((r.name, r.value))
    return {k: sorted(v) for k, v in out.items()}


def pack_rows(conn: Connection, passport_ids: Iterable[str], chunk: int = 500) -> dict[str, dict[str, Any]]:
    """Passport id → its row's ``id``, ``serial_number``, ``model_id``, ``economic_operator_id``, ``owner_id``,
    ``global_asset_id``: what a derived pack twin is built from."""
    from .tables import passports

    ids = sorted(set(passport_ids))
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), chunk):
        q = select(passports.c.id, passports.c.serial_number, passports.c.model_id,
                   passports.c.economic_operator_id, passports.c.owner_id, passports.c.global_asset_id
                   ).where(passports.c.id.in_(ids[i:i + chunk]))
        out.update((r.id, dict(r._mapping)) for r in conn.execute(q))
    return out


def derived_shells_of_passports(conn: Connection, passport_ids: Iterable[str]) -> list[ShellRow]:
    """The derived pack twins of these passports (for the registry's endpoint check)."""
    return [r for r in shells_of_passports(conn, sorted(set(passport_ids))) if r.pack_base is not None]


def shells_of_passports(conn: Connection, passport_ids: list[str], chunk: int = 500) -> list[ShellRow]:
    """The descriptors linked to these passports (by the ``passport_id`` they were registered for)."""
    out: list[ShellRow] = []
    for i in range(0, len(passport_ids), chunk):
        q = _select().where(dtr_shells.c.passport_id.in_(passport_ids[i:i + chunk]))
        out += [_shell(r) for r in conn.execute(q)]
    return out


def update_shells(conn: Connection, updates: list[tuple[int, str | None, str | None, dict[str, Any]]]) -> None:
    """:func:`update_shell` for many ``(seq, owner_id, passport_id, descriptor)``: one batched UPDATE, one DELETE
    and one INSERT of their asset ids."""
    if not updates:
        return
    from sqlalchemy import bindparam

    conn.execute(update(dtr_shells).where(dtr_shells.c.seq == bindparam("b_seq")).values(
        owner_id=bindparam("b_owner"), passport_id=bindparam("b_pid"), global_asset_id=bindparam("b_gid"),
        asset_kind=bindparam("b_kind"), asset_type=bindparam("b_type"), descriptor=bindparam("b_d")), [
        {"b_seq": seq, "b_owner": owner, "b_pid": pid, "b_gid": d.get("globalAssetId"), "b_kind": d.get("assetKind"),
         "b_type": d.get("assetType"), "b_d": orjson.dumps(d).decode()} for seq, owner, pid, d in updates])
    seqs = [u[0] for u in updates]
    for i in range(0, len(seqs), 500):
        conn.execute(delete(dtr_asset_ids).where(dtr_asset_ids.c.shell_seq.in_(seqs[i:i + 500])))
    pairs = [{"shell_seq": seq, "name": n, "value": v} for seq, _, _, d in updates for n, v in _pairs(d)]
    if pairs:
        conn.execute(insert(dtr_asset_ids), pairs)


def passports_without_shell(conn: Connection, *, chunk: int = 2000) -> Iterator[list[dict[str, Any]]]:
    """The passport rows (``id``, ``serial_number``, ``model_id``, ``economic_operator_id``, ``owner_id``) whose
    pack has no descriptor under its shell id (``urn:batteryloop:<id>:aas``), in batches of ``chunk``; all are
    read before the first batch is given, so the caller may register them as it goes."""
    from .tables import passports

    sid = literal("urn:batteryloop:") + passports.c.id + literal(":aas")
    q = (select(passports.c.id, passports.c.serial_number, passports.c.model_id, passports.c.economic_operator_id,
                passports.c.owner_id)
         .where(~exists().where(dtr_shells.c.shell_id == sid)).order_by(passports.c.id))
    rows = [dict(r._mapping) for r in conn.execute(q)]
    for i in range(0, len(rows), chunk):
        yield rows[i:i + chunk]


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
    q = _select().where(and_(true(), *conds)).order_by(dtr_shells.c.seq).limit(limit)
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
    q = _select().where(and_(*conds)).order_by(dtr_shells.c.seq).limit(limit)
    return [_shell(r) for r in conn.execute(q)]


def shells_with_endpoint(conn: Connection, hrefs: Iterable[str]) -> list[ShellRow]:
    """Shells whose stored descriptor has an endpoint ``href`` equal to one of ``hrefs`` (found in its JSON
    text, which every write stores compact: ``"href":"…"``; the submodel endpoint check decides the rest). Not
    every shell naming the node's host: with every pack registered on issue that would be every pack. A
    derived pack twin stores no endpoint: :func:`derived_shells_of_passports` finds those."""
    wanted = sorted(set(hrefs))
    if not wanted:
        return []
    from sqlalchemy import or_

    texts = ['"href":' + orjson.dumps(h).decode() for h in wanted]
    q = (_select().where(or_(*(dtr_shells.c.descriptor.contains(t, autoescape=True) for t in texts)))
         .order_by(dtr_shells.c.seq))
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


#: rule ids are INTEGER (32-bit on PostgreSQL); an id outside that range names no rule (the API's int64 path
#: parameter can carry one, which PostgreSQL would refuse with an error instead of finding nothing)
_RULE_ID_RANGE = range(-2**31, 2**31)


def update_rule(conn: Connection, rule_id: int, row: dict[str, Any]) -> None:
    if rule_id not in _RULE_ID_RANGE:
        return
    conn.execute(update(dtr_access_rules).where(dtr_access_rules.c.id == rule_id).values(
        **{**row, "policy": orjson.dumps(row["policy"]).decode()}))


def delete_rule(conn: Connection, rule_id: int) -> None:
    if rule_id not in _RULE_ID_RANGE:
        return
    conn.execute(delete(dtr_access_rules).where(dtr_access_rules.c.id == rule_id))


def get_rule(conn: Connection, rule_id: int) -> RuleRow | None:
    if rule_id not in _RULE_ID_RANGE:
        return None
    row = conn.execute(select(dtr_access_rules).where(dtr_access_rules.c.id == rule_id)).first()
    return _rule(row) if row is not None else None


def rules_of(conn: Connection, tids: Iterable[str] | None = None) -> list[RuleRow]:
    """The access rules of the tenants ``tids`` (all when ``None``), by id."""
    q = select(dtr_access_rules).order_by(dtr_access_rules.c.id)
    if tids is not None:
        q = q.where(dtr_access_rules.c.tid.in_(list(tids)))
    return [_rule(r) for r in conn.execute(q)]
