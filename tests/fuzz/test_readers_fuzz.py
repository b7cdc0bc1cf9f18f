"""Every file reader and importer, fed mutated real files and random bytes: a clear error of ours that
names what is wrong, or a result that keeps the invariants of a good one — never another exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batteryloop.errors import BatteryloopError
from batteryloop.health.errors import HealthError

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def mutate(data: bytes, cuts: list[tuple[int, int]], flips: list[tuple[int, int]]) -> bytes:
    b = bytearray(data)
    for pos, val in flips:
        if b:
            b[pos % len(b)] = val
    for start, length in cuts:
        if b:
            s = start % len(b)
            del b[s:s + length]
    return bytes(b)


def summary_invariants(summary: object) -> None:
    """What any per-cycle summary must satisfy, however damaged its source (IEC 62660-1 definitions, see
    health/summary.py): cycles strictly increase; capacities and energies are finite and ≥ 0; an efficiency
    is null or in (0, ∞) and only where both directions ran; throughput never decreases and equals the
    running sum of charge + discharge capacity."""
    import math

    rows = summary.to_dicts()  # type: ignore[attr-defined]
    cycles = [r["cycle"] for r in rows]
    assert cycles == sorted(set(cycles)), "cycles must strictly increase"
    running = 0.0
    for r in rows:
        for k in ("charge_capacity_ah", "discharge_capacity_ah", "charge_energy_wh", "discharge_energy_wh"):
            v = r[k]
            assert v is None or (math.isfinite(v) and v >= 0), (r["cycle"], k, v)
        ce = r["coulombic_efficiency"]
        if ce is not None:
            assert math.isfinite(ce) and ce > 0 and r["charge_capacity_ah"] and r["discharge_capacity_ah"], r
        running += (r["charge_capacity_ah"] or 0.0) + (r["discharge_capacity_ah"] or 0.0)
        assert r["capacity_throughput_ah"] is None or math.isclose(r["capacity_throughput_ah"], running,
                                                                   rel_tol=1e-6, abs_tol=1e-6), (r["cycle"], running)


def refusal_names_its_file(exc: Exception, path: Path) -> None:
    """A refusal is one of ours and says what is wrong: a message, and the file it was reading."""
    assert str(exc).strip()
    errors = getattr(exc, "errors", None) or []
    assert errors and all(e.get("message") for e in errors), errors
    assert any(path.name in str(e.get("file", "")) or path.name in str(exc) for e in errors), (path.name, errors)


edits = st.tuples(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 2000)), max_size=3),
                  st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=20))

CYCLER_FILES = ["FastCharge_000025_CH8.csv", "PreDiag_000229_000229_truncated.034", "test_Nova_Form-CH01-01_short.csv",
                "test_loopsnewoutput_MB_CE1_short10k.csv"]


@pytest.mark.slow
@pytest.mark.parametrize("name", CYCLER_FILES)
@SETTINGS
@given(e=edits)
def test_cycler_readers_never_crash(name: str, e: tuple, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    from batteryloop.health import cycle_summary, read_cycler_file

    raw = (data_dir / "cyclers" / name).read_bytes()[:200_000]
    raw = raw[:raw.rfind(b"\n") + 1]  # whole lines: the unmutated head of the file is itself a good file
    path = tmp_path_factory.mktemp("fz") / name
    path.write_bytes(mutate(raw, *e))
    try:
        data = read_cycler_file(path)
        summary = cycle_summary(data)
    except HealthError as exc:
        assert e != ([], []), f"the unmutated {name} must read: {exc}"
        refusal_names_its_file(exc, path)
        return
    summary_invariants(summary)


@pytest.mark.slow
@SETTINGS
@given(blob=st.binary(max_size=4000), fmt=st.sampled_from(["auto", "catenax", "idta-samm", "aas-json", "aasx", "batterypass"]))
def test_standard_importers_never_crash_on_random_bytes(blob: bytes, fmt: str) -> None:
    from batteryloop import formats

    try:
        result = formats.import_passport(blob, fmt, lenient=True)
    except BatteryloopError as exc:
        assert exc.detail.strip(), "a refusal must say what is wrong"
        return
    # bytes that import anyway: a part that was not built is named in the report (never half a record)
    assert result.complete or result.report.missing, result.report.to_dict()


@pytest.mark.slow
@SETTINGS
@given(e=edits)
def test_catenax_importer_never_crashes_on_mutated_official_example(e: tuple, fixtures_dir: Path) -> None:
    from batteryloop import formats

    raw = (fixtures_dir / "catenax/io.catenax.battery.battery_pass/6.1.0/BatteryPass.json").read_bytes()
    blob = mutate(raw, *e)
    outcome = {}
    for lenient in (False, True):
        try:
            outcome[lenient] = formats.import_passport(blob, "catenax", lenient=lenient)
        except BatteryloopError as exc:
            assert exc.detail.strip(), "a refusal must say what is wrong"
            outcome[lenient] = None
    if blob == raw:
        # the official example carries generated sample values (a service date '7172-75-08', a BPNL of 16
        # characters): strict refuses them by name, lenient imports the rest and names what it left out
        assert outcome[True] is not None and outcome[True].report.dropped and outcome[True].report.missing
    # lenient accepts at least what strict accepts; a lenient result names every part it did not build
    assert outcome[False] is None or outcome[True] is not None
    if outcome[True] is not None:
        assert outcome[True].complete or outcome[True].report.missing


@pytest.mark.slow
@SETTINGS
@given(lines=st.lists(st.one_of(st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
                                st.dictionaries(st.sampled_from(["id", "kind", "actor", "subjects", "data", "prev",
                                                                 "signature", "occurred_at", "place"]),
                                                st.one_of(st.text(max_size=20), st.integers(), st.none(),
                                                          st.lists(st.text(max_size=5), max_size=3)), max_size=9)),
                      min_size=1, max_size=5))
def test_ledger_batches_never_crash(lines: list, tmp_path_factory: pytest.TempPathFactory) -> None:
    import json

    from batteryloop.store.db import Store
    from batteryloop.trace.ledger import Ledger

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('led')}/l.db")
    store.upgrade()
    items = [json.dumps(x) if isinstance(x, dict) else x for x in lines]
    rep = Ledger(store).ingest(items, None)
    assert not rep.ok and rep.error is not None  # nothing here is a validly signed event
    store.dispose()
