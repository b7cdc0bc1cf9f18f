"""A simulated year: pack ageing, weak packs spared, optimiser vs fallback, passports updated."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from batteryloop.hubs import HubInputError, Pack, load_hub_config, parse_hub, prepare_hub, simulate_year
from batteryloop.hubs.hub import day_inputs
from batteryloop.hubs.dispatch import check_schedule, optimise_day
from batteryloop.hubs.service import soh_patches, write_year_to_passports
from batteryloop.hubs.storage import AgeingModel, string_figures


def test_year_optimised_costs_less_than_rule_based_on_the_same_year(small_hub: dict[str, Any]) -> None:
    opt = simulate_year(small_hub, days=60, method="optimised")
    rule = simulate_year(small_hub, days=60, method="rule_based")
    # same demand and PV (common random numbers)
    assert opt.totals["ev_load_kwh"] == pytest.approx(rule.totals["ev_load_kwh"])
    assert opt.totals["pv_kwh"] == pytest.approx(rule.totals["pv_kwh"])
    assert opt.totals["total_cost"] < rule.totals["total_cost"]
    assert opt.totals["unserved_kwh"] == pytest.approx(0.0, abs=1e-6)


def test_packs_age_and_weak_packs_cycle_less(small_hub: dict[str, Any]) -> None:
    r = simulate_year(small_hub, days=90)
    assert np.all(r.soh_daily[:, -1] < r.soh_daily[:, 0])
    assert np.all(np.diff(r.soh_daily, axis=1) <= 1e-12)  # never heals
    # full equivalent cycles rise with state of health (the weakest pack does the fewest)
    order = np.argsort(r.soh_start)
    assert r.pack_fec[order[0]] < r.pack_fec[order[-1]]
    assert np.corrcoef(r.soh_start, r.pack_fec)[0, 1] > 0.5


def test_every_day_of_a_hub_respects_its_limits(small_hub: dict[str, Any]) -> None:
    hub = prepare_hub({**small_hub, "steps_per_hour": 4, "grid": {"import_limit_kw": 250}})
    st = hub.initial_state()
    for day in (0, 100, 180, 300):
        inp = day_inputs(hub, st, day, weather_factor=0.9)
        s = optimise_day(inp)
        assert check_schedule(inp, s) == []
        assert s.grid_import_kw.max() <= 250 + 1e-6


def test_pack_below_end_of_second_life_retires() -> None:
    cfg = {"packs": [{"pack_id": "weak", "nominal_energy_kwh": 60, "soh_fraction": 0.605},
                     {"pack_id": "ok", "nominal_energy_kwh": 60, "soh_fraction": 0.85}], "swap": None}
    r = simulate_year(cfg, days=120)
    i = r.pack_ids.index("weak")
    assert r.pack_retired_day[i] is not None
    assert r.pack_retired_day[r.pack_ids.index("ok")] is None
    after = r.pack_retired_day[i] + 1
    assert r.soh_daily[i, after:].max() == pytest.approx(r.soh_daily[i, after])  # no more ageing in service


def test_degradation_cost_is_higher_for_weaker_packs() -> None:
    a = AgeingModel.from_references()
    strong = Pack(pack_id="s", nominal_energy_kwh=70, soh_fraction=0.9)
    weak = Pack(pack_id="w", nominal_energy_kwh=70, soh_fraction=0.65, resistance_increase_pct=60)
    cs = string_figures([strong], [0.9], a)["deg_cost_per_kwh"]
    cw = string_figures([weak], [0.65], a)["deg_cost_per_kwh"]
    assert cw > 2 * cs > 0
    # a string is limited by its weakest pack
    f = string_figures([strong, weak], [0.9, 0.65], a)
    assert f["energy_kwh"] == pytest.approx(2 * 70 * 0.65)


def test_year_soh_goes_back_into_passports(pilot_services: Any) -> None:
    from batteryloop.sim import pilot

    op = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    pids = [pilot_services.passports.create_passport(b, op)["passport_id"] for b in pilot.generate_batteries(2, seed=5)]
    pilot_services.passports.update_passport(pids[0], {"usage": {"full_equivalent_cycles": 100.0}}, op, reason="BMS")
    cfg = {"packs": [{"pack_id": f"p{i}", "passport_id": pid, "nominal_energy_kwh": 70, "soh_fraction": 0.8 - 0.05 * i}
                     for i, pid in enumerate(pids)], "swap": None}
    r = simulate_year(cfg, days=30)
    written = write_year_to_passports(pilot_services.passports, r, op)
    assert {w["passport_id"] for w in written} == set(pids)
    data = pilot_services.passports.get_record(pids[0]).data
    assert data["state_of_health"]["soh_capacity_pct"] == pytest.approx(r.soh_end["p0"] * 100, abs=1e-3)
    assert data["usage"]["full_equivalent_cycles"] == pytest.approx(100.0 + r.pack_fec[0], abs=1e-3)
    hist = pilot_services.passports.history(pids[0])
    assert [h["version"] for h in hist] == [1, 2, 3]
    assert hist[-1]["reason"].startswith("hub hub: 30 days of optimised dispatch")
    # and the loop closes: the passport's new state of health plans the next year
    from batteryloop.hubs import pack_from_passport

    again = pack_from_passport(pilot_services.passports.get_view(pids[0], op))
    assert again.soh_fraction == pytest.approx(r.soh_end["p0"], abs=1e-5)
    assert again.passport_id == pids[0]


def test_dry_run_writes_nothing() -> None:
    cfg = {"packs": [{"pack_id": "p", "passport_id": "X-1", "nominal_energy_kwh": 50, "soh_fraction": 0.8}], "swap": None}
    r = simulate_year(cfg, days=5)
    p = soh_patches(r)
    assert set(p) == {"X-1"} and p["X-1"]["state_of_health"]["soh_capacity_pct"] < 80


@pytest.mark.parametrize(("cfg", "field", "rule"), [
    ({"pv_kwp": -5}, "hub.pv_kwp", "greater than or equal to 0"),
    ({"steps_per_hour": 3}, "hub", "must be 1, 2 or 4"),
    ({"grid": {"tariff_per_kwh": [0.5] * 23}}, "hub.grid.tariff_per_kwh", "at least 24"),
    ({"packs": [{"pack_id": "a", "nominal_energy_kwh": 70, "soh_fraction": 0.8, "chemistry": "unobtainium"}]}, "hub.packs.0.chemistry", "chemistry"),
    ({"packs": [{"pack_id": "a", "nominal_energy_kwh": 70, "soh_fraction": 1.5}]}, "hub.packs.0.soh_fraction", "less than or equal"),
    ({"colour": "red"}, "hub.colour", "Extra inputs"),
])
def test_bad_hub_config_names_field_and_rule(cfg: dict[str, Any], field: str, rule: str) -> None:
    base = {"packs": [{"pack_id": "x", "nominal_energy_kwh": 70, "soh_fraction": 0.8}]}
    with pytest.raises(HubInputError) as exc:
        parse_hub({**base, **cfg})
    assert exc.value.field == field
    assert rule in exc.value.rule


def test_export_above_valley_price_is_refused() -> None:
    with pytest.raises(HubInputError) as exc:
        prepare_hub({"packs": [{"pack_id": "x", "nominal_energy_kwh": 70, "soh_fraction": 0.8}],
                     "grid": {"export_price_per_kwh": 0.5}})
    assert exc.value.field == "grid.export_price_per_kwh" and "lowest import price" in exc.value.rule


def test_bad_method_and_days() -> None:
    cfg = {"packs": [{"pack_id": "x", "nominal_energy_kwh": 70, "soh_fraction": 0.8}]}
    with pytest.raises(HubInputError, match="method"):
        simulate_year(cfg, method="magic")
    with pytest.raises(HubInputError, match="days"):
        simulate_year(cfg, days=0)


def test_config_file_round_trip(tmp_path) -> None:
    f = tmp_path / "hub.toml"
    f.write_text('name = "north"\npv_kwp = 250\n[[packs]]\npack_id = "a"\nnominal_energy_kwh = 70\nsoh_fraction = 0.8\n')
    hub = load_hub_config(f)
    assert hub.name == "north" and hub.pv_kwp == 250
    bad = tmp_path / "hub.toml"
    bad.write_text("name = \n")
    with pytest.raises(HubInputError, match="not valid TOML"):
        load_hub_config(bad)


def test_dashboard_figures(small_hub: dict[str, Any]) -> None:
    from batteryloop.hubs.charts import pack_soh, power_stack, stored_energy

    r = simulate_year(small_hub, days=10)
    f = power_stack(r, days=2)
    names = [t["name"] for t in f["data"]]
    assert "PV" in names and "swap charging" in names and len(f["data"][0]["x"]) == 48
    assert len(pack_soh(r)["data"]) == len(r.pack_ids)
    assert len(stored_energy(r, days=1)["data"][0]["y"]) == 24


def test_fade_from_the_packs_own_history_drives_its_wear_cost() -> None:
    from batteryloop.hubs.storage import fade_from_history

    k = np.arange(1, 401, dtype=float)
    rated = 2.0
    slow = rated * (0.80 - 0.00005 * k)
    fast = rated * (0.80 - 0.0002 * k)
    s1, f1, _ = fade_from_history(k, slow, rated_capacity_ah=rated)
    s2, f2, _ = fade_from_history(k, fast, rated_capacity_ah=rated)
    assert f1 == pytest.approx(0.00005, rel=0.15) and f2 == pytest.approx(0.0002, rel=0.15)
    a = AgeingModel.from_references()
    p1 = Pack(pack_id="slow", nominal_energy_kwh=70, soh_fraction=s1, measured_fade_per_fec=f1)
    p2 = Pack(pack_id="fast", nominal_energy_kwh=70, soh_fraction=s1, measured_fade_per_fec=f2)
    assert string_figures([p2], [s1], a)["deg_cost_per_kwh"] == pytest.approx(4 * string_figures([p1], [s1], a)["deg_cost_per_kwh"], rel=0.3)
    with pytest.raises(HubInputError, match="capacity_ah"):
        fade_from_history(k[:5], slow[:5], rated_capacity_ah=rated)


def test_pack_from_passport_view_and_state_of_health() -> None:
    from batteryloop.hubs import pack_from_passport

    view = {"battery": {"passport_id": "BP-1", "state_of_health": {"soh_capacity_pct": 78.0, "ohmic_resistance_increase_pct": 30.0,
                                                                 "remaining_round_trip_efficiency_pct": 91.0,
                                                                 "remaining_power_capability_pct": 80.0}},
            "model": {"chemistry": "LFP", "rated_energy_kwh": 60.0, "max_permitted_power_w": 100_000.0}}
    p = pack_from_passport(view)
    assert (p.pack_id, p.chemistry, p.soh_fraction, p.resistance_increase_pct) == ("BP-1", "LFP", 0.78, 30.0)
    assert p.round_trip_efficiency_fraction == pytest.approx(0.91) and p.power_kw == pytest.approx(80.0)
    with pytest.raises(HubInputError) as exc:
        pack_from_passport({"battery": {"passport_id": "BP-2", "state_of_health": {}}, "model": {}})
    assert exc.value.field == "state_of_health.soh_capacity_pct"


def test_series_are_timestamped_in_utc_and_pv_follows_the_calendar(small_hub: dict[str, Any], tmp_path) -> None:
    from datetime import UTC, datetime

    winter = simulate_year({**small_hub, "start_date": "2026-12-01"}, days=3)
    summer = simulate_year({**small_hub, "start_date": "2026-06-01"}, days=3)
    ts = summer.timestamps_utc()
    assert ts[0] == datetime(2026, 5, 31, 16, tzinfo=UTC)  # local midnight at UTC+8
    assert len(ts) == 72 and ts[1] - ts[0] == (ts[2] - ts[1])
    assert summer.totals["pv_kwh"] > winter.totals["pv_kwh"]
    # a PV profile path in a config file is relative to the file
    (tmp_path / "pv.csv").write_text("pv_kw\n" + "\n".join(str(max(0.0, 50 - abs(h - 12) * 8)) for h in range(24)))
    (tmp_path / "hub.toml").write_text('pv_profile_csv = "pv.csv"\n[[packs]]\npack_id = "a"\nnominal_energy_kwh = 70\nsoh_fraction = 0.8\n')
    hub = load_hub_config(tmp_path / "hub.toml")
    r = simulate_year(hub, days=2)
    assert r.hourly["pv_kw"][:24].max() == pytest.approx(50.0)
