"""Second life's lifetime figures say where they come from (mend12, issue 18's review): the longest second life
is NREL's second-use study (nrel_2015_second_use), the end of second life (60 % state of health) is a project
assumption said so plainly (batteryloop_assumptions), both overridable; the route decision and the hubs' levelised
cost share them and list them among the values they used."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from batteryloop.circular.routes import RouteEconomics, decide_route
from batteryloop.reference import References


def _used(refs: list) -> dict[tuple[str, str], object]:
    return {(r.set, r.key): r for r in refs}


def test_each_lifetime_figure_has_a_source_or_says_it_is_an_assumption() -> None:
    refs = References.default()
    nrel = refs.set("nrel_2015_second_use")
    assert nrel.get("second_use_years") == 10.0 and "NREL/TP-5400-63332" in nrel.citation.title
    assert "Source" in importlib.import_module("batteryloop.reference.nrel_2015_second_use").__doc__
    assert refs.set("batteryloop_assumptions").get("second_life_end_soh_fraction") == 0.60
    doc = importlib.import_module("batteryloop.reference.batteryloop_assumptions").__doc__
    assert "``second_life_end_soh_fraction`` (0.60)" in doc and "project assumption" in doc
    assert not refs.set("second_life_literature").has("second_life_end_soh_fraction")  # not the literature's
    assert not refs.set("batteryloop_assumptions").has("route", "repurpose_max_years")  # sourced now
    # one key for the figure: the pilot reads it too (tests/sim/test_second_life_end.py)
    assert not refs.set("batteryloop_assumptions").has("pilot", "second_life_end_soh_pct")
    e = RouteEconomics.from_references()
    assert e.repurpose_max_years == 10.0 and e.repurpose_end_soh_fraction == 0.60


def test_the_route_decision_names_them_and_follows_their_overrides() -> None:
    slow = {"repurpose_cycles_per_year": 50.0}  # an LFP pack barely cycled: its second life is the longest counted
    d = decide_route("LFP", 60.0, 0.75, sensitivity=False, economics=slow)
    used = _used(d.references)
    years = used[("nrel_2015_second_use", "second_use_years")]
    end = used[("batteryloop_assumptions", "second_life_end_soh_fraction")]
    assert years.value == 10.0 and not years.verified and "National Renewable Energy Laboratory" in years.source
    assert end.value == 0.60 and not end.verified and "batteryloop" in end.source
    assert d.option("repurpose").reason == "10.00 years of second life until SoH 0.6"
    shorter = References.default().override({"nrel_2015_second_use": {"second_use_years": 6.0}})
    d6 = decide_route("LFP", 60.0, 0.75, sensitivity=False, economics=slow, references=shorter)
    assert d6.option("repurpose").reason == "6.00 years of second life until SoH 0.6"
    assert _used(d6.references)[("nrel_2015_second_use", "second_use_years")].overridden
    # at the default duty an NMC pack reaches the end of second life first; a lower end lets it serve longer
    n = decide_route("NMC622", 70.0, 0.75, sensitivity=False).option("repurpose").reason
    lower = References.default().override({"batteryloop_assumptions": {"second_life_end_soh_fraction": 0.5}})
    n50 = decide_route("NMC622", 70.0, 0.75, sensitivity=False, references=lower)
    assert n.endswith("until SoH 0.6") and n50.option("repurpose").reason.endswith("until SoH 0.5")
    assert float(n50.option("repurpose").reason.split()[0]) > float(n.split()[0])
    assert _used(n50.references)[("batteryloop_assumptions", "second_life_end_soh_fraction")].overridden


def test_the_hubs_levelised_cost_counts_the_route_decisions_longest_second_life() -> None:
    from batteryloop.hubs.economics import hub_economics
    from batteryloop.hubs.hub import prepare_hub
    from batteryloop.hubs.year import simulate_year

    # LFP packs barely cycled: their second life is the longest counted
    cfg = {"name": "slow", "pv_kwp": 50, "swap": {"swaps_per_day": 0, "simulated_days": 1},
           "ev_charging": {"sessions_per_day": 0},
           "packs": [{"pack_id": f"P{i}", "chemistry": "LFP", "nominal_energy_kwh": 60, "soh_fraction": 0.8}
                     for i in range(2)]}
    hub = prepare_hub(cfg)
    year = simulate_year(hub, days=7)
    e = hub_economics(year, hub)
    used = _used(e.references)
    assert used[("nrel_2015_second_use", "second_use_years")].value == 10.0
    assert ("batteryloop_assumptions", "second_life_end_soh_fraction") in used
    assert e.lcos["second_life"].years == pytest.approx(RouteEconomics.from_references().repurpose_max_years)
    refs = References.default().override({"nrel_2015_second_use": {"second_use_years": 4.0}})
    assert hub_economics(year, hub, references=refs).lcos["second_life"].years == pytest.approx(4.0)
    assert np.isfinite(e.lcos["new"].years)
