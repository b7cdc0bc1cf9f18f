"""Structure-aware fuzzing of the readers the byte-level fuzz (test_readers_fuzz.py) cannot reach deeply:

* Arbin Excel workbooks, generated cell by cell and made from the real CALCE workbook with its sheet XML
  mutated inside a valid zip;
* archive import: a real node's archive with rows mutated and the manifest re-hashed (so the import gets
  past its checksums), into an empty node that must stay empty when the archive is refused;
* Dataspace Protocol messages: the official examples mutated, through the schema check and the state
  machines;
* event batches: a real supply chain's events mutated and *re-signed* by their actors (so the ledger's
  own rules are reached, not only the signature check); a refused batch leaves the ledger as it was.

Every bad input must end in one of our errors naming what is wrong — never another exception.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from batteryloop.errors import BatteryloopError, InvalidData
from batteryloop.health.errors import HealthError
from tests.fuzz.test_readers_fuzz import edits, mutate, refusal_names_its_file, summary_invariants

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30))
json_value = st.recursive(json_leaf, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                            st.dictionaries(st.text(max_size=8), kids, max_size=3)),
                          max_leaves=8)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a JSON value (the root excluded)."""
    out: list[tuple[Any, ...]] = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    for k, v in items:
        out.append(prefix + (k,))
        out.extend(_paths(v, prefix + (k,)))
    return out


def json_edit(obj: Any, pick: int, op: str, value: Any) -> Any:
    """``obj`` with one node replaced by ``value``, deleted, or (op 'type') swapped for ``value``'s type."""
    obj = copy.deepcopy(obj)
    paths = _paths(obj)
    if not paths:
        return value
    path = paths[pick % len(paths)]
    parent = obj
    for k in path[:-1]:
        parent = parent[k]
    if op == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return obj


json_edits = st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["set", "delete"]), json_value),
                      min_size=1, max_size=3)


def apply_edits(obj: Any, es: list[tuple[int, str, Any]]) -> Any:
    for pick, op, value in es:
        obj = json_edit(obj, pick, op, value)
    return obj


# ------------------------------------------------------------------------------- Arbin Excel
REAL_HEADER = ["Data_Point", "Test_Time(s)", "Date_Time", "Step_Time(s)", "Step_Index", "Cycle_Index", "Current(A)",
               "Voltage(V)", "Charge_Capacity(Ah)", "Discharge_Capacity(Ah)", "Charge_Energy(Wh)",
               "Discharge_Energy(Wh)", "Internal_Resistance(Ohm)", "Temperature(C)"]
xl_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)  # what a cell may hold
cell = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40),
                 st.floats(allow_nan=False, allow_infinity=False, width=32), xl_text,
                 st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)))


@pytest.mark.slow
@SETTINGS
@given(sheets=st.one_of(st.just(["Info", "Channel_1-008"]),
                        st.lists(st.sampled_from(["Channel_1-008", "Channel_2-001", "Info", "Sheet1"]),
                                 min_size=1, max_size=3, unique=True)),
       drop=st.sets(st.integers(0, len(REAL_HEADER) - 1), max_size=2),
       extra=st.lists(xl_text, max_size=2),
       rows=st.lists(st.lists(st.one_of(st.floats(-10, 1e4), st.integers(0, 5), st.floats(-10, 1e4), cell),
                              min_size=12, max_size=15), max_size=8))
def test_generated_arbin_workbooks_read_or_fail_clearly(sheets: list[str], drop: set[int], extra: list[str],
                                                        rows: list[list[Any]],
                                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    from openpyxl import Workbook

    from batteryloop.health import cycle_summary, read_cycler_file

    header = [h for i, h in enumerate(REAL_HEADER) if i not in drop] + extra
    wb = Workbook()
    wb.remove(wb.active)
    for name in sheets:
        ws = wb.create_sheet(name)
        if header:
            ws.append(header)
        for r in rows:
            ws.append(r)
    path = tmp_path_factory.mktemp("xl") / "gen.xlsx"
    wb.save(path)
    try:
        data = read_cycler_file(path)
    except HealthError as exc:
        event(f"refused: {str(exc).split(': ', 1)[-1][:50]}")
        refusal_names_its_file(exc, path)
        return
    event("read")
    if data.frame.height:
        try:
            summary = cycle_summary(data)
        except HealthError as exc:  # e.g. no complete cycle in what was read
            refusal_names_its_file(exc, path) if getattr(exc, "errors", None) else None
            assert str(exc).strip()
            return
        summary_invariants(summary)


def _rezip(raw: bytes, member_edit: Any) -> bytes:
    """The workbook with each sheet's XML passed through ``member_edit`` — a valid zip, so the XML parser
    and our reader see the damage, not the zip checksum."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/") or info.filename == "xl/sharedStrings.xml":
                data = member_edit(info.filename, data)
            dst.writestr(info.filename, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def calce_small(data_dir: Path) -> bytes:
    files = sorted((data_dir / "calce" / "CS2_36").glob("*.xlsx"), key=lambda p: p.stat().st_size)
    return files[0].read_bytes()


@pytest.mark.slow
@SETTINGS
@given(e=edits, which=st.sampled_from(["sheet", "strings", "both"]),
       swap=st.lists(st.tuples(st.sampled_from([b"<v>", b"</v>", b"t=\"s\"", b"<c ", b"<row", b"r=\"", b"Channel"]),
                               st.sampled_from([b"", b"<v>x", b"t=\"e\"", b"<v>1e999</v>", b"-", b"\xff\xfe",
                                                b"<v>NaN</v>", b"r=\"XFD1048577\""])), max_size=3))
def test_real_arbin_workbook_with_mutated_xml(e: tuple, which: str, swap: list[tuple[bytes, bytes]],
                                              calce_small: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    from batteryloop.health import cycle_summary, read_cycler_file

    def member_edit(name: str, data: bytes) -> bytes:
        if (which == "sheet" and "worksheets" not in name) or (which == "strings" and "sharedStrings" not in name):
            return data
        for old, new in swap:
            data = data.replace(old, new, 3)
        return mutate(data, *e)

    path = tmp_path_factory.mktemp("xlm") / "m.xlsx"
    path.write_bytes(_rezip(calce_small, member_edit))
    try:
        summary = cycle_summary(read_cycler_file(path))
        event("read")
    except HealthError as exc:
        event(f"refused: {str(exc).split(': ', 1)[-1][:50]}")
        assert str(exc).strip()
        return
    summary_invariants(summary)


# ------------------------------------------------------------------------------- archive import
@pytest.fixture(scope="module")
def archive_bytes(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    """A real node's archive (passports with versions, a status change, a signed supply chain) and an
    empty migrated database to copy for each import."""
    from batteryloop.archive import export_archive
    from batteryloop.sim import pilot
    from batteryloop.store.db import Store
    from batteryloop.sim.supply_chain import attach_demo_keys, demo_signers, supply_chain
    from tests.conftest import make_services, seed_pilot

    tmp = tmp_path_factory.mktemp("arch")
    store = Store(f"sqlite:///{tmp}/src.db")
    store.upgrade()
    svc = make_services(store)
    c = seed_pilot(svc)["callers"]
    signers = demo_signers()
    attach_demo_keys(store, signers)
    ids = svc.passports.import_passports(pilot.generate_batteries(3, seed=5), c[pilot.AUTOMAKER]).ids
    svc.passports.update_passport(ids[0], {"usage": {"deep_discharge_events": 3}}, c[pilot.AUTOMAKER])
    svc.delegations.grant(ids[1], pilot.SECOND_LIFE, ["passport.status.repurpose"], c[pilot.AUTOMAKER])
    svc.passports.change_status(ids[1], "repurpose", c[pilot.SECOND_LIFE])
    rep = svc.trace.ingest(list(supply_chain(1, signers=signers)), None, workers=1)
    assert rep.ok, rep.error
    svc.passports.get_view(ids[2], c[pilot.AUTHORITY])  # an audited read
    export_archive(svc, tmp / "node.zip")
    store.dispose()
    empty = Store(f"sqlite:///{tmp}/empty.db")
    empty.upgrade()
    empty.dispose()
    return (tmp / "node.zip").read_bytes(), tmp / "empty.db"


def _rebuild(raw: bytes, name: str, new: bytes, fix_manifest: bool) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(raw))
    manifest = json.loads(src.read("manifest.json"))
    if fix_manifest and name != "manifest.json" and name in manifest["files"]:
        manifest["files"][name] = {"rows": sum(1 for ln in new.splitlines() if ln.strip()),
                                   "sha256": hashlib.sha256(new).hexdigest()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for n in src.namelist():
            if n == "manifest.json":
                dst.writestr(n, new if name == n else json.dumps(manifest).encode())
            else:
                dst.writestr(n, new if n == name else src.read(n))
    return out.getvalue()


def _import_into_empty(blob: bytes, empty_db: Path, tmp: Path) -> tuple[Any, BaseException | None]:
    from batteryloop.archive import import_archive
    from batteryloop.store.db import Store
    from tests.conftest import make_services

    shutil.copy(empty_db, tmp / "t.db")
    (tmp / "a.zip").write_bytes(blob)
    store = Store(f"sqlite:///{tmp}/t.db")
    svc = make_services(store)
    try:
        import_archive(svc, tmp / "a.zip")
    except BatteryloopError as exc:
        assert exc.detail
        return svc, exc
    return svc, None


def _assert_empty(svc: Any) -> None:
    from batteryloop.archive import TABLES
    from batteryloop.store import trace_tables as tt

    with svc.store.read() as conn:
        held = {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (*TABLES, tt.trace_events, tt.trace_chain, tt.trace_lots)}
    assert not any(held.values()), f"a refused archive left rows behind: {held}"


ARCHIVE_FILES = ["manifest.json", "participants.jsonl", "battery_models.jsonl", "battery_model_versions.jsonl",
                 "passports.jsonl", "passport_versions.jsonl", "audit_log.jsonl", "trace_events.jsonl"]


@pytest.mark.slow
@SETTINGS
@given(name=st.sampled_from(ARCHIVE_FILES), row=st.integers(0, 10**6), es=json_edits,
       junk=st.one_of(st.none(), st.binary(max_size=40)), fix_manifest=st.booleans())
def test_mutated_archive_imports_fully_or_leaves_the_node_empty(
        name: str, row: int, es: list, junk: bytes | None, fix_manifest: bool,
        archive_bytes: tuple[bytes, Path], tmp_path_factory: pytest.TempPathFactory) -> None:
    raw, empty_db = archive_bytes
    text = zipfile.ZipFile(io.BytesIO(raw)).read(name)
    if name == "manifest.json":
        new = json.dumps(apply_edits(json.loads(text), es)).encode() if junk is None else junk
    else:
        lines = text.splitlines()
        i = row % len(lines) if lines else 0
        if junk is not None:
            lines.insert(i, junk)
        elif lines:
            lines[i] = json.dumps(apply_edits(json.loads(lines[i]), es)).encode()
        new = b"".join(ln + b"\n" for ln in lines)
    svc, err = _import_into_empty(_rebuild(raw, name, new, fix_manifest), empty_db, tmp_path_factory.mktemp("ai"))
    event("imported" if err is None else f"refused: {err.detail[:40]}")
    try:
        if err is not None:
            _assert_empty(svc)
        else:  # the edit was harmless (an audit row's text, say): then everything imported verifies
            assert svc.trace.verify().ok
    finally:
        svc.store.dispose()


@pytest.mark.slow
@SETTINGS
@given(e=edits)
def test_byte_mutated_archive_is_refused_or_imports(e: tuple, archive_bytes: tuple[bytes, Path],
                                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    raw, empty_db = archive_bytes
    svc, err = _import_into_empty(mutate(raw, *e), empty_db, tmp_path_factory.mktemp("ab"))
    try:
        if err is not None:
            _assert_empty(svc)
    finally:
        svc.store.dispose()


# ------------------------------------------------------------------------------- DSP messages
def _dsp_examples(fixtures_dir: Path) -> list[dict[str, Any]]:
    out = []
    for p in sorted((fixtures_dir / "dsp").rglob("example/*.json")):
        doc = json.loads(p.read_text())
        if isinstance(doc, dict) and isinstance(doc.get("@type"), str):
            out.append(doc)
    return out


@pytest.mark.slow
@SETTINGS
@given(pick=st.integers(0, 10**6), es=json_edits, as_type=st.booleans())
def test_mutated_dsp_messages_are_refused_with_reasons(pick: int, es: list, as_type: bool, fixtures_dir: Path) -> None:
    from batteryloop.exchange.dsp import require_valid
    from batteryloop.exchange.errors import ProtocolError
    from batteryloop.exchange.schemas import dsp_errors

    examples = _dsp_examples(fixtures_dir)
    original = examples[pick % len(examples)]
    kind = original["@type"]
    mutated = apply_edits(original, es)
    errs = dsp_errors(mutated, kind if as_type else None)
    assert isinstance(errs, list) and all(isinstance(e, str) for e in errs)
    try:
        out = require_valid(mutated, kind)
    except ProtocolError as exc:
        assert exc.detail
        assert errs or not isinstance(mutated, dict) or mutated.get("@type") != kind
    else:
        assert out is mutated and not dsp_errors(mutated, kind)


@pytest.mark.slow
@SETTINGS
@given(steps=st.lists(st.tuples(st.one_of(st.sampled_from(
    ["ContractRequestMessage", "ContractOfferMessage", "ContractAgreementMessage", "ACCEPTED", "FINALIZED",
     "ContractAgreementVerificationMessage", "ContractNegotiationTerminationMessage", "TransferRequestMessage",
     "TransferStartMessage", "TransferCompletionMessage", "TransferSuspensionMessage",
     "TransferTerminationMessage"]), st.text(max_size=10)), st.sampled_from(["consumer", "provider"])),
    max_size=8))
def test_dsp_state_machines_take_any_message_sequence(steps: list[tuple[str, str]]) -> None:
    from batteryloop.exchange.dsp import Role, next_negotiation_state, next_transfer_state
    from batteryloop.exchange.errors import ProtocolError

    for machine in (next_negotiation_state, next_transfer_state):
        state = None
        for message, sender in steps:
            try:
                state = machine(state, message, Role(sender))
            except ProtocolError as exc:
                assert message in exc.detail or "terminate" in exc.detail


# ------------------------------------------------------------------------------- event batches
@pytest.fixture(scope="module")
def ledger_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """An empty store whose participants hold their demo keys, and a real supply chain's signed events."""
    from batteryloop.identity import ParticipantService
    from batteryloop.store.db import Store
    from batteryloop.sim.supply_chain import demo_signers, register_participants, supply_chain

    tmp = tmp_path_factory.mktemp("led")
    store = Store(f"sqlite:///{tmp}/tmpl.db")
    store.upgrade()
    signers = demo_signers()
    register_participants(ParticipantService(store), signers)
    store.dispose()
    return tmp / "tmpl.db", list(supply_chain(1, signers=signers))


def _leaves(obj: Any) -> list[Any]:
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _leaves(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _leaves(v)]
    return [obj]


def _chain_leaves() -> list[Any]:
    from batteryloop.sim.supply_chain import supply_chain

    seen = {json.dumps(x): x for ev in supply_chain(1) for k, v in ev.items() if k not in ("signature", "prev")
            for x in _leaves(v)}
    return [seen[k] for k in sorted(seen)]


# values that pass the schema but may break a ledger rule: another event's lot, kind, mass, id, actor…
plausible = st.one_of(st.sampled_from(_chain_leaves()), st.floats(-1e6, 1e7), st.sampled_from([0, -1, 1e308]))
event_edits = st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["set", "set", "delete"]),
                                 st.one_of(plausible, plausible, json_value)), min_size=1, max_size=3)


@pytest.mark.slow
@SETTINGS
@given(pick=st.integers(0, 10**6), es=event_edits, resign=st.booleans(), as_lines=st.booleans())
def test_mutated_signed_batches_are_all_or_nothing(pick: int, es: list, resign: bool, as_lines: bool,
                                                   ledger_template: tuple[Path, list[dict[str, Any]]],
                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    from batteryloop.store import trace_tables as tt
    from batteryloop.store.db import Store
    from batteryloop.trace.client import ChainWriter
    from batteryloop.trace.ledger import Ledger
    from batteryloop.sim.supply_chain import demo_signers

    template, events = ledger_template
    i = pick % len(events)
    batch: list[Any] = []
    cw = ChainWriter(demo_signers())
    for k, ev in enumerate(events):
        body = {x: v for x, v in ev.items() if x not in ("prev", "signature")}
        if k == i:
            bad = apply_edits(ev if not resign else body, es)
            if resign and isinstance(bad, dict):
                try:  # signed by its actor: the ledger's rules must catch it, not the signature check
                    batch.append(cw.wire(bad))
                    continue
                except (InvalidData, KeyError, TypeError):
                    pass
            batch.append(bad)
            continue
        batch.append(cw.wire(body))
    tmp = tmp_path_factory.mktemp("lb")
    shutil.copy(template, tmp / "t.db")
    store = Store(f"sqlite:///{tmp}/t.db")
    try:
        ledger = Ledger(store)
        items = [json.dumps(x) for x in batch] if as_lines else batch
        rep = ledger.ingest(items, None)
        event("stored" if rep.ok else f"refused: {rep.error['type']} {rep.error['detail'][:60]}")
        with store.read() as conn:
            n_events = conn.execute(select(func.count()).select_from(tt.trace_events)).scalar()
            n_links = conn.execute(select(func.count()).select_from(tt.trace_chain)).scalar()
            n_lots = conn.execute(select(func.count()).select_from(tt.trace_lots)).scalar()
        if rep.ok:
            assert n_events == len(events) and ledger.verify_store().ok and ledger.verify_derived().ok
        else:
            assert rep.error and rep.error["detail"] and rep.error["index"] <= i + 1
            assert (n_events, n_links, n_lots) == (0, 0, 0), "a refused batch left rows behind"
    finally:
        store.dispose()
