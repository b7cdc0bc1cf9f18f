"""Every file reader and importer, fed mutated real files and random bytes: a clear error of ours or a
result — never another exception."""

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
    path = tmp_path_factory.mktemp("fz") / name
    path.write_bytes(mutate(raw, *e))
    try:
        cycle_summary(read_cycler_file(path))
    except HealthError:
        pass


@pytest.mark.slow
@SETTINGS
@given(blob=st.binary(max_size=4000), fmt=st.sampled_from(["auto", "catenax", "idta-samm", "aas-json", "aasx", "batterypass"]))
def test_standard_importers_never_crash_on_random_bytes(blob: bytes, fmt: str) -> None:
    from batteryloop import formats

    try:
        formats.import_passport(blob, fmt, lenient=True)
    except BatteryloopError:
        pass


@pytest.mark.slow
@SETTINGS
@given(e=edits)
def test_catenax_importer_never_crashes_on_mutated_official_example(e: tuple, fixtures_dir: Path) -> None:
    from batteryloop import formats

    raw = (fixtures_dir / "catenax/io.catenax.battery.battery_pass/6.1.0/BatteryPass.json").read_bytes()
    for lenient in (False, True):
        try:
            formats.import_passport(mutate(raw, *e), "catenax", lenient=lenient)
        except BatteryloopError:
            pass


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
