"""Kill the server with SIGKILL mid-stream: every acknowledged write survives, no batch is half-applied,
and every version chain verifies after restart."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from batteryloop.sim import pilot


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(db: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BATTERYLOOP_DATABASE_URL": f"sqlite:///{db}", "BATTERYLOOP_ADMIN_TOKEN": "crash-admin",
           "BATTERYLOOP_RATE_LIMIT_PER_MINUTE": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "batteryloop.server:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)
    for _ in range(150):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


KILLS = int(os.environ.get("BATTERYLOOP_CRASH_KILLS", "1"))  # bench/crash_kills.py sets 20


def _setup(base: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Participants (the automaker with a token; the supply chain's actors with their public keys) and models;
    returns the operator's headers and signed ledger batches to stream (a generated supply chain, 50 a batch)."""
    from batteryloop.sim.supply_chain import all_participants, demo_signers, supply_chain

    admin = {"Authorization": "Bearer crash-admin"}
    signers = demo_signers()
    with httpx.Client(base_url=base, timeout=10) as c:
        for p in all_participants():
            body = {**p, "public_key": signers[p["id"]].public_key_text}
            assert c.post("/api/v1/participants", json=body, headers=admin).status_code == 201
        tok = c.post(f"/api/v1/participants/{pilot.AUTOMAKER}/tokens", json={}, headers=admin).json()["token"]
        op = {"Authorization": f"Bearer {tok}"}
        for m in pilot.battery_models():
            assert c.post("/api/v1/models", json=m, headers=op).status_code == 201
    events = list(supply_chain(600 if KILLS == 1 else 250 * KILLS, seed=97, signers=signers))
    return op, [events[i:i + 50] for i in range(0, len(events), 50)]


@pytest.mark.slow
def test_sigkill_mid_stream_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """Passports (single and in batches), passport updates and signed ledger batches stream into the server;
    it is SIGKILLed mid-stream, restarted, checked — ``KILLS`` times on the same store."""
    db = tmp_path / "crash.db"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    admin = {"Authorization": "Bearer crash-admin"}
    proc = _start(db, port)
    op, ledger_batches = _setup(base)
    acked_single: list[str] = []
    acked_batches: list[list[str]] = []
    sent_batches: list[list[str]] = []
    acked_updates: list[tuple[str, int]] = []
    acked_events: list[list[str]] = []
    sent_events: list[list[str]] = []
    next_event_batch = 0
    for kill in range(KILLS):
        if kill:
            proc = _start(db, port)
        records = list(pilot.generate_batteries(2000, seed=1000 + kill))
        batch_records = list(pilot.generate_batteries(30_000, seed=2000 + kill))
        stop = threading.Event()
        n_single, n_batches, n_events = len(acked_single), len(acked_batches), len(acked_events)

        def singles() -> None:
            with httpx.Client(base_url=base, timeout=10) as c:
                for rec in records:
                    if stop.is_set():
                        return
                    try:
                        r = c.post("/api/v1/passports", json=rec, headers=op)
                    except httpx.HTTPError:
                        return
                    if r.status_code == 201:
                        pid = r.json()["passport_id"]
                        acked_single.append(pid)
                        try:
                            u = c.patch(f"/api/v1/passports/{pid}", json={"usage": {"deep_discharge_events": 7}},
                                        headers=op, params={"reason": "crash-test"}) if len(acked_single) % 3 == 0 else None
                        except httpx.HTTPError:
                            return
                        if u is not None and u.status_code == 200:
                            acked_updates.append((pid, u.json()["version"]))

        def batches() -> None:
            with httpx.Client(base_url=base, timeout=30) as c:
                for i in range(0, len(batch_records), 100):
                    if stop.is_set():
                        return
                    chunk = batch_records[i:i + 100]
                    ids = [f"BL.{pilot.AUTOMAKER}.{r['serial_number']}" for r in chunk]
                    sent_batches.append(ids)
                    try:
                        r = c.post("/api/v1/passports/batch", json={"passports": chunk}, headers=op)
                    except httpx.HTTPError:
                        return
                    if r.status_code == 201:
                        acked_batches.append(ids)

        def ledger() -> None:
            nonlocal next_event_batch
            with httpx.Client(base_url=base, timeout=30) as c:
                while next_event_batch < len(ledger_batches) and not stop.is_set():
                    evs = ledger_batches[next_event_batch]
                    ids = [e["id"] for e in evs]
                    sent_events.append(ids)
                    try:
                        r = c.post("/api/v1/trace/batches", content=json.dumps(evs), headers=admin)
                    except httpx.HTTPError:
                        return
                    if r.status_code != 201:
                        return
                    acked_events.append(ids)
                    next_event_batch += 1
                    time.sleep(0.2)  # paced, so that every round has ledger batches in flight when it is killed

        threads = [threading.Thread(target=f) for f in (singles, batches, ledger)]
        for t in threads:
            t.start()
        deadline = time.time() + 30
        while (len(acked_single) < n_single + 50 or len(acked_batches) < n_batches + 3
               or (len(acked_events) < n_events + 2 and next_event_batch < len(ledger_batches))) \
                and time.time() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # mid-stream, no shutdown of any kind
        proc.wait(10)
        stop.set()
        for t in threads:
            t.join(30)
        assert len(acked_single) >= n_single + 50 and len(acked_batches) >= n_batches + 3, "the stream did not get going"
        # restart and check everything acknowledged so far, in every round
        proc = _start(db, port)
        try:
            # what the restarted server's store holds (read in bulk from its file), then spot checks over HTTP
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                stored = {r[0]: r[1] for r in conn.execute("SELECT id, version FROM passports")}
                stored_events = {r[0] for r in conn.execute("SELECT id FROM trace_events")}
            lost = [pid for pid in acked_single if pid not in stored]
            assert not lost, f"acknowledged passports lost after kill {kill + 1}: {lost[:5]}"
            assert all(stored[pid] >= version for pid, version in acked_updates), "an acknowledged update was lost"
            acked_b = {tuple(ids) for ids in acked_batches}
            for ids in sent_batches:
                present = [pid in stored for pid in ids]
                assert all(present) or not any(present), "a batch was half-applied"
                if tuple(ids) in acked_b:
                    assert all(present), "an acknowledged batch was lost"
            acked_e = {tuple(ids) for ids in acked_events}
            for ids in sent_events:
                present = [e in stored_events for e in ids]
                assert all(present) or not any(present), "a ledger batch was half-applied"
                if tuple(ids) in acked_e:
                    assert all(present), "an acknowledged ledger batch was lost"
            # a sent-but-unacknowledged ledger batch that did commit is not sent again
            while next_event_batch < len(ledger_batches) and ledger_batches[next_event_batch][0]["id"] in stored_events:
                next_event_batch += 1
            with httpx.Client(base_url=base, timeout=10) as c:
                for pid in acked_single[-20:] + [b[0] for b in acked_batches[-5:]]:
                    assert c.get(f"/api/v1/passports/{pid}").status_code == 200
                for pid in acked_single[:: max(1, len(acked_single) // 50)]:
                    assert c.get(f"/api/v1/passports/{pid}/verify").json()["ok"]
                led = c.get("/api/v1/trace/verify", headers=admin).json()
                assert led["ok"], led
                stats = c.get("/api/v1/stats").json()
                assert stats["passports"] >= len(acked_single) + 100 * len(acked_batches)
        finally:
            proc.kill()
            proc.wait(10)
    print(json.dumps({"kills": KILLS, "acked_single": len(acked_single), "acked_batches": len(acked_batches),
                      "acked_passports": len(acked_single) + 100 * len(acked_batches), "updates": len(acked_updates),
                      "acked_ledger_events": sum(map(len, acked_events)), "lost": 0}))
