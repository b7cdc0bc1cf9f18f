"""A node's complete state moves to another node: identical passports, a ledger that verifies."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from batteryloop.access import Caller
from batteryloop.services import build_services
from batteryloop.config import Settings
from batteryloop.store.db import Store
from tests.conftest import database_url
from tests.test_cli import run

pytestmark = pytest.mark.any_store


def _services(tmp: Path, name: str):  # type: ignore[no-untyped-def]
    store = Store(database_url(tmp, name))
    return build_services(Settings(database_url=store.url, var_dir=tmp / f"var-{name}", rate_limit_per_minute=0), store)


def test_archive_round_trip_and_refusals(tmp_path: Path) -> None:
    run(tmp_path, "demo", "--packs", "80", "--no-dataspace", "--no-serve")
    archive = tmp_path / "node.zip"
    run(tmp_path, "archive", "export", str(archive))
    names = set(zipfile.ZipFile(archive).namelist())
    assert {"manifest.json", "passports.jsonl", "passport_versions.jsonl", "trace_events.jsonl",
            "participants.jsonl"} <= names and "api_tokens.jsonl" not in names

    src = _services(tmp_path, "cli")
    dst = _services(tmp_path, "target")
    from batteryloop.archive import import_archive

    res = import_archive(dst, archive)
    assert res["passports_verified"] == src.passports.count()["passports"] > 40
    assert res["ledger_events_verified"] == src.trace.verify().events_checked > 0
    admin = Caller(is_admin=True)
    for pid in list(src.passports.iter_ids()):
        a, b = src.passports.get_view(pid, admin), dst.passports.get_view(pid, admin)
        a.pop("web_link"), b.pop("web_link")
        assert a == b
        assert src.passports.history(pid) == dst.passports.history(pid)
    assert dst.trace.verify_derived().ok
    # no tokens travel: nobody can sign in on the new node with an old token
    tok = json.loads((tmp_path / "var" / "demo-tokens.json").read_text())
    assert all(dst.participants.authenticate(v["token"]) is None for v in tok.values())

    # importing again into a node that holds data is refused; nothing changes
    before = dst.passports.count()
    p = run(tmp_path, "archive", "import", str(archive), ok=False)  # the CLI's own database holds the demo
    assert p.returncode == 2 and "empty node" in p.stderr
    assert dst.passports.count() == before

    # an altered archive is refused naming the file, and leaves the target empty
    import hashlib

    import pytest

    from batteryloop.errors import InvalidData

    def altered(name: str, fix_manifest: bool) -> Path:
        out = tmp_path / f"bad-{fix_manifest}.zip"
        with zipfile.ZipFile(archive) as zin:
            files = {n: zin.read(n) for n in zin.namelist()}
        assert b"original" in files["passport_versions.jsonl"]
        files["passport_versions.jsonl"] = files["passport_versions.jsonl"].replace(b"original", b"reused", 1)
        if fix_manifest:  # a forger who also rewrites the manifest
            m = json.loads(files["manifest.json"])
            m["files"]["passport_versions.jsonl"]["sha256"] = hashlib.sha256(files["passport_versions.jsonl"]).hexdigest()
            files["manifest.json"] = json.dumps(m).encode()
        with zipfile.ZipFile(out, "w") as zout:
            for n, data in files.items():
                zout.writestr(n, data)
        return out

    empty = _services(tmp_path, "empty")
    with pytest.raises(InvalidData, match="passport_versions.jsonl"):
        import_archive(empty, altered("passport_versions.jsonl", fix_manifest=False))
    with pytest.raises(InvalidData, match="version chain"):
        import_archive(empty, altered("passport_versions.jsonl", fix_manifest=True))
    assert empty.passports.count()["passports"] == 0 and empty.trace.verify().events_checked == 0


def test_import_killed_between_registry_and_ledger_is_undone_by_the_next(tmp_path: Path) -> None:
    """The registry and the ledger are two transactions: a process dying between them (simulated by a
    BaseException, which no cleanup handler catches) leaves a marker, and the next import starts over."""
    from batteryloop.archive import import_archive

    run(tmp_path, "demo", "--packs", "20", "--years", "2", "--no-dataspace", "--no-serve")
    archive = tmp_path / "node.zip"
    run(tmp_path, "archive", "export", str(archive))
    dst = _services(tmp_path, "target")
    marker = dst.settings.var_dir / "archive-import.in-progress"

    class Died(BaseException):
        pass

    real = dst.trace.ingest

    def dies(*a, **k):  # type: ignore[no-untyped-def]
        raise Died()

    dst.trace.ingest = dies  # type: ignore[method-assign]
    with pytest.raises(Died):
        import_archive(dst, archive)
    dst.trace.ingest = real  # type: ignore[method-assign]
    assert marker.exists() and dst.passports.count()["passports"] > 0  # the half node the kill left
    assert dst.trace.verify().events_checked == 0
    res = import_archive(dst, archive)  # undoes the half import, then imports
    src = _services(tmp_path, "cli")
    assert res["passports_verified"] == src.passports.count()["passports"]
    assert res["ledger_events_verified"] == src.trace.verify().events_checked > 0
    assert not marker.exists()
    # without the marker, a node holding data is still refused
    from batteryloop.errors import Conflict

    with pytest.raises(Conflict, match="empty node"):
        import_archive(dst, archive)
