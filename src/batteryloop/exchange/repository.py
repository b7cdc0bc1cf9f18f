"""Persistence of negotiations, transfers and issued credentials (one write transaction per change).

The rows are read and written by :mod:`batteryloop.store.exchange`; this module maps them to
:class:`Negotiation` and :class:`Transfer`, keeps the counterparty pids not written yet and wakes waiters.

A state change is a compare-and-set: the row moves from the state the caller read to the next one,
or the change is refused — two messages racing on one process cannot both win.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson

from ..store import exchange as repo
from ..store.db import Store, utcnow_iso
from .errors import ProtocolError


def _j(obj: Any) -> str | None:
    return None if obj is None else orjson.dumps(obj).decode()


def _l(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


@dataclass
class Negotiation:
    pid: str
    role: str
    peer_pid: str | None
    counterparty_did: str
    counterparty_address: str
    dataset_id: str
    state: str
    offer: dict[str, Any]
    agreement_id: str | None
    agreement: dict[str, Any] | None
    claims: dict[str, Any] | None
    reason: str | None
    created_at: str
    updated_at: str

    @property
    def provider_pid(self) -> str:
        return self.pid if self.role == "provider" else (self.peer_pid or "urn:uuid:unknown")

    @property
    def consumer_pid(self) -> str:
        return self.pid if self.role == "consumer" else (self.peer_pid or "urn:uuid:unknown")

    def public(self) -> dict[str, Any]:
        return {"pid": self.pid, "role": self.role, "peer_pid": self.peer_pid, "counterparty": self.counterparty_did,
                "dataset_id": self.dataset_id, "state": self.state, "offer": self.offer,
                "agreement_id": self.agreement_id, "agreement": self.agreement, "reason": self.reason,
                "created_at": self.created_at,
                "updated_at": self.updated_at}


@dataclass
class Transfer:
    pid: str
    role: str
    peer_pid: str | None
    counterparty_did: str
    counterparty_address: str
    agreement_id: str
    format: str
    state: str
    data_address: dict[str, Any] | None
    reason: str | None
    created_at: str
    updated_at: str

    @property
    def provider_pid(self) -> str:
        return self.pid if self.role == "provider" else (self.peer_pid or "urn:uuid:unknown")

    @property
    def consumer_pid(self) -> str:
        return self.pid if self.role == "consumer" else (self.peer_pid or "urn:uuid:unknown")

    def public(self) -> dict[str, Any]:
        return {"pid": self.pid, "role": self.role, "peer_pid": self.peer_pid, "counterparty": self.counterparty_did,
                "agreement_id": self.agreement_id, "format": self.format, "state": self.state,
                "reason": self.reason, "created_at": self.created_at, "updated_at": self.updated_at}


class ExchangeRepository:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.changed = threading.Condition()
        # pid -> the state this repository last wrote for it: lets a waiter skip reloading a row whose
        # change cannot be the one it waits for (the row itself is still read from the store when it can be)
        self._written: dict[str, str] = {}
        # pid -> the counterparty's pid, known from its answer but not written yet (see expect_peer)
        self._peers: dict[str, str] = {}

    def _notify(self, pid: str | None = None, state: str | None = None) -> None:
        if pid is not None and state is not None:
            if len(self._written) > 10_000:
                self._written.clear()
            self._written[pid] = state
        with self.changed:
            self.changed.notify_all()

    # ------------------------------------------------------------------ negotiations
    def add_negotiation(self, n: Negotiation) -> Negotiation:
        with self.store.write() as conn:
            repo.insert_negotiation(conn, {
                "pid": n.pid, "role": n.role, "peer_pid": n.peer_pid, "counterparty_did": n.counterparty_did,
                "counterparty_address": n.counterparty_address, "dataset_id": n.dataset_id, "state": n.state,
                "offer": _j(n.offer), "agreement_id": n.agreement_id, "agreement": _j(n.agreement),
                "claims": _j(n.claims), "reason": n.reason, "created_at": n.created_at, "updated_at": n.updated_at})
        self._notify(n.pid, n.state)
        return n

    def _neg(self, row: Any) -> Negotiation:
        return Negotiation(row.pid, row.role, row.peer_pid or self._peers.get(row.pid), row.counterparty_did, row.counterparty_address,
                           row.dataset_id, row.state, _l(row.offer), row.agreement_id, _l(row.agreement),
                           _l(row.claims), row.reason, row.created_at, row.updated_at)

    def negotiation(self, pid: str, role: str | None = None) -> Negotiation:
        with self.store.read() as conn:
            row = repo.negotiation(conn, pid, role)
        if row is None:
            raise ProtocolError("NotFound", f"no contract negotiation {pid!r} here", status=404)
        return self._neg(row)

    def negotiation_by_agreement(self, agreement_id: str, role: str) -> Negotiation:
        with self.store.read() as conn:
            row = repo.negotiation_by_agreement(conn, agreement_id, role)
        if row is None:
            raise ProtocolError("NotFound", f"no contract agreement {agreement_id!r} here", status=404)
        return self._neg(row)

    def negotiations(self, limit: int = 200) -> list[Negotiation]:
        with self.store.read() as conn:
            rows = repo.latest_negotiations(conn, limit)
        return [self._neg(r) for r in rows]

    def move_negotiation(self, pid: str, from_state: str, to_state: str, **values: Any) -> None:
        vals: dict[str, Any] = {"state": to_state, "updated_at": utcnow_iso()}
        for k, v in values.items():
            vals[k] = _j(v) if k in ("agreement", "claims", "offer") else v
        if "peer_pid" not in vals and pid in self._peers:
            vals["peer_pid"] = self._peers[pid]
        with self.store.write() as conn:
            moved = repo.move_negotiation(conn, pid, from_state, vals)
        if not moved:
            raise ProtocolError("InvalidStateTransition",
                                f"negotiation {pid} left state {from_state} concurrently; {to_state} refused")
        if vals.get("peer_pid"):
            self._peers.pop(pid, None)
        self._notify(pid, to_state)

    # --------------------------------------------------------------------- transfers
    def add_transfer(self, t: Transfer) -> Transfer:
        with self.store.write() as conn:
            repo.insert_transfer(conn, {
                "pid": t.pid, "role": t.role, "peer_pid": t.peer_pid, "counterparty_did": t.counterparty_did,
                "counterparty_address": t.counterparty_address, "agreement_id": t.agreement_id, "format": t.format,
                "state": t.state, "data_address": _j(t.data_address), "reason": t.reason,
                "created_at": t.created_at, "updated_at": t.updated_at})
        self._notify(t.pid, t.state)
        return t

    def _tr(self, row: Any) -> Transfer:
        return Transfer(row.pid, row.role, row.peer_pid or self._peers.get(row.pid), row.counterparty_did, row.counterparty_address,
                        row.agreement_id, row.format, row.state, _l(row.data_address), row.reason, row.created_at,
                        row.updated_at)

    def transfer(self, pid: str, role: str | None = None) -> Transfer:
        with self.store.read() as conn:
            row = repo.transfer(conn, pid, role)
        if row is None:
            raise ProtocolError("NotFound", f"no transfer process {pid!r} here", status=404)
        return self._tr(row)

    def transfers(self, limit: int = 200) -> list[Transfer]:
        with self.store.read() as conn:
            rows = repo.latest_transfers(conn, limit)
        return [self._tr(r) for r in rows]

    def move_transfer(self, pid: str, from_state: str, to_state: str, **values: Any) -> None:
        vals: dict[str, Any] = {"state": to_state, "updated_at": utcnow_iso()}
        for k, v in values.items():
            vals[k] = _j(v) if k == "data_address" else v
        if "peer_pid" not in vals and pid in self._peers:
            vals["peer_pid"] = self._peers[pid]
        with self.store.write() as conn:
            moved = repo.move_transfer(conn, pid, from_state, vals)
        if not moved:
            raise ProtocolError("InvalidStateTransition",
                                f"transfer {pid} left state {from_state} concurrently; {to_state} refused")
        if vals.get("peer_pid"):
            self._peers.pop(pid, None)
        self._notify(pid, to_state)

    def expect_peer(self, pid: str, peer_pid: str | None) -> None:
        """The counterparty's pid for our process ``pid``, from its answer to our request: from now on every
        message on the process must carry it (rows read here carry it), and it is written with the next state
        change — usually the counterparty's first callback brings it anyway — or by :meth:`settle_peer`.
        Saves a write transaction per negotiation and per transfer."""
        if peer_pid:
            if len(self._peers) > 10_000:
                self._peers.clear()
            self._peers[pid] = peer_pid

    def settle_peer(self, kind: str, pid: str) -> None:
        """Write the expected counterparty pid of ``pid`` if no state change has written it yet."""
        peer = self._peers.pop(pid, None)
        if peer:
            self.set_peer_pid(kind, pid, peer)

    def set_peer_pid(self, kind: str, pid: str, peer_pid: str | None) -> None:
        """Record the counterparty's pid if it is not known yet (a callback may have brought it first)."""
        if not peer_pid:
            return
        with self.store.write() as conn:
            repo.set_peer_pid(conn, kind, pid, peer_pid)

    def wait(self, load: Any, done: Any, timeout_s: float, *, pid: str | None = None,
             ready: Any = None) -> Any:
        """Wait until ``done(load())`` or the timeout; returns the last loaded value.

        Woken by every change this repository writes. With ``pid`` and ``ready(state) -> bool``, a wake-up
        reloads only when the state last written here for ``pid`` could satisfy ``done`` — intermediate
        states (AGREED, VERIFIED on the way to FINALIZED) cost no read. A change written by another process
        sharing the store is not signalled here: it is seen at the next poll (every 0.5 s), as before.
        """
        start = time.monotonic()
        end = start + timeout_s
        poll = 0.5
        with self.changed:
            value: Any = None
            loaded = False
            last = start  # when the row was last read (or, before the first read, when the wait began)
            while True:
                now = time.monotonic()
                hint = self._written.get(pid) if pid is not None else None
                if ready is None or hint is None or ready(hint) or now - last >= poll:
                    value, loaded, last = load(), True, now
                    if done(value):
                        return value
                left = end - time.monotonic()
                if left <= 0:
                    return value if loaded else load()
                self.changed.wait(max(0.001, min(left, poll - (time.monotonic() - last))))

    # ------------------------------------------------------------------- credentials
    def record_credential(self, *, cid: str, issuer_did: str, subject_did: str, ctype: str, status_list: str,
                          expires_at: str | None) -> int:
        """Store an issued credential and give it the next free index of its status list."""
        with self.store.write() as conn:
            nxt = repo.next_status_index(conn, status_list)
            repo.insert_credential(conn, {
                "id": cid, "issuer_did": issuer_did, "subject_did": subject_did, "type": ctype,
                "status_list": status_list, "status_index": nxt, "issued_at": utcnow_iso(), "expires_at": expires_at})
        return int(nxt)

    def revoke_credential(self, cid: str) -> int:
        with self.store.write() as conn:
            index = repo.credential_status_index(conn, cid)
            if index is None:
                raise ProtocolError("NotFound", f"no credential {cid!r} issued here", status=404)
            repo.revoke_credential(conn, cid, utcnow_iso())
        return int(index)

    def revoked_indexes(self, status_list: str) -> list[int]:
        with self.store.read() as conn:
            return repo.revoked_indexes(conn, status_list)
