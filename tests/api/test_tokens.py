"""API token lifecycle: issue (with a TTL), expiry, listing without secrets, revocation that takes effect at
once, who may manage whose tokens, the CLI commands, and the migration that gives old tokens an expiry."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from batteryloop.sim import pilot
from batteryloop.store.tables import api_tokens

ADMIN = {"Authorization": "Bearer admin-secret-token"}
OPERATOR, RECYCLER = pilot.AUTOMAKER, pilot.RECYCLER_EU


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Clock:
    """A settable now, for the participant service."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(client: Any) -> Clock:
    c = Clock()
    client.services.participants.clock = c
    return c


def issue(client: Any, pid: str, auth: dict[str, str], **body: Any) -> Any:
    return client.post(f"/api/v1/participants/{pid}/tokens", json=body, headers=auth)


def test_issue_with_default_and_explicit_ttl(client: Any, clock: Clock) -> None:
    r = issue(client, RECYCLER, bearer(client.tokens[RECYCLER]), label="laptop")
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["token"].startswith("blt_") and t["label"] == "laptop" and isinstance(t["id"], int)
    created = datetime.fromisoformat(t["created_at"])
    assert datetime.fromisoformat(t["expires_at"]) - created == timedelta(days=90)  # the default setting
    short = issue(client, RECYCLER, bearer(client.tokens[RECYCLER]), ttl_days=7).json()
    life = datetime.fromisoformat(short["expires_at"]) - datetime.fromisoformat(short["created_at"])
    assert life == timedelta(days=7)
    assert client.get("/api/v1/me", headers=bearer(short["token"])).json()["id"] == RECYCLER


def test_expired_token_refused_with_its_date(client: Any, clock: Clock) -> None:
    t = issue(client, RECYCLER, ADMIN, ttl_days=1).json()
    assert client.get("/api/v1/me", headers=bearer(t["token"])).status_code == 200  # now cached as valid
    clock.now += timedelta(days=1, seconds=1)
    r = client.get("/api/v1/me", headers=bearer(t["token"]))
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert f"expired on {t['expires_at'][:10]}" in r.json()["detail"], r.json()
    listed = {x["id"]: x for x in client.get(f"/api/v1/participants/{RECYCLER}/tokens", headers=ADMIN).json()}
    assert listed[t["id"]]["state"] == "expired"


def test_ttl_seconds_through_the_service(client: Any) -> None:
    ids = client.services.participants
    token = ids.issue_token(RECYCLER, "short", ttl=timedelta(seconds=-1))  # already past its end
    assert ids.authenticate(token) is None and ids.refusal(token).startswith("expired on ")


def test_unknown_token_says_unknown(client: Any) -> None:
    r = client.get("/api/v1/me", headers=bearer("blt_not-a-token"))
    assert r.status_code == 401 and "bearer token is unknown" in r.json()["detail"]


def test_revocation_takes_effect_at_once(client: Any) -> None:
    t = issue(client, RECYCLER, ADMIN, label="ci").json()
    assert client.get("/api/v1/me", headers=bearer(t["token"])).status_code == 200  # cached as valid
    r = client.delete(f"/api/v1/participants/{RECYCLER}/tokens/{t['id']}", headers=bearer(t["token"]))
    assert r.status_code == 200 and r.json()["state"] == "revoked" and r.json()["revoked_at"]
    revoked_at = r.json()["revoked_at"]
    r = client.get("/api/v1/me", headers=bearer(t["token"]))  # the very next request, within the cache time
    assert r.status_code == 401 and f"was revoked on {revoked_at[:10]}" in r.json()["detail"]
    # revoking again changes nothing; the participant's other tokens still work
    again = client.delete(f"/api/v1/participants/{RECYCLER}/tokens/{t['id']}", headers=ADMIN).json()
    assert again["revoked_at"] == revoked_at
    assert client.get("/api/v1/me", headers=bearer(client.tokens[RECYCLER])).status_code == 200


def test_revoke_all_of_a_participants_tokens(client: Any) -> None:
    extra = issue(client, RECYCLER, ADMIN).json()["token"]
    r = client.delete(f"/api/v1/participants/{RECYCLER}/tokens", headers=ADMIN)
    assert r.status_code == 200 and r.json()["revoked"] == 2
    for token in (extra, client.tokens[RECYCLER]):
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(client.tokens[OPERATOR])).status_code == 200


def test_listing_shows_no_secret(client: Any) -> None:
    t = issue(client, RECYCLER, ADMIN, label="listed").json()
    r = client.get(f"/api/v1/participants/{RECYCLER}/tokens", headers=bearer(client.tokens[RECYCLER]))
    assert r.status_code == 200
    rows = r.json()
    assert {x["label"] for x in rows} >= {"test", "listed"}
    assert set(rows[0]) == {"id", "participant_id", "label", "created_at", "expires_at", "revoked_at", "last_used_at",
                            "state"}
    digest = hashlib.sha256(t["token"].encode()).hexdigest()
    assert t["token"] not in r.text and digest not in r.text
    # at rest: only the hash
    with client.services.store.read() as conn:
        stored = conn.execute(select(api_tokens.c.token_hash).where(api_tokens.c.id == t["id"])).scalar_one()
    assert stored == digest


def test_a_participant_manages_only_its_own_tokens(client: Any) -> None:
    mine = bearer(client.tokens[RECYCLER])
    theirs = client.get(f"/api/v1/participants/{OPERATOR}/tokens", headers=ADMIN).json()
    assert client.get(f"/api/v1/participants/{OPERATOR}/tokens", headers=mine).status_code == 403
    assert client.delete(f"/api/v1/participants/{OPERATOR}/tokens/{theirs[0]['id']}", headers=mine).status_code == 403
    assert client.delete(f"/api/v1/participants/{OPERATOR}/tokens", headers=mine).status_code == 403
    assert issue(client, OPERATOR, mine).status_code == 403
    # another's token id under one's own path: not found, and the other's token still works
    r = client.delete(f"/api/v1/participants/{RECYCLER}/tokens/{theirs[0]['id']}", headers=mine)
    assert r.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(client.tokens[OPERATOR])).status_code == 200
    assert client.get(f"/api/v1/participants/{OPERATOR}/tokens").status_code == 401  # anonymous


def test_only_the_admin_issues_long_or_unlimited_tokens(client: Any) -> None:
    mine = bearer(client.tokens[RECYCLER])
    for ttl in (0, 91):
        r = issue(client, RECYCLER, mine, ttl_days=ttl)
        assert r.status_code == 403 and "at most 90 days" in r.json()["detail"]
    assert issue(client, RECYCLER, mine, ttl_days=90).status_code == 201
    forever = issue(client, RECYCLER, ADMIN, ttl_days=0).json()
    assert forever["expires_at"] is None
    assert issue(client, RECYCLER, ADMIN, ttl_days=3650).status_code == 201
    assert issue(client, RECYCLER, ADMIN, ttl_days=-1).status_code == 422


def test_last_used_is_written_at_most_hourly(client: Any, clock: Clock) -> None:
    ids = client.services.participants
    ids._cache_seconds = 0  # every request reads the token's row
    t = issue(client, RECYCLER, ADMIN).json()

    def last_used() -> str | None:
        rows = client.get(f"/api/v1/participants/{RECYCLER}/tokens", headers=ADMIN).json()
        return next(x["last_used_at"] for x in rows if x["id"] == t["id"])

    assert last_used() is None
    client.get("/api/v1/me", headers=bearer(t["token"]))
    first = last_used()
    assert first is not None
    clock.now += timedelta(minutes=30)
    client.get("/api/v1/me", headers=bearer(t["token"]))
    assert last_used() == first
    clock.now += timedelta(minutes=31)
    client.get("/api/v1/me", headers=bearer(t["token"]))
    assert last_used() > first  # type: ignore[operator]


def test_migration_gives_old_tokens_an_expiry(tmp_path: Path) -> None:
    from sqlalchemy import text

    from batteryloop.store.db import Store
    from batteryloop.store.migrate import upgrade

    store = Store(f"sqlite:///{tmp_path}/old.db")
    upgrade(store, "0005")
    with store.write() as conn:
        conn.execute(text("INSERT INTO participants VALUES ('BPNL000000000OLD', 'bpnl', 'Old', 'DE', '[\"recycler\"]', "
                          "NULL, '2020-01-01T00:00:00.000000Z')"))
        for h, revoked in (("a" * 64, None), ("b" * 64, "2021-01-01T00:00:00.000000Z")):
            conn.execute(text("INSERT INTO api_tokens (participant_id, token_hash, label, created_at, revoked_at) "
                              "VALUES ('BPNL000000000OLD', :h, 'old', '2020-01-01T00:00:00.000000Z', :r)"),
                         {"h": h, "r": revoked})
    upgrade(store, "0006")
    with store.read() as conn:
        rows = dict(conn.execute(text("SELECT token_hash, expires_at FROM api_tokens")).all())
    store.dispose()
    assert rows["b" * 64] is None  # revoked already
    assert datetime.fromisoformat(rows["a" * 64]) - datetime.now(UTC) > timedelta(days=89)


# ------------------------------------------------------------------------------------------- CLI
def cli(tmp: Path, *args: str) -> Any:
    from typer.testing import CliRunner

    from batteryloop.cli import app

    env = {"BATTERYLOOP_DATABASE_URL": f"sqlite:///{tmp}/cli.db", "BATTERYLOOP_VAR_DIR": str(tmp / "var")}
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def test_cli_token_commands(tmp_path: Path) -> None:
    pid = "BPNL000000000CLI"
    r = cli(tmp_path, "participant", "add", pid, "CLI Recycling", "DE", "--role", "recycler")
    assert r.exit_code == 0, r.stderr
    first = json.loads(r.stdout)["token"]
    r = cli(tmp_path, "participant", "token", pid, "--label", "forever", "--ttl-days", "0")
    assert r.exit_code == 0 and r.stdout.strip().startswith("blt_") and "expires never" in r.stderr
    r = cli(tmp_path, "participant", "token", pid, "--ttl-days", "3")
    assert r.exit_code == 0 and "expires 20" in r.stderr
    rows = json.loads(cli(tmp_path, "participant", "tokens", pid).stdout)
    assert [x["label"] for x in rows] == ["cli", "forever", "cli"] and all(x["state"] == "active" for x in rows)
    assert rows[1]["expires_at"] is None and first not in json.dumps(rows)
    r = cli(tmp_path, "participant", "revoke-token", pid, str(rows[2]["id"]))
    assert r.exit_code == 0 and json.loads(r.stdout)["state"] == "revoked"
    r = cli(tmp_path, "participant", "revoke-token", pid, "9999")
    assert r.exit_code == 2 and "has no token 9999" in r.stderr
    assert cli(tmp_path, "participant", "revoke-token", pid).exit_code == 2  # neither an id nor --all
    r = cli(tmp_path, "participant", "revoke-token", pid, "--all")
    assert r.exit_code == 0 and "revoked 2 tokens" in r.stderr
    rows = json.loads(cli(tmp_path, "participant", "tokens", pid).stdout)
    assert {x["state"] for x in rows} == {"revoked"}
    for cmd in ("tokens", "revoke-token", "token"):
        assert cli(tmp_path, "participant", cmd, "--help").exit_code == 0


def test_the_sign_in_page_says_why_a_token_is_refused(client: Any) -> None:
    from batteryloop.sim import pilot

    token = client.tokens[pilot.REPAIRER]
    tid = client.services.participants.tokens(pilot.REPAIRER)[0]["id"]
    client.services.participants.revoke_token(pilot.REPAIRER, tid)
    r = client.post("/login", data={"token": token, "next": "/"}, follow_redirects=False)
    assert r.status_code == 401 and "was revoked on" in r.text
    r = client.post("/login", data={"token": "blt_never-issued", "next": "/"}, follow_redirects=False)
    assert r.status_code == 401 and "is unknown" in r.text
