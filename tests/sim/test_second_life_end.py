"""One figure, one key: the end of second life is ``batteryloop_assumptions.second_life_end_soh_fraction`` for the
route decision, the hubs and the pilot alike (the pilot once read a second key of its own,
``pilot.second_life_end_soh_pct``, which an override of the first did not reach); the old key is refused naming
the new one."""

from __future__ import annotations

from pathlib import Path

import pytest

from batteryloop.circular.routes import RouteEconomics
from batteryloop.reference import ReferenceDataError, References
from tests.conftest import make_services

END = 0.66  # above the default 60 %, below the state of health packs are repurposed at (≥ 65 %)


def _refs() -> References:
    return References.default().override({"batteryloop_assumptions": {"second_life_end_soh_fraction": END},
                                          # no balance of system: the route decision repurposes packs
                                          "stationary_storage_costs": {"second_life_bos_usd_per_kwh": 0.0}})


def test_an_override_of_the_end_of_second_life_reaches_the_pilot_the_route_and_the_hubs(tmp_path: Path) -> None:
    from batteryloop.hubs.hub import prepare_hub
    from batteryloop.hubs.year import simulate_year
    from batteryloop.sim.loop import PilotConfig, run_pilot
    from batteryloop.store.db import Store

    refs = _refs()
    # the route decision
    assert RouteEconomics.from_references(refs).repurpose_end_soh_fraction == END
    # a hub: a pack at 63 % retires on the first day under the override, not under the default 60 %
    cfg = {"name": "end", "pv_kwp": 10, "swap": {"swaps_per_day": 0, "simulated_days": 1},
           "ev_charging": {"sessions_per_day": 0},
           "packs": [{"pack_id": f"P{i}", "chemistry": "LFP", "nominal_energy_kwh": 60, "soh_fraction": 0.63}
                     for i in range(2)]}
    retired = {name: simulate_year(prepare_hub(cfg, r), days=1, method="rule_based").pack_retired_day
               for name, r in (("default", References.default()), ("override", refs))}
    assert retired["default"] == [None, None] and None not in retired["override"], retired
    # the pilot: its packs leave storage below the override, some of them at or above the default's 60 %
    store = Store(f"sqlite:///{tmp_path}/p.db")
    store.upgrade()
    svc = make_services(store)
    rep = run_pilot(svc, PilotConfig(packs=300, years=10, seed=5, dataspace=False, lanzhou=False), references=refs)
    # the repurposers' models declare it as their capacity threshold (sim.pilot.second_life_model)
    from batteryloop.access import Caller

    second = [m["data"] for m in svc.passports.list_models(Caller(is_admin=True)) if "-SL-" in m["model_id"]]
    store.dispose()
    assert second and {m["capacity_threshold_exhaustion_pct"] for m in second} == {100 * END}
    ended = [d["soh_pct"] for d in rep["decisions_sample"] if d["life"] == "second"]
    assert ended and all(s < 100 * END for s in ended), ended
    assert any(s >= 60.0 for s in ended), f"no pack left second life above the default 60 %: {ended}"
    used = {(r["set"], r["key"]): r for r in rep["references"]}
    assert used[("batteryloop_assumptions", "second_life_end_soh_fraction")]["value"] == END
    assert used[("batteryloop_assumptions", "second_life_end_soh_fraction")]["overridden"] is True
    assert not [k for k in used if "second_life_end_soh_pct" in k[1]]


def test_the_old_pilot_key_is_refused_naming_the_new_one(tmp_path: Path) -> None:
    assert not References.default().set("batteryloop_assumptions").has("pilot", "second_life_end_soh_pct")
    with pytest.raises(ReferenceDataError, match=r"pilot\.second_life_end_soh_pct: this key has moved to "
                                                 r"batteryloop_assumptions\.second_life_end_soh_fraction \(a fraction"):
        References.default().override({"batteryloop_assumptions": {"pilot": {"second_life_end_soh_pct": 55.0}}})
    old = tmp_path / "old.yaml"
    old.write_text("batteryloop_assumptions:\n  pilot:\n    second_life_end_soh_pct: 55\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="moved to batteryloop_assumptions.second_life_end_soh_fraction"):
        References.default().override_file(old)
