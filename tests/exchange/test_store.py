"""Migration 0003 on both stores: the exchange tables exist, match the code's tables, and state moves are compare-and-set."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect

from batteryloop.exchange.errors import ProtocolError
from batteryloop.exchange.repository import ExchangeRepository, Negotiation, Transfer
from batteryloop.store import exchange_tables
from batteryloop.store.db import utcnow_iso
from batteryloop.store.migrate import current


def test_migration_creates_the_code_tables(store: Any) -> None:
    assert current(store) is not None and int(current(store)) >= 3
    insp = inspect(store.engine)
    for t in (exchange_tables.exchange_negotiations, exchange_tables.exchange_transfers,
              exchange_tables.exchange_credentials, exchange_tables.exchange_ouranos):
        cols = {c["name"] for c in insp.get_columns(t.name)}
        assert cols == {c.name for c in t.columns}, t.name


def test_state_moves_are_compare_and_set(store: Any) -> None:
    repo = ExchangeRepository(store)
    now = utcnow_iso()
    repo.add_negotiation(Negotiation("urn:uuid:n1", "provider", "urn:uuid:c1", "did:web:x", "http://x", "ds",
                                     "REQUESTED", {"@id": "o"}, None, None, {"did": "did:web:x"}, None, now, now))
    repo.move_negotiation("urn:uuid:n1", "REQUESTED", "AGREED", agreement={"@id": "a1"}, agreement_id="a1")
    with pytest.raises(ProtocolError, match="concurrently"):
        repo.move_negotiation("urn:uuid:n1", "REQUESTED", "TERMINATED")
    assert repo.negotiation_by_agreement("a1", "provider").agreement == {"@id": "a1"}
    repo.add_transfer(Transfer("urn:uuid:t1", "provider", None, "did:web:x", "http://x", "a1", "HttpData-PULL",
                               "REQUESTED", None, None, now, now))
    repo.set_peer_pid("transfer", "urn:uuid:t1", "urn:uuid:ct1")
    repo.set_peer_pid("transfer", "urn:uuid:t1", "urn:uuid:other")  # first one wins
    assert repo.transfer("urn:uuid:t1").peer_pid == "urn:uuid:ct1"
    i0 = repo.record_credential(cid="c0", issuer_did="did:web:i", subject_did="did:web:s", ctype="X",
                                status_list="1", expires_at=None)
    i1 = repo.record_credential(cid="c1", issuer_did="did:web:i", subject_did="did:web:s", ctype="X",
                                status_list="1", expires_at=None)
    assert (i0, i1) == (0, 1)
    repo.revoke_credential("c1")
    assert repo.revoked_indexes("1") == [1]
