"""The facts the policy decides on, read from the store: custody from the ledger, delegations.

:mod:`batteryloop.access` decides from a :class:`~batteryloop.access.Resource`; this module fills one
in for a passport (its economic operator and owner from the registry, its current custodian from the
ledger's custody table — following the predecessors of a repurposed or remanufactured passport back
to the pack's ledger subject — and the delegations in force), and keeps the delegations themselves:
a passport's economic operator or a pack's custodian lets a service provider do named actions on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from .access import POLICY, Caller, Resource, authorize, decide, delegable
from .errors import Conflict, Forbidden, InvalidData, NotFound
from .store import relations as repo
from .store.db import Store, iso_text, utcnow_iso
from .store.participants import participant_exists
from .store.passports import find_record, passport_data, read_only_state

MAX_PREDECESSORS = 20  # a bound on the walk back through predecessors (real packs have 1–3 lives)


def ledger_subjects(conn: Any, passport_id: str, data: Mapping[str, Any] | None = None) -> list[str]:
    """The passport and its predecessors, newest first: the ledger subjects that may hold its custody."""
    out = [passport_id]
    preds = list((data or {}).get("predecessor_ids") or ())
    while preds and len(out) < MAX_PREDECESSORS:
        p = preds[0]
        if p in out:
            break
        out.append(p)
        pdata = passport_data(conn, p)
        preds = list(pdata.get("predecessor_ids") or ()) if pdata is not None else []
    return out


def custody_subject(conn: Any, subjects: Iterable[str]) -> tuple[str | None, str | None]:
    """(subject, holder) of the first subject (in the order given) the ledger has a custody record of."""
    subjects = list(subjects)
    rows = repo.custodians(conn, subjects)
    for s in subjects:
        if s in rows:
            return s, rows[s]
    return None, None


def in_force(r: Any, at: str) -> bool:
    """Whether a ``delegations`` row was in force at ``at`` (the store's ISO text)."""
    return r.created_at <= at and (r.revoked_at is None or r.revoked_at > at) and (r.expires_at is None or r.expires_at > at)


def delegates(conn: Any, subjects: Iterable[str], grantors: Iterable[str | None], at: str | None = None
              ) -> dict[str, frozenset[str]]:
    """Participant → actions delegated on any of ``subjects``, in force at ``at`` (default: now), by one of
    ``grantors`` — a delegation lapses when its grantor is no longer the operator or custodian."""
    at = at or utcnow_iso()
    ok = {g for g in grantors if g is not None} | {"admin"}
    out: dict[str, set[str]] = {}
    for r in repo.delegations_on(conn, subjects):
        if in_force(r, at) and r.grantor_id in ok:
            out.setdefault(r.grantee_id, set()).update(r.actions)
    return {k: frozenset(v) for k, v in out.items()}


def passport_resource(conn: Any, rec: Any) -> Resource:
    """A passport record (``PassportRecord``) with the relations' facts: operator, owner, custodian, delegates.

    The custodian is the holder of the pack in the ledger (for a repurposed or remanufactured passport, of
    its predecessors' pack). Delegations count on the passport itself and on that ledger subject, and only
    those granted by the passport's current operator or the pack's current holder."""
    subject, holder = custody_subject(conn, ledger_subjects(conn, rec.id, rec.data))
    on = {rec.id} | ({subject} if subject else set())
    return Resource("passport", rec.id, operator=rec.economic_operator_id, owner=rec.owner_id, custodian=holder,
                    delegates=delegates(conn, on, (rec.economic_operator_id, holder)))


def passport_resources(conn: Any, recs: Iterable[Any]) -> dict[str, Resource]:
    """:func:`passport_resource` for many passports with one custody and one delegation query (a batch write's
    facts: the same Resource for each as one at a time)."""
    recs = list(recs)
    chains = {rec.id: ledger_subjects(conn, rec.id, rec.data) for rec in recs}
    held = repo.custodians(conn, {s for c in chains.values() for s in c})
    subject = {pid: next((s for s in chain if s in held), None) for pid, chain in chains.items()}
    on_all = set(chains) | {s for s in subject.values() if s}
    rows = repo.delegations_on(conn, on_all) if on_all else []
    at = utcnow_iso()
    out = {}
    for rec in recs:
        sub = subject[rec.id]
        holder = held.get(sub) if sub else None
        on = {rec.id} | ({sub} if sub else set())
        ok = {g for g in (rec.economic_operator_id, holder) if g is not None} | {"admin"}
        dele: dict[str, set[str]] = {}
        for r in rows:
            if r.subject in on and in_force(r, at) and r.grantor_id in ok:
                dele.setdefault(r.grantee_id, set()).update(r.actions)
        out[rec.id] = Resource("passport", rec.id, operator=rec.economic_operator_id, owner=rec.owner_id,
                               custodian=holder, delegates={k: frozenset(v) for k, v in dele.items()})
    return out


# ------------------------------------------------------------------------------------ delegations
DELEGABLE = frozenset(a for a in POLICY if delegable(a))
"""Actions a delegation may name (never the right to delegate, update the passport or read the supply chain)."""


class Delegations:
    """Grant, list and revoke delegations on a passport (by its economic operator or its custodian)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _resource(self, conn: Any, passport_id: str) -> Resource:
        rec = find_record(conn, passport_id)
        if rec is None:
            raise NotFound(f"no passport {passport_id!r}")
        return passport_resource(conn, rec)

    def grant(self, passport_id: str, grantee_id: str, actions: list[str], caller: Caller, *,
              days: float | None = None) -> dict[str, Any]:
        bad = [a for a in actions if a != "*" and a not in DELEGABLE]
        if bad or not actions:
            raise InvalidData(f"cannot delegate {', '.join(bad) or 'nothing'}: name actions among "
                              f"{', '.join(sorted(DELEGABLE))} (or *)", [{
                                  "field": "actions", "rule": "delegable", "value": bad,
                                  "message": f"actions: {', '.join(bad) or 'empty'} cannot be delegated"}])
        if days is not None and days <= 0:
            raise InvalidData("days must be positive", [{"field": "days", "rule": "gt", "value": days,
                                                         "message": "days: must be > 0"}])
        now = utcnow_iso()
        expires = None if days is None else iso_text(dt.datetime.now(dt.UTC) + dt.timedelta(days=days))
        with self.store.write() as conn:
            res = self._resource(conn, passport_id)
            authorize(caller, "passport.delegate", res)
            archived, successor_id = read_only_state(conn, passport_id)  # type: ignore[misc]
            if archived or successor_id:
                raise Conflict(f"passport {passport_id} is read-only (archived or superseded): delegate on its "
                               "current passport")
            if grantee_id == caller.participant_id:
                raise InvalidData("a participant does not delegate to itself", [{
                    "field": "grantee_id", "rule": "not_self", "value": grantee_id,
                    "message": "grantee_id: name another participant"}])
            if not caller.is_admin:  # one hands on only what one may do oneself; "*" only the operator
                own = [a for a in actions if a != "*"]
                if "*" in actions and res.operator != caller.participant_id:
                    raise Forbidden("only the economic operator delegates every action (*); name the actions")
                lacking = [a for a in own if not decide(caller, a, res)]
                if lacking:
                    raise Forbidden(f"you may not delegate {', '.join(lacking)}: you may not do it yourself on "
                                    f"passport {passport_id}")
            if not participant_exists(conn, grantee_id):
                raise NotFound(f"no participant with id {grantee_id!r}")
            did = repo.insert_delegation(conn, {
                "subject": passport_id, "grantor_id": caller.participant_id or "admin", "grantee_id": grantee_id,
                "actions": orjson.dumps(sorted(set(actions))).decode(), "created_at": now, "expires_at": expires})
        return {"id": did, "subject": passport_id, "grantee_id": grantee_id, "actions": sorted(set(actions)),
                "created_at": now, "expires_at": expires, "revoked_at": None}

    def list(self, passport_id: str, caller: Caller) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            authorize(caller, "passport.delegations.read", self._resource(conn, passport_id))
            rows = repo.delegations_of(conn, passport_id)
        return [{"id": r.id, "subject": r.subject, "grantor_id": r.grantor_id, "grantee_id": r.grantee_id,
                 "actions": r.actions, "created_at": r.created_at, "expires_at": r.expires_at,
                 "revoked_at": r.revoked_at} for r in rows]

    def revoke(self, passport_id: str, delegation_id: int, caller: Caller) -> dict[str, Any]:
        with self.store.write() as conn:
            authorize(caller, "passport.delegate", self._resource(conn, passport_id))
            if not repo.revoke_delegation(conn, passport_id, delegation_id, utcnow_iso()):
                raise NotFound(f"passport {passport_id} has no delegation {delegation_id} in force")
        return {"id": delegation_id, "revoked": True}

