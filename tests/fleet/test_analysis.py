"""The analysis: pinned to hand computations on a tiny series, and finding the generator's injected faults."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from batteryloop.fleet.analysis import THRESHOLDS, analyze, read_table, sessions_polars, write_table
from batteryloop.fleet.layout import SCHEMA, FleetLayout, write_partition
from batteryloop.fleet.simulate import FAULTS, simulate

EVIDENCE = {"self_discharge": "self_discharge_mv_per_day", "weak_cell": "weak_cell_excess_mv",
            "cooling_failure": "cooling_rise_k_per_min_c2", "lithium_plating": "plating_relaxation_ratio",
            "sensor_drift": "sensor_drift_pct_per_30d"}


def tiny_fleet(root: Path) -> None:
    """One 100 Ah pack: 3 minutes at rest, an AC charge of 11 samples at 120 A (SoC 20 → 42 %), then 6 samples of
    driving whose current alternates −50/−150 A with V = 400 V + 0.05 Ω · I."""
    t0 = dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC)
    rows = []
    for k in range(3):
        rows.append(dict(i=0.0, v=400.0, soc=20.0, cs="not_charging", odo=100.0))
    for k in range(11):
        rows.append(dict(i=120.0, v=410.0, soc=20.0 + 2.2 * k, cs="ac", odo=100.0))
    for k in range(6):
        i = -50.0 if k % 2 == 0 else -150.0
        rows.append(dict(i=i, v=400.0 + 0.05 * i, soc=42.0 - 0.1 * k, cs="not_charging", odo=101.0 + k))
    n = len(rows)
    df = pl.DataFrame({
        "timestamp": [t0 + dt.timedelta(minutes=j) for j in range(n)], "vehicle_id": ["V1"] * n, "pack_id": ["P1"] * n,
        "segment": ["car"] * n, "pack_current_a": [r["i"] for r in rows], "pack_voltage_v": [r["v"] for r in rows],
        "soc_pct": [r["soc"] for r in rows], "cell_voltage_min_v": [3.70] * n, "cell_voltage_max_v": [3.71] * n,
        "cell_index_min": [1] * n, "cell_index_max": [2] * n, "temperature_min_c": [20.0] * n,
        "temperature_max_c": [21.0] * n, "odometer_km": [r["odo"] for r in rows], "charging_state": [r["cs"] for r in rows],
    }).cast(dict(SCHEMA))
    FleetLayout(buckets=2, interval_s=60).write(root)
    write_partition(df, root, "2026-06-01", 0)
    (root / "_packs.csv").write_text("pack_id,vehicle_id,segment,chemistry,rated_capacity_ah,rated_energy_kwh,"
                                     "nominal_voltage_v,cells_in_series,cells_in_parallel,first_use_date\n"
                                     "P1,V1,car,NMC811,100,40,400,110,1,2026-05-01\n")


def test_soh_and_resistance_match_hand_computations(tmp_path: Path) -> None:
    tiny_fleet(tmp_path)
    s = sessions_polars(tmp_path)
    assert s["mode"].to_list() == ["rest", "ac", "drive"]
    charge = s.row(1, named=True)
    # charge: 10 intervals × 120 A × 60 s = 20 Ah over ΔSoC 22 %: capacity 20 / 0.22 = 90.909 Ah
    assert charge["ah"] == pytest.approx(20.0) and charge["soc_end"] - charge["soc_start"] == pytest.approx(22.0, abs=1e-4)
    drive = s.row(2, named=True)
    assert drive["r_steps"] == 5 and drive["r_num"] / drive["r_den"] == pytest.approx(0.05)
    [row] = analyze(tmp_path).to_dicts()
    assert row["capacity_ah"] == pytest.approx(20 / 0.22, rel=1e-5)
    assert row["soh_pct"] == pytest.approx(100 * 20 / 0.22 / 100, rel=1e-5)
    assert row["resistance_mohm"] == pytest.approx(50.0, rel=1e-6)
    assert row["capacity_sessions"] == 1 and row["faults"] == "" and row["age_days"] == 31
    assert row["measured_at"] == "2026-06-01T08:19:00+00:00"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    root = tmp_path_factory.mktemp("fleet") / "f"
    simulate(root, vehicles=40, days=8, seed=3, interval_s=120.0, fault_share=0.5, buckets=4)
    return root, analyze(root)


@pytest.mark.slow
def test_each_injected_fault_is_found_with_its_evidence(fleet: tuple[Path, pl.DataFrame]) -> None:
    root, df = fleet
    truth = dict(pl.read_csv(root / "_truth.csv").iter_rows())
    assert set(truth.values()) == set(FAULTS)
    found = {k: 0 for k in FAULTS}
    for r in df.iter_rows(named=True):
        kind = truth.get(r["pack_id"])
        flags = set(filter(None, r["faults"].split(";")))
        if kind is None:
            assert not flags, f"healthy pack {r['pack_id']} flagged {flags}"
            continue
        if kind in flags:
            found[kind] += 1
            value = r[EVIDENCE[kind]]
            assert abs(value) >= THRESHOLDS[EVIDENCE[kind]], (kind, value)
        assert flags <= {kind}, f"{r['pack_id']} ({kind}) also flagged {flags - {kind}}"
    assert all(found.values()), found
    assert sum(found.values()) >= 0.8 * len(truth)
    weak = [r for r in df.iter_rows(named=True) if "weak_cell" in r["faults"]]
    assert all(r["weak_cell_index"] is not None for r in weak)
    # the evidence itself, not only the flag it sets: the cell named is the one injected, and a healthy pack's
    # measure stays under every threshold (the flag's extra conditions, e.g. 6 h of rest, do not hide it)
    cell = dict(pl.read_csv(root / "_truth_state.csv").select("pack_id", "fault_cell_index").iter_rows())
    assert [r["weak_cell_index"] for r in weak] == [cell[r["pack_id"]] for r in weak]
    for r in df.filter(~pl.col("pack_id").is_in(list(truth))).iter_rows(named=True):
        high = {c: r[c] for c in EVIDENCE.values() if r[c] is not None and abs(r[c]) >= THRESHOLDS[c]}
        assert not high, f"healthy pack {r['pack_id']}: {high}"


@pytest.mark.slow
def test_state_of_health_is_close_to_the_generators(fleet: tuple[Path, pl.DataFrame]) -> None:
    root, df = fleet
    st = pl.read_csv(root / "_truth_state.csv")
    j = df.join(st, on="pack_id").filter(pl.col("soh_pct").is_not_null())
    err = (j["soh_pct"] - j["soh_end_pct"]).abs()
    assert j.height >= 30 and float(err.median()) < 1.0  # type: ignore[arg-type]


def test_the_table_round_trips_as_parquet_and_csv(tmp_path: Path) -> None:
    tiny_fleet(tmp_path / "f")
    df = analyze(tmp_path / "f")
    for name in ("t.parquet", "t.csv"):
        back = read_table(write_table(df, tmp_path / name))
        assert back["pack_id"].to_list() == df["pack_id"].to_list() and back["faults"].to_list() == df["faults"].to_list()
    with pytest.raises(ValueError, match=r"\.parquet or \.csv"):
        write_table(df, tmp_path / "t.json")


def test_files_out_of_order_give_the_same_sessions(tmp_path: Path) -> None:
    """The Polars engine reads a bucket in pack and time order whatever the files' order: a small generated fleet,
    then the same samples rewritten with each file's rows shuffled (packs and times interleaved) — the same
    session table (the first/last/head/tail aggregates read the sorted slices)."""
    import shutil

    a, b = tmp_path / "a", tmp_path / "b"
    simulate(a, vehicles=6, days=2, seed=4, interval_s=300.0, fault_share=0.0, buckets=2)
    shutil.copytree(a, b)
    for k, f in enumerate(sorted(b.glob("date=*/bucket=*/*.parquet"))):
        df = pl.read_parquet(f)
        df.sample(fraction=1.0, shuffle=True, seed=k).write_parquet(f)
    want, got = sessions_polars(a), sessions_polars(b)
    assert want.height > 20 and want["mode"].n_unique() >= 3
    assert got.equals(want)


def test_the_packs_figures_computed_together_equal_each_pack_alone(tmp_path: Path) -> None:
    """pack_figures works on all packs at once (per-pack reductions over runs of the session table): each pack's row
    equals the row of that pack analysed alone, bit for bit — but for the remaining life's interval, whose Monte Carlo
    draws are drawn for the packs of one call together (a pack's draws depend on its place among them); the session
    table's order and the registry's do not matter; a registry pack without telemetry gets a row without figures,
    and sessions of a pack the registry lacks are left out."""
    from batteryloop.fleet.analysis import pack_figures
    from batteryloop.fleet.layout import read_packs

    simulate(tmp_path, vehicles=12, days=4, seed=5, interval_s=300.0, fault_share=0.5, buckets=2)
    sessions, packs = sessions_polars(tmp_path), read_packs(tmp_path)
    whole = pack_figures(sessions, packs)
    assert whole.height == 12 and whole["soh_pct"].null_count() < 12 and (whole["faults"] != "").any()
    drawn = ["rul_fec_lower", "rul_fec_upper"]
    for row in whole.drop(drawn).iter_rows(named=True):
        alone = pack_figures(sessions.filter(pl.col("pack_id") == row["pack_id"]),
                             packs.filter(pl.col("pack_id") == row["pack_id"]))
        assert alone.drop(drawn).row(0, named=True) == row
    shuffled = pack_figures(sessions.sample(fraction=1.0, shuffle=True, seed=1), packs.reverse())
    assert shuffled.equals(whole)
    ghost = packs.head(1).with_columns(pack_id=pl.lit("NO-TELEMETRY"))
    out = pack_figures(sessions.filter(pl.col("pack_id") != packs["pack_id"][1]), pl.concat([packs, ghost]))
    blank = out.filter(pl.col("pack_id").is_in(["NO-TELEMETRY", packs["pack_id"][1]]))
    assert blank.height == 2 and blank["samples"].null_count() == 2 and blank["faults"].to_list() == ["", ""]
    assert out.filter(~pl.col("pack_id").is_in(["NO-TELEMETRY", packs["pack_id"][1]])).drop(drawn).equals(
        whole.filter(pl.col("pack_id") != packs["pack_id"][1]).drop(drawn))
    assert pack_figures(sessions, packs.tail(3)).drop(drawn).equals(
        whole.filter(pl.col("pack_id").is_in(packs.tail(3)["pack_id"].to_list())).drop(drawn))
