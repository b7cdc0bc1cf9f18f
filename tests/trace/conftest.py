"""Stores for the trace tests: a fresh SQLite file per test, and a fresh database per test on the
PostgreSQL server of the shared ``postgres_url`` fixture (tests/conftest.py: started on loopback, or
BATTERYLOOP_TEST_POSTGRES_URL; required in CI), dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from batteryloop.identity import ParticipantService
from batteryloop.sim import pilot
from batteryloop.store.db import Store
from batteryloop.trace.keys import Signer
from batteryloop.trace.ledger import Ledger
from batteryloop.sim.supply_chain import all_participants, demo_signers

def _sqlite_store(tmp_path) -> Store:  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path}/t.db")
    store.upgrade()
    return store


@pytest.fixture
def sqlite_store(request, tmp_path) -> Iterator[Store]:  # type: ignore[no-untyped-def]
    """SQLite, or PostgreSQL in the second CI pass (make test-postgres)."""
    if os.environ.get("BATTERYLOOP_TEST_STORE") == "postgresql":
        yield request.getfixturevalue("pg_store")
        return
    store = _sqlite_store(tmp_path)
    yield store
    store.dispose()


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[Store]:
    url = make_url(postgres_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    name = f"bl_trace_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    store = Store(url.set(database=name).render_as_string(hide_password=False))
    store.upgrade()
    try:
        yield store
    finally:
        store.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request) -> Store:  # type: ignore[no-untyped-def]
    return request.getfixturevalue("sqlite_store" if request.param == "sqlite" else "pg_store")


@pytest.fixture
def signers() -> dict[str, Signer]:
    """A deterministic Ed25519 key per participant of the pilot and of the generated supply chain."""
    return demo_signers()


@pytest.fixture
def registry(store: Store, signers: dict[str, Signer]) -> ParticipantService:
    """The participants registered with their public keys (the market surveillance authority without one)."""
    svc = ParticipantService(store)
    for p in all_participants():
        key = None if p["id"] == pilot.AUTHORITY else signers[p["id"]].public_key_text
        svc.create({**p, "public_key": key})
    return svc


@pytest.fixture
def ledger(store: Store, registry: ParticipantService) -> Ledger:
    return Ledger(store)
