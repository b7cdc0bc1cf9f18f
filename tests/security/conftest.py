"""The attack suite's target: ``batteryloop demo`` (a small pilot) then ``batteryloop serve``, as subprocesses.

The demo's participants are the attackers and the positive controls: their tokens from
``var/demo-tokens.json``, their signing keys from ``var/keys`` (the demo's node holds them). Every
attack in this folder runs against that real server over HTTP.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from batteryloop.trace.keystore import KeyStore
from tests.e2e.browser import free_port, serve, server_env

ADMIN_TOKEN = "attack-suite-admin-token"


@dataclass
class Target:
    base: str
    tokens: dict[str, str]  # participant id -> bearer token
    keys: KeyStore
    env: dict[str, str]
    db_url: str

    def client(self, who: str | None = None, **kw: Any) -> httpx.Client:
        headers = {}
        if who == "admin":
            headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        elif who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return httpx.Client(base_url=self.base, headers=headers, timeout=60, **kw)

    def sign(self, who: str, event: dict[str, Any]) -> dict[str, Any]:
        """``event`` signed by ``who``'s key (``prev`` must be set)."""
        from batteryloop.trace.events import seal

        signer = self.keys.signer(who)
        assert signer is not None, f"the demo node holds no key of {who}"
        return seal(event, signer).to_wire()


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("attack")
    port = free_port()
    env = server_env(tmp, port, "attack.db", BATTERYLOOP_ADMIN_TOKEN=ADMIN_TOKEN,
                     BATTERYLOOP_RATE_LIMIT_PER_MINUTE="6000")
    subprocess.run([sys.executable, "-m", "batteryloop.cli", "demo", "--packs", "60", "--years", "3",
                    "--seed", "11", "--no-serve", "--no-dataspace"],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    tokens = {pid: v["token"] for pid, v in orjson.loads((tmp / "demo-tokens.json").read_bytes()).items()}
    with serve(env, port) as base:
        yield Target(base, tokens, KeyStore(tmp / "keys"), env, env["BATTERYLOOP_DATABASE_URL"])


def register(services: Any, roles: dict[str, list[str]], label: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Register participants (id → roles) with a deterministic Ed25519 key each and a token; (signers, tokens)."""
    from batteryloop.trace.keys import Signer, public_key_text

    keys = {p: Signer.from_seed(p, p.encode().ljust(32, b"k")[:32]) for p in roles}
    tokens = {}
    for p, r in roles.items():
        services.participants.create({"id": p, "name": p, "country": "DE", "roles": r,
                                      "public_key": public_key_text(keys[p].private_key.public_key())})
        tokens[p] = services.participants.issue_token(p, label)
    return keys, tokens


def custody_of(target: Target, pack: str) -> dict[str, Any]:
    with target.client("admin") as c:
        r = c.get(f"/api/v1/trace/packs/{pack}/custody")
        assert r.status_code == 200, r.text
        return r.json()


def holder_of(target: Target, pack: str) -> str:
    return custody_of(target, pack)["current"]["holder"]


def in_use_pack(target: Target, holder: str | None = None) -> str:
    """A pack in a vehicle (custody status in_use), held by ``holder`` if given."""
    from sqlalchemy import create_engine, text

    eng = create_engine(target.db_url)
    with eng.connect() as conn:
        q = "SELECT c.subject FROM trace_custody c JOIN passports p ON p.id = c.subject " \
            "WHERE c.status = 'in_use' AND p.status = 'original' AND p.archived = 0"
        params: dict[str, Any] = {}
        if holder:
            q += " AND c.holder = :h"
            params["h"] = holder
        row = conn.execute(text(q + " ORDER BY c.subject LIMIT 1"), params).first()
    eng.dispose()
    assert row is not None, f"the demo has no pack in use held by {holder}"
    return row[0]


