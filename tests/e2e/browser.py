"""What the browser tests share: Debian's Chromium (never a downloaded browser), a free port, and
``batteryloop serve`` on a store as a subprocess."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def require_chromium() -> None:
    """Skip without Chromium — or fail, where CI says the browser tests must run."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("BATTERYLOOP_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required here (apt-get install chromium)")
        pytest.skip("no Chromium on this machine")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(tmp: Path, port: int, db: str, **extra: str) -> dict[str, str]:
    """The environment of a CLI run on ``tmp/db`` (SQLite) whose web links point at ``port``."""
    return {**os.environ, "BATTERYLOOP_DATABASE_URL": f"sqlite:///{tmp}/{db}", "BATTERYLOOP_VAR_DIR": str(tmp),
            "BATTERYLOOP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", **extra}


@contextmanager
def serve(env: Mapping[str, str], port: int) -> Iterator[str]:
    """``batteryloop serve`` with ``env`` on ``port`` until the block ends; yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "batteryloop.cli", "serve", "--port", str(port)], env=dict(env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/api/v1/health", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("batteryloop serve did not come up")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$BATTERYLOOP_ARTIFACTS_DIR``, else a temporary directory."""
    given = os.environ.get("BATTERYLOOP_ARTIFACTS_DIR")
    d = Path(given) if given else tmp_path_factory.mktemp("artifacts")
    d.mkdir(parents=True, exist_ok=True)
    return d
