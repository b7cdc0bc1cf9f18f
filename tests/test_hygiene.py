"""Test hygiene: collecting the suite creates nothing (no database, no folder, no file) — fixtures do that
when a test runs, and remove it afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_collecting_the_suite_creates_nothing(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), BATTERYLOOP_VAR_DIR=str(tmp_path / "var-should-not-exist"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "-p", "no:randomly", "tests"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "tests collected" in proc.stdout or " collected" in proc.stdout, proc.stdout[-500:]
    left = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))
    assert left == [], f"collection created {left[:20]}"
    assert not (tmp_path / "var-should-not-exist").exists()
