"""The routes page aggregates every route decision of the pilot, not the per-pack sample the report keeps."""

from __future__ import annotations

import pytest

from batteryloop.access import Caller
from batteryloop.sim.report import decision_groups, _sample_by_year
from batteryloop.web.pilot.routes import routes


def _decisions() -> list[dict]:
    # 2025: 45 packs re-used (SoH 80, 81, …, 89 repeating; NPV 100 each), 5 recycled (SoH 60; NPV 10)
    # 2026: 2 repurposed (SoH 75 and 77)
    out = [{"year": 2025, "pack": f"P{i}", "model": "M1", "route": "reuse", "grade": "A", "soh_pct": 80.0 + i % 10,
            "npv_usd": 100.0} for i in range(45)]
    out += [{"year": 2025, "pack": f"R{i}", "model": "M2", "route": "recycle_hydro", "grade": "D", "soh_pct": 60.0,
             "npv_usd": 10.0} for i in range(5)]
    out += [{"year": 2026, "pack": f"S{i}", "model": "M1", "route": "repurpose", "grade": "B", "soh_pct": 75.0 + 2 * i,
             "npv_usd": 50.0} for i in range(2)]
    return out


def test_groups_by_hand() -> None:
    """reuse 2025: 45 packs, SoH values 80..89 four and a half times over: sum = 4 × 845 + (80+…+84) = 3,380 + 410
    = 3,790, mean 84.22; quartiles over the 45 values (numpy's linear percentile): median 84."""
    g = decision_groups(_decisions())
    rows = {(r["year"], r["route"]): r for r in g["rows"]}
    assert [(k, r["packs"]) for k, r in rows.items()] == [((2025, "recycle_hydro"), 5), ((2025, "reuse"), 45),
                                                          ((2026, "repurpose"), 2)]
    assert rows[(2025, "reuse")]["soh_sum"] == pytest.approx(3790.0)
    assert rows[(2025, "reuse")]["npv_sum_usd"] == pytest.approx(4500.0)
    assert rows[(2025, "recycle_hydro")]["grades"] == {"D": 5} and rows[(2025, "reuse")]["models"] == {"M1": 45}
    q = g["soh_by_route"]["reuse"]
    assert q["n"] == 45 and q["median"] == 84.0 and q["lowerfence"] == 80.0 and q["upperfence"] == 89.0


def test_page_counts_every_decision_not_the_sample() -> None:
    decisions = _decisions()
    sample = _sample_by_year(decisions, 40)
    assert len(sample) == 42  # 40 of 2025's 50 (all re-used: the recycled ones came last), 2 of 2026
    rep = {"decisions_sample": sample, "decision_groups": decision_groups(decisions),
           "summary": {"route_decisions": len(decisions)}}
    page = routes(rep, Caller(None, frozenset()))
    agg = {(a["year"], a["route"]): a for a in page["agg"]}
    assert agg[(2025, "reuse")]["packs"] == 45 and agg[(2025, "recycle_hydro")]["packs"] == 5
    assert agg[(2025, "reuse")]["mean_soh"] == pytest.approx(3790.0 / 45)
    assert agg[(2026, "repurpose")]["mean_soh"] is None  # two packs: their own figures, withheld
    assert page["n_grouped"] == 52 == page["total_decisions"]
    assert page["decisions"] is None  # an anonymous reader gets no pack-by-pack list


def test_a_report_from_before_the_aggregates_is_grouped_from_its_sample() -> None:
    """Reports stored before ``decision_groups`` existed: the page groups the sample the report's way."""
    sample = _sample_by_year(_decisions(), 40)
    page = routes({"decisions_sample": sample, "summary": {"route_decisions": 52}}, Caller(None, frozenset()))
    agg = {(a["year"], a["route"]): a["packs"] for a in page["agg"]}
    assert agg == {(2025, "reuse"): 40, (2026, "repurpose"): 2} and page["n_grouped"] == 42
