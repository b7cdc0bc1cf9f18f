"""What the browser tests share: Debian's Chromium (never a downloaded browser), a free port,
``batteryloop serve`` on a store as a subprocess, and the steps several pages' tests take (sign in, watch for
errors, wait for a chart, check a table's CSV download against the rows shown)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


#: the rows a table shows, as a list of rows of cell texts (its first header row, its body and foot rows)
DOM_ROWS = """t => [...t.querySelectorAll(':scope > thead > tr:first-child, :scope > tbody > tr, :scope > tfoot > tr')]
  .map(tr => [...tr.children].filter(c => c.tagName === 'TD' || c.tagName === 'TH')
  .map(c => c.innerText.replace(/\\s+/g, ' ').trim()))"""


def sign_in(page: Any, base: str, token: str, path: str) -> None:
    """Sign in on the login page with ``token`` the way a reader does, and land on ``path``."""
    page.goto(f"{base}/login?next={path}")
    page.fill("input[name=token]", token)
    page.click("form button[type=submit]")
    page.wait_for_url(base + path)


def watch(page: Any) -> list[str]:
    """The page's console errors, uncaught exceptions and answers of 400 or more, as they happen."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    return errors


def drawn(page: Any, fid: str) -> None:
    """Wait until the Plotly chart ``#fid`` is drawn, and check it has data."""
    chart = page.locator(f"#{fid}")
    chart.locator("svg.main-svg").first.wait_for(state="attached", timeout=15_000)
    assert chart.evaluate("el => (el.data || []).length") > 0, fid


def csv_download_is_the_table(page: Any, table_id: str, save_as: Path) -> Any:
    """Click the "CSV" link of table ``#table_id`` and check that the file downloaded holds the rows the page
    shows (:data:`DOM_ROWS`); returns the download (its ``suggested_filename`` and the rest)."""
    shown = page.locator(f"#{table_id}").evaluate(DOM_ROWS)
    with page.expect_download() as dl:
        page.click(f"a[data-table='{table_id}'][data-format='csv']")
    dl.value.save_as(save_as)
    assert list(csv.reader(io.StringIO(save_as.read_text(encoding="utf-8")))) == shown
    return dl.value
