"""Kill the server with SIGKILL mid-stream: every acknowledged write survives, no batch is half-applied,
and every version chain verifies after restart."""

from __future__ import annotations

import json
import os
import signal
import socket
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
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "batteryloop.api.app:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)
    for _ in range(150):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


@pytest.mark.slow
def test_sigkill_mid_stream_loses_no_acknowledged_write(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    admin = {"Authorization": "Bearer crash-admin"}
    proc = _start(db, port)
    try:
        with httpx.Client(base_url=base, timeout=10) as c:
            for p in pilot.PARTICIPANTS[:1]:
                assert c.post("/api/v1/participants", json=p, headers=admin).status_code == 201
            tok = c.post(f"/api/v1/participants/{pilot.AUTOMAKER}/tokens", json={}, headers=admin).json()["token"]
            op = {"Authorization": f"Bearer {tok}"}
            for m in pilot.battery_models():
                assert c.post("/api/v1/models", json=m, headers=op).status_code == 201
        records = list(pilot.generate_batteries(2000, seed=99))
        batch_records = list(pilot.generate_batteries(30_000, seed=98))
        acked_single: list[str] = []
        acked_batches: list[list[str]] = []
        sent_batches: list[list[str]] = []
        acked_updates: list[tuple[str, int]] = []
        stop = threading.Event()

        def singles() -> None:
            with httpx.Client(base_url=base, timeout=10) as c:
                for rec in records[:2000]:
                    if stop.is_set():
                        return
                    try:
                        r = c.post("/api/v1/passports", json=rec, headers=op)
                    except httpx.HTTPError:
                        return
                    if r.status_code == 201:
                        pid = r.json()["passport_id"]
                        acked_single.append(pid)
                        u = c.patch(f"/api/v1/passports/{pid}", json={"usage": {"deep_discharge_events": 7}},
                                    headers=op, params={"reason": "crash-test"}) if len(acked_single) % 3 == 0 else None
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

        threads = [threading.Thread(target=singles), threading.Thread(target=batches)]
        for t in threads:
            t.start()
        deadline = time.time() + 30
        while (len(acked_single) < 100 or len(acked_batches) < 5) and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # mid-stream, no shutdown of any kind
        proc.wait(10)
        stop.set()
        for t in threads:
            t.join(30)
        assert len(acked_single) >= 100 and len(acked_batches) >= 5, "the stream did not get going"
        assert len(sent_batches) < 300, "the batches were all done before the kill: not mid-stream"
    finally:
        if proc.poll() is None:
            proc.kill()

    proc = _start(db, port)
    try:
        with httpx.Client(base_url=base, timeout=10) as c:
            for pid in acked_single:
                r = c.get(f"/api/v1/passports/{pid}")
                assert r.status_code == 200, f"acknowledged passport {pid} lost"
            for pid, version in acked_updates:
                assert c.get(f"/api/v1/passports/{pid}").json()["version"] >= version
            for ids in sent_batches:
                present = [c.get(f"/api/v1/passports/{pid}").status_code == 200 for pid in ids]
                assert all(present) or not any(present), "a batch was half-applied"
                if ids in acked_batches:
                    assert all(present), "an acknowledged batch was lost"
            for pid in acked_single[:: max(1, len(acked_single) // 50)]:
                assert c.get(f"/api/v1/passports/{pid}/verify").json()["ok"]
            stats = c.get("/api/v1/stats").json()
            assert stats["passports"] >= len(acked_single) + 100 * len(acked_batches)
    finally:
        proc.kill()
        proc.wait(10)
    print(json.dumps({"acked_single": len(acked_single), "acked_batches": len(acked_batches),
                      "updates": len(acked_updates)}))
