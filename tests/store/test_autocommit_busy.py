"""The store's own autocommit connections (store/fastread.py) turn a PostgreSQL that does not answer into
StoreBusy (HTTP 503) in one place, with the detail their user gave: the passport read and the rate limiter
say which of them did not answer, and when to retry. (The lock and statement timeouts on a live server are
covered in tests/api/test_stateless_workers.py.)"""

from __future__ import annotations

import socket

import pytest

from batteryloop.store import ratelimit
from batteryloop.store.db import Store, StoreBusy
from batteryloop.store.fastread import AutocommitConnections, FastReader

pytest.importorskip("psycopg")


def _refusing_url() -> str:
    """A PostgreSQL URL on a loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://nobody@127.0.0.1:{port}/none"


@pytest.fixture
def refusing_store() -> Store:
    store = Store(_refusing_url())
    yield store
    store.dispose()


def test_a_refused_connection_is_store_busy_with_the_users_detail(refusing_store: Store) -> None:
    conns = AutocommitConnections(refusing_store, busy="the thing did not answer", retry="retry in 7 s")
    with pytest.raises(StoreBusy) as got:
        conns.one("SELECT 1", ())
    detail = str(got.value)
    assert detail.startswith("the thing did not answer (OperationalError: ") and detail.endswith("; retry in 7 s")
    assert got.value.status == 503
    with pytest.raises(StoreBusy):
        conns.all("SELECT 1", ())


def test_the_passport_read_and_the_rate_limiter_say_which_did_not_answer(refusing_store: Store) -> None:
    with pytest.raises(StoreBusy, match=r"(?s)^the store did not answer the read in time \(.*; retry later$"):
        FastReader(refusing_store).one("SELECT 1 WHERE 1 = ?", (1,))
    shared = ratelimit.SharedBuckets(refusing_store)
    shared._pruned_at = 1.7e9  # no prune due: the take itself meets the refused connection
    with pytest.raises(StoreBusy, match=r"(?s)^the rate limiter's store did not answer in time \(.*; retry in 1 s$"):
        shared.take("a:10.1.2.3", 1.0, 12.0, 1.7e9)
