"""Route decision: NPVs by hand, constraints, the break-even flips, batch = single, residual value."""

from __future__ import annotations

import numpy as np
import pytest

from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.recycling import recycle_pack
from batteryloop.circular.routes import (
    ROUTES,
    RouteEconomics,
    decide_route,
    decide_routes_batch,
    residual_value,
)
from batteryloop.reference import References
from tests.circular.unpriced import unpriced_references


def best_recycle_per_kwh(chem: str) -> float:
    return max(recycle_pack(chem, 1, p).material_net_value_usd for p in ("pyro", "hydro", "direct"))


def test_default_economics_come_from_references():
    e = RouteEconomics.from_references()
    # repurposing cost: mid-point of 27.2–38.3 EUR/kWh (Lieskoski 2024) × 1.0824 USD/EUR (ECB 2024)
    assert e.repurpose_cost_usd_per_kwh == pytest.approx((27.2 + 38.3) / 2 * 1.0824)
    assert e.new_pack_price_usd_per_kwh == 115.0 and e.repurpose_end_soh_fraction == 0.60


def test_repurpose_npv_by_hand_lfp():
    """docs/circular.md, "Second life: one model" — an LFP pack of 60 kWh at SoH 0.75 at the default duty (300
    cycles a year, depth 0.85, 25 °C, η 0.90) and value (0.06 $/kWh discharged). −ds/dt = 300 × 4e-5 × (0.8/s)²
    + 0.01, one midpoint step a year: 0.75 → 0.725906 → 0.700825 → 0.674600 → 0.647031 → 0.617856 → 0.586720;
    n = 5 + (0.617856 − 0.6)/(0.617856 − 0.586720) = 5.573472 years. Yearly income (kWh discharged = 60 × s̄ ×
    300 × 0.947368 × w; less O&M 60 × 0.75 × 3.011215 × w), discounted at 8 % at the end of each year (the last
    at n): 573.6459 + 509.5855 + 451.0028 + 397.3674 + 348.1759 + 182.0632 = 2461.8408 $. Capital: −60 ×
    35.4486 − 60 × 0.75 × 60 = −4826.916 $. Recycling at the end: 1.08^−5.573472 = 0.651199 × R."""
    d = decide_route("LFP", 60, 0.75, sensitivity=False)
    eol = 60 * best_recycle_per_kwh("LFP") * 0.6511989
    assert d.option("repurpose").npv_usd == pytest.approx(-4826.916 + 2461.8408 + eol, abs=0.01)
    assert d.option("repurpose").reason == "5.57 years of second life until SoH 0.6"
    from batteryloop.circular.second_life import SecondLifeDegradation

    p = SecondLifeDegradation.from_references().project(0.75, 4e-5, 0.0, d.economics.second_life_duty(), end_soh=0.6, max_years=10)
    assert p.soh[:7, 0] == pytest.approx([0.75, 0.725906, 0.700825, 0.674600, 0.647031, 0.617856, 0.586720], abs=1e-6)
    assert p.years[0] == pytest.approx(5.573472, abs=1e-6)


def test_reuse_and_remanufacture_npv_by_hand_nmc622():
    d = decide_route("NMC622", 75, 0.85, sensitivity=False)
    rec = 75 * best_recycle_per_kwh("NMC622")
    reuse = 75 * (0.85 * 115 * 0.60 - 5.0) + rec * 1.08 ** -5
    reman = 75 * (0.95 * 115 * 0.75 - 15.0 - (0.95 - 0.85) * 115 * 0.75) + rec * 1.08 ** -6
    assert d.option("reuse").npv_usd == pytest.approx(reuse)
    assert d.option("remanufacture").npv_usd == pytest.approx(reman)
    hydro = recycle_pack("NMC622", 75, "hydro").material_net_value_usd
    assert d.option("recycle_hydro").npv_usd == pytest.approx(hydro)
    # the ranking is by NPV, feasible first
    npvs = [o.npv_usd for o in d.ranking if o.feasible]
    assert npvs == sorted(npvs, reverse=True) and d.recommended == d.ranking[0].route


def test_thresholds_make_routes_infeasible_with_reasons():
    d = decide_route("NMC622", 75, 0.62, sensitivity=False)
    assert not d.option("reuse").feasible and "below re-use minimum" in d.option("reuse").reason
    assert not d.option("repurpose").feasible
    assert d.recommended.startswith("recycle_")


def test_safety_flag_and_rejected_grade_force_recycling():
    flagged = decide_route("NMC622", 75, 0.95, safety_flags=["swelling"], sensitivity=False)
    assert flagged.recommended.startswith("recycle_")
    assert "swelling" in flagged.option("reuse").reason
    for g in ("recycle", "rejected"):  # "recycle" is health.grading's lowest grade
        rejected = decide_route("NMC622", 75, 0.95, grade=g, sensitivity=False)
        assert rejected.recommended.startswith("recycle_")
        assert not rejected.option("repurpose").feasible and "does not allow" in rejected.option("repurpose").reason
    c = decide_route("NMC622", 75, 0.95, grade="C", sensitivity=False)
    assert c.recommended in ("repurpose", "recycle_direct", "recycle_hydro", "recycle_pyro")
    with pytest.raises(CircularInputError) as e:
        decide_route("NMC622", 75, 0.95, grade="Z")
    assert e.value.field == "grade"


def test_missing_cathode_price_makes_direct_infeasible_not_fatal():
    d = decide_route("NMC532", 60, 0.5, sensitivity=False)
    assert not d.option("recycle_direct").feasible and "no price" in d.option("recycle_direct").reason
    assert d.recommended == "recycle_hydro"


def test_bad_inputs_name_the_field():
    for kwargs, field in [
        ({"soh_fraction": 85}, "soh_fraction"),
        ({"capacity_kwh": -1}, "capacity_kwh"),
        ({"economics": {"discount_rate_fraction": 1.5}}, "economics.discount_rate_fraction"),
        ({"economics": {"bogus": 1}}, "economics.bogus"),
    ]:
        args = {"chemistry": "LFP", "capacity_kwh": 60, "soh_fraction": 0.8, **kwargs}
        with pytest.raises(CircularInputError) as e:
            decide_route(**args)
        assert e.value.field == field


def _sens(d, name):
    return next(s for s in d.sensitivity if s.parameter == name)


def test_decision_flips_at_new_pack_price_break_even():
    d = decide_route("NMC622", 75, 0.78)
    s = _sens(d, "economics.new_pack_price_usd_per_kwh")
    assert s.flips_at is not None and s.new_best != d.recommended
    below = decide_route("NMC622", 75, 0.78, economics={"new_pack_price_usd_per_kwh": s.flips_at * 0.99}, sensitivity=False)
    above = decide_route("NMC622", 75, 0.78, economics={"new_pack_price_usd_per_kwh": s.flips_at * 1.01}, sensitivity=False)
    assert {below.recommended, above.recommended} == {d.recommended, s.new_best}


def test_decision_flips_at_lithium_price_break_even():
    # a pack below every reuse threshold: direct vs hydro recycling turns on the Li2CO3 price
    d = decide_route("NMC622", 75, 0.5)
    s = _sens(d, "prices_usd_per_kg.Li2CO3")
    assert d.recommended == "recycle_direct" and s.new_best == "recycle_hydro"
    lo = decide_route("NMC622", 75, 0.5, prices_usd_per_kg={"Li2CO3": s.flips_at * 0.99}, sensitivity=False)
    hi = decide_route("NMC622", 75, 0.5, prices_usd_per_kg={"Li2CO3": s.flips_at * 1.01}, sensitivity=False)
    assert lo.recommended == "recycle_direct" and hi.recommended == "recycle_hydro"
    # at the break-even the two recycling values are equal
    at = decide_route("NMC622", 75, 0.5, prices_usd_per_kg={"Li2CO3": s.flips_at}, sensitivity=False)
    assert at.option("recycle_direct").npv_usd == pytest.approx(at.option("recycle_hydro").npv_usd, rel=1e-6)


def test_decision_flips_at_soh_break_even():
    d = decide_route("LFP", 60, 0.75)
    s = _sens(d, "soh_fraction")
    assert s.flips_at is not None
    eps = 1e-4
    side = [decide_route("LFP", 60, x, sensitivity=False).recommended for x in (s.flips_at - eps, s.flips_at + eps)]
    assert side[0] != side[1] and d.recommended in side and s.new_best in side


def test_batch_equals_single_pack_decisions():
    rng = np.random.default_rng(7)
    n = 200
    chems = rng.choice(["NMC622", "NMC811", "LFP", "NMC532", "LMO"], n)
    cap = rng.uniform(20, 110, n)
    soh = rng.uniform(0.4, 1.0, n)
    grades = rng.choice(np.array(["A", "B", "C", None], dtype=object), n)
    flagged = rng.random(n) < 0.1
    batch = decide_routes_batch(chems, cap, soh, grade=grades, safety_flagged=flagged)
    for i in range(0, n, 7):
        single = decide_route(chems[i], cap[i], soh[i], grade=grades[i],
                              safety_flags=["flag"] if flagged[i] else [], sensitivity=False)
        assert batch.best_routes()[i] == single.recommended
        for j, route in enumerate(ROUTES):
            o = single.option(route)
            if o.feasible:
                assert batch.npv_usd[i, j] == pytest.approx(o.npv_usd)
            else:
                assert np.isnan(batch.npv_usd[i, j])


def test_batch_errors_name_the_index():
    with pytest.raises(CircularInputError) as e:
        decide_routes_batch(["LFP", "LFP"], np.array([60.0, 60.0]), np.array([0.8, 1.2]))
    assert e.value.field == "soh_fraction[1]"
    with pytest.raises(CircularInputError) as e:
        decide_routes_batch(["LFP", "XYZ"], np.array([60.0, 60.0]), np.array([0.8, 0.7]))
    assert "chemistry" in e.value.field


def test_residual_value_declines_with_health_and_uses_overrides():
    pts = residual_value("NMC811", 75, [(0, 1.0), (4, 0.9), (8, 0.8), (12, 0.65), (15, 0.5)])
    values = [p.value_usd for p in pts]
    assert values == sorted(values, reverse=True)
    assert pts[-1].best_route.startswith("recycle_")
    assert pts[1].present_value_usd == pytest.approx(pts[1].value_usd * 1.08 ** -4)
    cheap = References.default().override({"second_life_literature": {"new_pack_price_usd_per_kwh": 60.0}})
    assert residual_value("NMC811", 75, [(0, 1.0)], references=cheap)[0].value_usd < values[0]
    with pytest.raises(CircularInputError):
        residual_value("NMC811", 75, [(5, 0.9), (2, 0.95)])


def test_encoded_columns_give_the_same_decisions():
    rng = np.random.default_rng(11)
    n = 500
    names = ["LFP", "NMC811", "NCA"]
    ci = rng.integers(0, 3, n)
    gnames = ["A", "C", "D"]
    gi = rng.integers(-1, 3, n)  # -1: no grade
    cap = rng.uniform(20, 100, n)
    soh = rng.uniform(0.3, 1.0, n)
    enc = decide_routes_batch(names, cap, soh, chemistry_index=ci, grade=gnames, grade_index=gi)
    plain = decide_routes_batch(np.array(names)[ci], cap, soh,
                                grade=np.array([None if k < 0 else gnames[k] for k in gi], dtype=object))
    assert np.array_equal(enc.best_index, plain.best_index)
    assert np.allclose(enc.npv_usd, plain.npv_usd, equal_nan=True)
    assert not enc.best_routes()[int(np.argmax(gi == 2))].startswith(("reuse", "remanufacture", "repurpose"))
    with pytest.raises(CircularInputError) as e:
        decide_routes_batch(names, cap, soh, chemistry_index=ci + 5)
    assert e.value.field == "chemistry_index"


# ---------------------------------------------------------------------------------------------------
# a pack with no possible route: reported as such, with the reason, never as a decision


def test_sensitivity_without_reference_prices():
    """References that price no recovered material (tests/circular/unpriced.py) used to raise KeyError
    'Li2CO3' in the sensitivity. By hand, NMC622, 75 kWh, SoH 0.85, recycling unpriced (R = 0):
    re-use = 75 (0.85 × 0.60 P − 5), remanufacture = 75 (0.95 × 0.75 P − 15 − 0.10 × 0.75 P) = 75 (0.6375 P − 15):
    remanufacture wins at P = 115 and re-use takes over below P = 10 / 0.1275 = 78.43137 $/kWh. In SoH,
    remanufacture is possible down to 0.70; below it only repurpose is (down to its minimum 0.65). The material prices have
    no reference value to search from: said so, not searched."""
    d = decide_route("NMC622", 75, 0.85, references=unpriced_references())
    assert d.recommended == "remanufacture"
    by = {s.parameter: s for s in d.sensitivity}
    assert by["soh_fraction"].flips_at == pytest.approx(0.70, abs=1e-9) and by["soh_fraction"].new_best == "repurpose"
    price = by["economics.new_pack_price_usd_per_kwh"]
    assert price.flips_at == pytest.approx(10 / 0.1275, rel=1e-9) and price.new_best == "reuse"
    for key in ("Li2CO3", "Co", "Ni"):
        s = by[f"prices_usd_per_kg.{key}"]
        assert (s.current, s.flips_at, s.new_best, s.searched) == (None, None, None, f"not searched: no price for {key}")
    # a price the caller gives is searched from, even when the references have none: Li2CO3 at 10 $/kg
    # (recycling still lacks the other prices, so the decision cannot flip on it)
    li = next(s for s in decide_route("NMC622", 75, 0.85, references=unpriced_references(),
                                      prices_usd_per_kg={"Li2CO3": 10.0}).sensitivity if s.parameter == "prices_usd_per_kg.Li2CO3")
    assert (li.current, li.searched, li.flips_at, li.new_best) == (10.0, "0–100", None, None)


def test_sensitivity_reports_where_no_route_is_possible():
    """A grade that allows re-use only (grade table {"X": ("reuse",)}), SoH 0.9: re-use is possible down
    to its minimum 0.80 and nothing is below it: the SoH flip is at 0.80 to no route (new_best None), not
    'no flip'."""
    d = decide_route("NMC622", 75, 0.9, grade="X", grade_routes={"X": ("reuse",)})
    soh = next(s for s in d.sensitivity if s.parameter == "soh_fraction")
    assert d.recommended == "reuse"
    assert soh.flips_at == pytest.approx(0.80, abs=1e-9) and soh.new_best is None


@pytest.mark.parametrize(
    ("kwargs", "field", "reason"),
    [
        # safety flag: recycling only, and recycling has no price
        ({"safety_flagged": np.array([False, True])}, "prices_usd_per_kg",
         "pack 1: no feasible route: no price for a material that recycle_pyro, recycle_hydro, recycle_direct recover "
         "from NMC622; reuse, remanufacture, repurpose not allowed (safety flagged) (1 of 2 packs have none)"),
        # grade recycle: the same
        ({"grade": ["A", "recycle"]}, "prices_usd_per_kg",
         "pack 1: no feasible route: no price for a material that recycle_pyro, recycle_hydro, recycle_direct recover "
         "from NMC622; reuse, remanufacture, repurpose not allowed (grade recycle) (1 of 2 packs have none)"),
        # SoH 0.5: below every second-life minimum (re-use 0.80, remanufacture 0.70, repurpose 0.60)
        ({"soh_fraction": np.array([0.85, 0.5])}, "prices_usd_per_kg",
         "pack 1: no feasible route: no price for a material that recycle_pyro, recycle_hydro, recycle_direct recover "
         "from NMC622; reuse, remanufacture, repurpose not possible at SoH 0.50 (1 of 2 packs have none)"),
    ],
)
def test_batch_without_any_possible_route_is_an_error_not_reuse(kwargs, field, reason):
    """With references that price no recovered material, a pack that may only be recycled (or is below every
    second-life minimum) has no possible route. The batch used to report it as 'reuse' (column 0 of an
    all-NaN row); it must say which pack and why instead."""
    args = {"capacity_kwh": np.array([75.0, 75.0]), "soh_fraction": np.array([0.85, 0.85])} | kwargs
    with pytest.raises(CircularInputError) as e:
        decide_routes_batch(["NMC622", "NMC622"], args.pop("capacity_kwh"), args.pop("soh_fraction"),
                            references=unpriced_references(), **args)
    assert (e.value.field, e.value.value, e.value.rule) == (field, {}, reason)


def test_no_route_without_a_price_problem_names_the_state_of_health():
    """Default references (recycling priced), a grade table allowing re-use only, SoH 0.5 < 0.80: no route,
    and the input at fault is the state of health (single pack and batch alike)."""
    with pytest.raises(CircularInputError) as e:
        decide_route("NMC622", 75, 0.5, grade="X", grade_routes={"X": ("reuse",)})
    assert (e.value.field, e.value.value) == ("soh_fraction", 0.5)
    assert e.value.rule == ("no feasible route: reuse not possible at SoH 0.50; remanufacture, repurpose, recycle_pyro, "
                            "recycle_hydro, recycle_direct not allowed (grade X)")
    with pytest.raises(CircularInputError) as e:
        decide_routes_batch(["NMC622"] * 2, np.array([75.0, 75.0]), np.array([0.9, 0.5]), grade=["X", "X"],
                            grade_routes={"X": ("reuse",)})
    assert (e.value.field, e.value.value) == ("soh_fraction[1]", 0.5)
    assert e.value.rule == ("pack 1: no feasible route: reuse not possible at SoH 0.50; remanufacture, repurpose, recycle_pyro, "
                            "recycle_hydro, recycle_direct not allowed (grade X) (1 of 2 packs have none)")
    # NMC532 has no cathode price: a grade allowing direct recycling only leaves one unpriced route
    with pytest.raises(CircularInputError) as e:
        decide_route("NMC532", 60, 0.9, grade="X", grade_routes={"X": ("recycle_direct",)})
    assert (e.value.field, e.value.value) == ("prices_usd_per_kg", {})
    assert e.value.rule == ("no feasible route: no price for a material that recycle_direct recovers from NMC532; reuse, "
                            "remanufacture, repurpose, recycle_pyro, recycle_hydro not allowed (grade X)")
    # an empty grade: nothing allowed at all, the grade is at fault
    with pytest.raises(CircularInputError) as e:
        decide_route("NMC622", 75, 0.9, grade="none", grade_routes={"none": ()})
    assert (e.value.field, e.value.value) == ("grade", "none")
    with pytest.raises(CircularInputError) as e:
        decide_routes_batch(["NMC622"], np.array([75.0]), np.array([0.9]), grade=["none"], grade_routes={"none": ()})
    assert (e.value.field, e.value.value) == ("grade[0]", "none")


def test_residual_value_has_no_value_where_no_route_is_possible():
    """Unpriced references, SoH 0.5 at year 4: no route is possible; the residual value used to be the NaN of
    're-use'. Now an error naming the state of health's pack (index 1 of the series)."""
    with pytest.raises(CircularInputError, match=r"pack 1: no feasible route: .* not possible at SoH 0\.50"):
        residual_value("NMC622", 75, [(0, 0.85), (4, 0.5)], references=unpriced_references())


def test_every_batch_decision_is_a_possible_route():
    """Property: over a random fleet (default references, grades, flags), the chosen route's NPV is never NaN."""
    rng = np.random.default_rng(3)
    n = 300
    b = decide_routes_batch(rng.choice(["NMC622", "LFP", "NMC532"], n), rng.uniform(20, 100, n), rng.uniform(0, 1, n),
                            grade=rng.choice(np.array(["A", "B", "C", "recycle", None], dtype=object), n),
                            safety_flagged=rng.random(n) < 0.2)
    assert np.all(np.isfinite(b.npv_usd[np.arange(n), b.best_index]))
