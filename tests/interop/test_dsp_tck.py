"""The Eclipse Dataspace TCK (DSP 2025-1) against a batteryloop node (docs/exchange.md, "The Dataspace TCK").

The TCK is resolved from Maven Central by ``interop/dsp-tck/pom.xml`` into ``var/m2`` (``make test`` does it
first; this test does it too when the class path is missing) and run by the one-file launcher
``RunDspTck.java`` on the JDK; the node under test runs in this process, in DSP TCK mode
(``exchange/tck.py``). The per-test results are printed per module and compared with the known failures
that docs/exchange.md lists with their reasons: a new failure fails the test, and so does a listed failure
that now passes (the list must then shrink).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from batteryloop.exchange import edc, tck
from batteryloop.exchange.config import NodeConfig
from batteryloop.exchange.node import Node
from batteryloop.exchange.runtime import ThreadedNode, reserve_port
from tests.interop.conftest import java_and_maven

ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR = ROOT / "interop" / "dsp-tck"
LAUNCHER = MODULE_DIR / "src" / "main" / "java" / "org" / "batteryloop" / "interop" / "tck" / "RunDspTck.java"
CLASSPATH = ROOT / "var" / "dsp-tck" / "classpath.txt"
DOC = ROOT / "docs" / "exchange.md"
AUTH = "Bearer tck-conformance-run"
MODULES = {"MET": "metadata", "CAT": "catalog", "CN": "contract negotiation (provider)",
           "CN_C": "contract negotiation (consumer)", "TP": "transfer process (provider)",
           "TP_C": "transfer process (consumer)"}

pytestmark = pytest.mark.slow


def known_failures() -> dict[str, str]:
    """TCK test id -> reason, from the table under "Known TCK failures" in docs/exchange.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("#### Known TCK failures", 1)[1].split("\n#", 1)[0] if "#### Known TCK failures" in text else ""
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^\| `([A-Z_]+:\d\d-\d\d)` \| (.+?) \|$", section, re.M)}


def tck_id(display_name: str) -> str:
    return display_name.split(":", 2)[0] + ":" + display_name.split(":", 2)[1] if display_name.count(":") >= 2 else display_name


def run_tck(java: str, cp: str, props: dict[str, str], workdir: Path, target: str) -> list[tuple[str, str, str]]:
    """(status, test id, message) of each TCK test of ``target`` (a package or a test class)."""
    prop_file, results = workdir / "tck.properties", workdir / f"results-{target.rsplit('.', 1)[-1]}.tsv"
    prop_file.write_text("".join(f"{k}={v}\n".replace("\\", "\\\\") for k, v in props.items()), encoding="utf-8")
    log = workdir / "tck.log"
    with log.open("a") as out:
        subprocess.run([java, "-cp", cp, str(LAUNCHER), str(prop_file), str(results), target], stdout=out,
                       stderr=subprocess.STDOUT, timeout=900, check=True)
    rows = []
    for line in results.read_text(encoding="utf-8").splitlines():
        status, cls, name, message = (line.split("\t") + ["", "", "", ""])[:4]
        if name.count(":") >= 2:  # a test (a failed class has only its class name)
            rows.append((status, tck_id(name), message))
        elif status != "SUCCESSFUL":
            rows.append((status, cls or name, message))
    return rows


def test_dsp_tck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, record_property: Any) -> None:
    java, mvn = java_and_maven("the DSP TCK")
    cp = edc.resolve_classpath(mvn, MODULE_DIR / "pom.xml", CLASSPATH)
    monkeypatch.setenv(tck.ENV, "1")
    sock = reserve_port()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    tck_sock = reserve_port()
    tck_port = tck_sock.getsockname()[1]
    tck_sock.close()  # the TCK's callback server binds it
    cfg = NodeConfig.model_validate(tck.node_config("tck-cut", url, f"sqlite:///{tmp_path}/cut.db", AUTH))
    server = ThreadedNode(Node(cfg), sock)
    props = tck.properties(url, f"http://127.0.0.1:{tck_port}", tck_port, AUTH)
    started = time.monotonic()
    try:
        rows = run_tck(java, cp, props, tmp_path, "org.eclipse.dataspacetck.dsp.verification")
        # the TCK's scenarios are timing-sensitive (they wait 20 s for our messages; a loaded CI machine can be
        # slower — seen at a load average of 13–22: "Timeout waiting for state to transition to AGREED"): a test
        # class with failures is run again, up to twice, and its last result counts — printed below
        retried: list[str] = []
        for _ in range(2):
            failed_classes = {r[1].rsplit("-", 1)[0] for r in rows if r[0] == "FAILED"}
            for group in sorted(failed_classes):
                cls = _class_of(group)
                if cls is None:
                    continue
                again = {r[1]: r for r in run_tck(java, cp, props, tmp_path, cls)}
                retried += [r[1] for r in rows
                            if r[0] == "FAILED" and r[1] in again and again[r[1]][0] == "SUCCESSFUL"]
                rows = [again.get(r[1], r) for r in rows]
    finally:
        server.stop()
    elapsed = time.monotonic() - started
    counts: dict[str, Counter[str]] = {}
    for status, tid, _ in rows:
        counts.setdefault(MODULES.get(tid.split(":")[0], "other"), Counter())[status] += 1
    failed = {tid: msg for status, tid, msg in rows if status == "FAILED"}
    lines = [f"Eclipse Dataspace TCK (DSP {tck_version()}) against a batteryloop node, {elapsed:.0f} s:"]
    for module, c in counts.items():
        lines.append(f"  {module:34s} {c['SUCCESSFUL']:3d} passed, {c['FAILED']:2d} failed, {c['SKIPPED']:2d} skipped by the TCK")
    lines += [f"  FAILED {tid}: {msg[:300]}" for tid, msg in sorted(failed.items())]
    if retried:
        lines.append(f"  passed when run again: {', '.join(sorted(retried))}")
    record_property("summary", "\n".join(lines))  # printed at the end of the run (tests/conftest.py)
    assert sum(c["SUCCESSFUL"] for c in counts.values()) >= 60, counts
    known = known_failures()
    assert set(failed) == set(known), (
        f"TCK failures not listed in docs/exchange.md: {sorted(set(failed) - set(known))}; "
        f"listed but passing now: {sorted(set(known) - set(failed))}")


def _class_of(group: str) -> str | None:
    """The TCK test class of a test id's group (``CN_C:03-01`` -> ContractNegotiationConsumer03Test)."""
    m = re.fullmatch(r"(MET|CAT|CN|CN_C|TP|TP_C):(\d\d)", group)
    if m is None:
        return None
    kind, num = m.group(1), m.group(2)
    base = "org.eclipse.dataspacetck.dsp.verification."
    return {"MET": f"{base}metadata.Metadata{num}Test", "CAT": f"{base}catalog.Catalog{num}Test",
            "CN": f"{base}cn.ContractNegotiationProvider{num}Test", "CN_C": f"{base}cn.ContractNegotiationConsumer{num}Test",
            "TP": f"{base}tp.TransferProcessProvider{num}Test", "TP_C": f"{base}tp.TransferProcessConsumer{num}Test"}[kind]


def tck_version() -> str:
    m = re.search(r"<dsp\.tck\.version>(.+?)</dsp\.tck\.version>", (MODULE_DIR / "pom.xml").read_text())
    return m.group(1) if m else "?"


def test_tck_mode_is_off_without_the_environment_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A node config with a ``tck`` section does not start unless BATTERYLOOP_DSP_TCK=1: the TCK's fixed
    Authorization header never stands for a presentation on a production node."""
    monkeypatch.delenv(tck.ENV, raising=False)
    cfg = NodeConfig.model_validate(tck.node_config("x", "http://127.0.0.1:9", f"sqlite:///{tmp_path}/x.db", AUTH))
    with pytest.raises(RuntimeError, match=tck.ENV):
        Node(cfg)
    plain = Node(NodeConfig.model_validate({**cfg.model_dump(), "tck": None}))
    try:
        assert plain.tck is None
        from batteryloop.exchange.errors import CredentialError

        with pytest.raises(CredentialError):
            plain.authenticate(AUTH)
    finally:
        plain.close()
