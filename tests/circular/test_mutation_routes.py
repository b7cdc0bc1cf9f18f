"""Route decision (circular.routes) by hand, with every recovered material priced at 0 $/kg so that the
recycling values are the process-input costs alone (EverBatt inputs per kg of spent battery × the
project's input prices, REFERENCE.md §4; batteryloop_assumptions):

- pyro:   4.68 MJ / 3.6 × 0.08 + 0.6 × 0.025 + 0.30 × 0.03 + 0.15 × 0.02 + 0.21 × 0.20 + 0.06 × 0.60
          = 0.104 + 0.015 + 0.009 + 0.003 + 0.042 + 0.036 = 0.209 $/kg
- hydro:  1.08 × 0.10 + 0.561 × 0.50 + 0.366 × 0.60 + 2.5 × 0.004 + 0.125 / 3.6 × 0.08 + 0.6 × 0.025
          = 0.108 + 0.2805 + 0.2196 + 0.010 + 0.0027778 + 0.015 = 0.6358778 $/kg
- direct: 2.2 × 0.10 + 2.73 / 3.6 × 0.08 + 0.6 × 0.025 = 0.22 + 0.0606667 + 0.015 = 0.2956667 $/kg

An NMC622 pack weighs 5.15 kg per kWh, its cells 3.19 (BatPaC 5.0). A smelter takes the whole pack; hydro and
direct charge their inputs on the cells but diesel (0.015 $/kg) on the whole pack (pre-treatment sends the
housing to scrap metal: recycling.input_charged_on_cells), so per kWh: pyro −0.209 × 5.15 = −1.07635, hydro
−(0.6208778 × 3.19 + 0.015 × 5.15) = −2.0578502, direct −(0.2806667 × 3.19 + 0.07725) = −0.9725767 $; the best
recycling value of a 75 kWh pack is direct's, R = −72.943250 $ (before truth11b, all inputs on the pack: pyro's,
−80.72625 $).
Route economics (batteryloop_assumptions.route, second_life_literature): P = 115 $/kWh, r = 8 %,
re-use ≥ 0.80 at 0.60 × P less 5 $/kWh test, 5 years; remanufacture ≥ 0.70 to SoH 0.95 at 0.75 × P,
labour 15 $/kWh, cells 0.75 × P per SoH point, 6 years.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.routes import (
    ROUTES,
    RouteEconomics,
    decide_route,
    decide_routes_batch,
    recycle_value_usd_per_kwh,
    residual_value,
)
from batteryloop.reference import References
from tests.circular.second_life_hand import cal_only, linear_npv
from tests.circular.unpriced import unpriced_references

ZERO = {k: 0.0 for k in ("Al", "Cu", "steel", "graphite", "Li2CO3", "Ni", "Co", "Mn", "Fe", "cathode")}
_HYDRO_CELLS = 1.08 * 0.10 + 0.561 * 0.50 + 0.366 * 0.60 + 2.5 * 0.004 + 0.125 / 3.6 * 0.08  # 0.6208778 $/kg
_DIRECT_CELLS = 2.2 * 0.10 + 2.73 / 3.6 * 0.08  # 0.2806667 $/kg
PER_KWH = {"recycle_pyro": -0.209 * 5.15, "recycle_hydro": -(_HYDRO_CELLS * 3.19 + 0.015 * 5.15),
           "recycle_direct": -(_DIRECT_CELLS * 3.19 + 0.015 * 5.15)}
R75 = 75 * PER_KWH["recycle_direct"]  # −72.94325 $
DF5, DF6 = 1.08 ** -5, 1.08 ** -6


def test_recycling_values_are_input_costs_when_material_is_free() -> None:
    got = recycle_value_usd_per_kwh("NMC622", prices_usd_per_kg=ZERO)
    assert got == pytest.approx(PER_KWH, rel=1e-6)


def test_reuse_and_remanufacture_by_hand_with_free_material() -> None:
    """SoH 0.85: re-use = 75 (0.85 × 69 − 5) + R × 1.08⁻⁵ = 4023.75 + R df5; remanufacture = 75 (0.95 × 86.25
    − 15 − 0.10 × 86.25) + R df6 = 75 × 58.3125 + R df6; recycling = 75 × per-kWh value. Ranked by NPV:
    remanufacture, re-use, then the recycling routes (direct, pyro, hydro); repurpose last (its balance of system
    and a short NMC second life at 300 cycles a year cost more than storage earns at 0.06 $/kWh)."""
    d = decide_route("NMC622", 75, 0.85, prices_usd_per_kg=ZERO, sensitivity=False)
    assert d.option("reuse").npv_usd == pytest.approx(4023.75 + R75 * DF5, rel=1e-6)
    assert d.option("remanufacture").npv_usd == pytest.approx(75 * 58.3125 + R75 * DF6, rel=1e-6)
    for p, v in PER_KWH.items():
        assert d.option(p).npv_usd == pytest.approx(75 * v, rel=1e-6)
    assert d.recommended == "remanufacture"
    order = [o.route for o in d.ranking]
    assert order == ["remanufacture", "reuse", "recycle_direct", "recycle_pyro", "recycle_hydro", "repurpose"]
    assert d.recycle_value_usd_per_kwh == pytest.approx(PER_KWH, rel=1e-6)
    assert (d.chemistry, d.capacity_kwh, d.soh_fraction, d.grade, d.safety_flags) == ("NMC622", 75.0, 0.85, None, [])
    assert d.sensitivity == []
    flows = d.option("recycle_direct").cash_flows
    assert len(flows) == 1 and flows[0].amount_usd == pytest.approx(R75, rel=1e-6)


def test_sensitivity_by_hand() -> None:
    """SoH 0.85, free material. Remanufacture stays best down to its minimum SoH 0.70 (then recycling:
    below 0.70 only repurpose and recycling remain and direct recycling beats 5 years of second life),
    and upwards to 1.0 (re-use − remanufacture = 75 (17.25 s − 10) + R (df5 − df6) < 0 for s ≤ 0.95, and
    75 (69 s − 5 − 66.9375) < 0 up to 1): flips at 0.70.
    New-pack price: remanufacture − re-use = 75 (0.1275 P − 10) + R (df6 − df5) = 0 at
    P = (750 − R (df6 − df5)) / 9.5625; below it re-use wins."""
    d = decide_route("NMC622", 75, 0.85, prices_usd_per_kg=ZERO)
    by = {s.parameter: s for s in d.sensitivity}
    assert list(by) == ["soh_fraction", "economics.new_pack_price_usd_per_kwh",
                        "economics.repurpose_value_usd_per_kwh_delivered", "prices_usd_per_kg.Li2CO3",
                        "prices_usd_per_kg.Co", "prices_usd_per_kg.Ni"]
    soh = by["soh_fraction"]
    assert soh.current == 0.85 and soh.searched == "0–1"
    assert soh.flips_at == pytest.approx(0.70, abs=1e-9) and soh.new_best == "recycle_direct"
    price = by["economics.new_pack_price_usd_per_kwh"]
    p_star = (750 - R75 * (DF6 - DF5)) / 9.5625
    assert price.current == 115.0 and price.searched == "0–575"
    assert price.flips_at == pytest.approx(p_star, rel=1e-9) and price.new_best == "reuse"
    # free material: prices start at 0 and are searched over 0–1 $/kg
    li = by["prices_usd_per_kg.Li2CO3"]
    assert li.current == 0.0 and li.searched == "0–1" and li.flips_at is None and li.new_best is None
    assert by["economics.repurpose_value_usd_per_kwh_delivered"].searched == "0–1"


def test_sensitivity_reads_the_default_prices() -> None:
    """With reference prices (EverBatt 2023: Li2CO3 8.57, Co 50.35, Ni 16.85 $/kg) the searched ranges
    are 0 to ten times the price."""
    d = decide_route("NMC622", 75, 0.85)
    by = {s.parameter: s for s in d.sensitivity}
    assert (by["prices_usd_per_kg.Li2CO3"].current, by["prices_usd_per_kg.Li2CO3"].searched) == (8.57, "0–85.7")
    assert (by["prices_usd_per_kg.Co"].current, by["prices_usd_per_kg.Co"].searched) == (50.35, "0–503.5")
    assert (by["prices_usd_per_kg.Ni"].current, by["prices_usd_per_kg.Ni"].searched) == (16.85, "0–168.5")
    given = decide_route("NMC622", 75, 0.85, prices_usd_per_kg={"Co": 30.0})
    co = next(s for s in given.sensitivity if s.parameter == "prices_usd_per_kg.Co")
    assert co.current == 30.0 and co.searched == "0–300"


def test_economics_overrides_are_checked_and_recorded() -> None:
    e = RouteEconomics.from_references(reuse_years=0, reuse_price_fraction_of_new=1.0, discount_rate_fraction=0.0)
    assert (e.reuse_years, e.reuse_price_fraction_of_new, e.discount_rate_fraction) == (0.0, 1.0, 0.0)
    t = References.default().tracker()
    RouteEconomics.from_references(tracker=t, reuse_years=3)
    assert {(u.set, u.key, u.value) for u in t.used() if u.set == "input"} == {("input", "economics.reuse_years", 3)}
    assert ("batteryloop_assumptions", "route.reuse_years") in {(u.set, u.key) for u in t.used()}
    assert isinstance(e.reuse_years, float)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reuse_price_fraction_of_new": 1.5}, r"economics\.reuse_price_fraction_of_new=1\.5: must be a fraction between 0 and 1"),
        ({"discount_rate_fraction": -0.1}, r"economics\.discount_rate_fraction=-0\.1: must be a fraction between 0 and 1"),
        ({"reuse_years": -1}, r"economics\.reuse_years=-1: must be a finite number, 0 or more"),
        ({"reuse_years": math.inf}, r"economics\.reuse_years=inf: must be a finite number, 0 or more"),
        ({"reuse_years": True}, r"economics\.reuse_years=True: must be a finite number, 0 or more"),
        ({"reuse_years": "5"}, r"economics\.reuse_years='5': must be a finite number, 0 or more"),
        ({"zeta": 1, "alpha": 2}, r"economics\.alpha=2: unknown economics field; known: new_pack_price_usd_per_kwh, discount_rate_fraction, "),
    ],
)
def test_economics_errors_name_the_field(overrides: dict, message: str) -> None:
    with pytest.raises(CircularInputError, match=message):
        RouteEconomics.from_references(**overrides)


def test_grades_flags_and_their_reasons() -> None:
    """Grade B forbids re-use (reason names the grade and the route); a safety flag leaves only
    recycling (reason names the flags); infeasible routes carry no cash flows and rank last."""
    b = decide_route("NMC622", 75, 0.85, grade="B", prices_usd_per_kg=ZERO, sensitivity=False)
    reuse = b.option("reuse")
    assert (reuse.feasible, reuse.npv_usd, reuse.reason, reuse.cash_flows) == (False, None, "grade B does not allow reuse", [])
    assert b.ranking[-1].route == "reuse" and b.recommended == "remanufacture" and b.grade == "B"
    f = decide_route("NMC622", 75, 0.85, safety_flags=["swelling", "leak"], prices_usd_per_kg=ZERO, sensitivity=False)
    for route in ("reuse", "remanufacture", "repurpose"):
        o = f.option(route)
        assert (o.feasible, o.reason, o.cash_flows) == (False, "safety flags ['swelling', 'leak']: recycle only", [])
    assert f.recommended == "recycle_direct" and f.safety_flags == ["swelling", "leak"]
    assert [o.route for o in f.ranking[:3]] == ["recycle_direct", "recycle_pyro", "recycle_hydro"]
    with pytest.raises(CircularInputError, match="grade='Z': unknown grade; known: A, B, C, recycle, D, rejected"):
        decide_route("NMC622", 75, 0.85, grade="Z")
    custom = decide_route("NMC622", 75, 0.85, grade="X", grade_routes={"X": ("recycle_hydro",)}, sensitivity=False)
    assert custom.recommended == "recycle_hydro"


def test_below_a_threshold_the_route_is_infeasible_with_its_reason() -> None:
    d = decide_route("NMC622", 75, 0.75, prices_usd_per_kg=ZERO, sensitivity=False)
    reuse = d.option("reuse")
    assert not reuse.feasible and reuse.npv_usd is None and reuse.cash_flows == []
    assert reuse.reason == "SoH 0.75 below re-use minimum 0.8"
    assert d.option("remanufacture").feasible


def test_given_second_life_years() -> None:
    """second_life_years = 4 replaces the projection: the state of health falls in a straight line from 0.85 to
    0.60 over 4 years (tests/circular/second_life_hand.py: the NPV written out by hand)."""
    d = decide_route("NMC622", 75, 0.85, second_life_years=4, prices_usd_per_kg=ZERO, sensitivity=False)
    assert d.option("repurpose").npv_usd == pytest.approx(linear_npv(75, 0.85, 0.06, R75, years=4), rel=1e-9)
    assert d.option("repurpose").reason == "4.00 years of second life (health model)"
    with pytest.raises(CircularInputError, match="second_life_years=0: must be a finite number greater than 0"):
        decide_route("NMC622", 75, 0.85, second_life_years=0)


def test_missing_prices_are_none_but_other_errors_propagate() -> None:
    """NMC532 has no cathode powder price: direct recycling is None (infeasible), not an error. A
    recycling country without a grid factor is an error of its own and is not swallowed."""
    vals = recycle_value_usd_per_kwh("NMC532")
    assert vals["recycle_direct"] is None and vals["recycle_hydro"] is not None
    t = References.default().tracker()
    recycle_value_usd_per_kwh("NMC622", tracker=t)
    assert ("everbatt_2023", "price_usd_per_kg.Co") in {(u.set, u.key) for u in t.used()}
    bad = References.default().override({"batteryloop_assumptions": {"recycling_grid_country": "Atlantis"}})
    with pytest.raises(CircularInputError, match="grid_country='Atlantis'"):
        recycle_value_usd_per_kwh("NMC622", references=bad)
    d = decide_route("NMC532", 60, 0.5, sensitivity=False)
    assert d.recycle_value_usd_per_kwh["recycle_direct"] is None
    assert d.option("recycle_direct").reason == "no price for a material direct recycling recovers from this chemistry"


def test_batch_by_hand_and_counts() -> None:
    """Three NMC622 packs, free material: SoH 0.85 → remanufacture; 0.85 flagged → recycle_direct; 0.5 →
    recycle_direct (only recycling and no second life below the minima)."""
    b = decide_routes_batch(["NMC622"] * 3, np.array([75.0, 75.0, 75.0]), np.array([0.85, 0.85, 0.5]),
                            safety_flagged=np.array([False, True, False]), prices_usd_per_kg=ZERO)
    assert b.routes == ROUTES
    assert b.best_routes() == ["remanufacture", "recycle_direct", "recycle_direct"]
    assert b.counts() == {"remanufacture": 1, "recycle_direct": 2}
    j = ROUTES.index("remanufacture")
    assert b.npv_usd[0, j] == pytest.approx(75 * 58.3125 + R75 * DF6, rel=1e-6)
    assert np.isnan(b.npv_usd[1, j]) and np.isnan(b.npv_usd[2, ROUTES.index("reuse")])
    assert b.npv_usd[2, ROUTES.index("recycle_hydro")] == pytest.approx(75 * PER_KWH["recycle_hydro"], rel=1e-6)
    graded = decide_routes_batch(["NMC622"] * 2, np.array([75.0, 75.0]), np.array([0.85, 0.85]),
                                 grade=["B", None], prices_usd_per_kg=ZERO)
    assert np.isnan(graded.npv_usd[0, ROUTES.index("reuse")]) and not np.isnan(graded.npv_usd[1, ROUTES.index("reuse")])
    assert graded.references and any(u.set == "everbatt_2023" for u in graded.references)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capacity_kwh": np.array([75.0])}, r"capacity_kwh='shape \(1,\)': must have one value per pack \(2\)"),
        ({"soh_fraction": np.array([0.8, np.nan])}, r"soh_fraction\[1\]=nan: must be a fraction between 0 and 1"),
        ({"soh_fraction": np.array([-0.1, 0.8])}, r"soh_fraction\[0\]=-0\.1: must be a fraction between 0 and 1"),
        ({"soh_fraction": np.array([0.8, 1.0 + 1e-9])}, r"soh_fraction\[1\]=1\.000000001"),
        ({"capacity_kwh": np.array([75.0, 0.0])}, r"capacity_kwh\[1\]=0\.0: must be a finite number greater than 0"),
        ({"capacity_kwh": np.array([np.inf, 1.0])}, r"capacity_kwh\[0\]=inf: must be a finite number greater than 0"),
        ({"chemistry": ["NMC622"], "chemistry_index": np.array([0, 1])}, r"chemistry_index='shape \(2,\)': one index per pack \(2\), each in 0\.\.0"),
        ({"chemistry": ["NMC622"], "chemistry_index": np.array([0, -1])}, "chemistry_index"),
        ({"chemistry": ["NMC622"], "chemistry_index": np.array([0])}, "chemistry_index='shape"),
        ({"grade": ["A"], "grade_index": np.array([0])}, r"grade_index='shape \(1,\)': one index per pack \(2\)"),
        ({"grade": ["A", "Q"]}, "grade='Q': unknown grade"),
        # one grade per pack: a short list would leave packs without one, a long one would be cut silently
        ({"grade": ["A"]}, r"grade='shape \(1,\)': must have one grade \(or None\) per pack \(2\)"),
        ({"grade": ["A", "B", "C"]}, r"grade='shape \(3,\)': must have one grade"),
        ({"grade": ["A"], "grade_index": np.array([0, 1])}, r"grade_index='shape \(2,\)': one index per pack \(2\), each in -1\.\.0"),
        ({"grade": ["A"], "grade_index": np.array([0, -2])}, "grade_index='shape"),
        ({"chemistry": ["NMC622", "XYZ"]}, r"chemistry \('XYZ'\)='XYZ': unknown chemistry"),
    ],
)
def test_batch_errors_name_the_field(kwargs: dict, message: str) -> None:
    args = {"chemistry": ["NMC622", "NMC622"], "capacity_kwh": np.array([75.0, 75.0]), "soh_fraction": np.array([0.8, 0.8])} | kwargs
    with pytest.raises(CircularInputError, match=message):
        decide_routes_batch(args.pop("chemistry"), args.pop("capacity_kwh"), args.pop("soh_fraction"), **args)


def test_batch_edges_are_allowed() -> None:
    """SoH 0 and 1 are fractions; chemistry index 0..len−1; grade index −1 means no grade."""
    b = decide_routes_batch(["NMC622", "LFP"], np.array([75.0, 60.0]), np.array([0.0, 1.0]),
                            chemistry_index=np.array([0, 1]), grade=["C"], grade_index=np.array([-1, 0]),
                            prices_usd_per_kg=ZERO)
    assert b.best_routes()[0].startswith("recycle_")
    assert np.isnan(b.npv_usd[1, ROUTES.index("reuse")]) and not np.isnan(b.npv_usd[1, ROUTES.index("repurpose")])


def test_residual_value_by_hand() -> None:
    """Year 0 at SoH 0.85 (remanufacture, 75 × 58.3125 + R df6 today) and year 4 at 0.5 (recycle_direct,
    R, worth R × 1.08⁻⁴ today); equal years are allowed."""
    pts = residual_value("NMC622", 75, [(0, 0.85), (4, 0.5), (4, 0.5)], prices_usd_per_kg=ZERO)
    assert [p.best_route for p in pts] == ["remanufacture", "recycle_direct", "recycle_direct"]
    assert pts[0].value_usd == pytest.approx(75 * 58.3125 + R75 * DF6, rel=1e-6)
    assert pts[0].present_value_usd == pytest.approx(pts[0].value_usd, rel=1e-12)
    assert (pts[1].year, pts[1].soh_fraction) == (4.0, 0.5)
    assert pts[1].value_usd == pytest.approx(R75, rel=1e-6)
    assert pts[1].present_value_usd == pytest.approx(R75 * 1.08 ** -4, rel=1e-6)
    zero_rate = residual_value("NMC622", 75, [(4, 0.5)], prices_usd_per_kg=ZERO, economics={"discount_rate_fraction": 0.0})
    assert zero_rate[0].present_value_usd == pytest.approx(R75, rel=1e-6)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([], r"soh_by_year=\[\]: give at least one \(year, soh_fraction\) point"),
        ([(-1, 0.9)], r"soh_by_year=\[\(-1, 0\.9\)\]: years must be 0 or more and increasing"),
        ([(5, 0.9), (2, 0.95)], "years must be 0 or more and increasing"),
    ],
)
def test_residual_value_errors(points: list, message: str) -> None:
    with pytest.raises(CircularInputError, match=message):
        residual_value("NMC622", 75, points)


def test_without_any_price_recycling_is_infeasible_and_worth_nothing_later() -> None:
    """No price for any recovered material: every recycling route is infeasible (with its reason) and the
    recycling at the end of a re-use or remanufacture life counts 0: re-use = 75 (0.85 × 69 − 5) =
    4023.75 $, remanufacture = 75 × 58.3125 = 4373.4375 $. A safety-flagged pack then has no route at all:
    a clear error naming the prices and each route's reason."""
    refs = unpriced_references()
    assert recycle_value_usd_per_kwh("NMC622", references=refs) == {"recycle_pyro": None, "recycle_hydro": None, "recycle_direct": None}
    d = decide_route("NMC622", 75, 0.85, references=refs, sensitivity=False)
    assert d.option("reuse").npv_usd == pytest.approx(4023.75, rel=1e-12)
    assert d.option("remanufacture").npv_usd == pytest.approx(4373.4375, rel=1e-12)
    pyro = d.option("recycle_pyro")
    assert (pyro.feasible, pyro.npv_usd, pyro.reason) == (False, None, "no price for a material pyro recycling recovers from this chemistry")
    b = decide_routes_batch(["NMC622"], np.array([75.0]), np.array([0.85]), references=refs)
    assert b.npv_usd[0, ROUTES.index("reuse")] == pytest.approx(4023.75, rel=1e-12)
    with pytest.raises(CircularInputError) as e:
        decide_route("NMC622", 75, 0.85, safety_flags=["swelling"], references=refs)
    assert (e.value.field, e.value.value) == ("prices_usd_per_kg", {})
    assert e.value.rule == ("no feasible route: no price for a material that recycle_pyro, recycle_hydro, recycle_direct "
                            "recover from NMC622; reuse, remanufacture, repurpose not allowed (safety flags ['swelling'])")


def test_the_best_recycling_value_is_the_best_of_all_three_processes() -> None:
    """NMC532 has no cathode price (direct recycling unpriced) and hydro recycling beats pyro with the reference
    prices: re-use = 60 (0.85 × 115 × 0.6 − 5) + 1.08⁻⁵ × hydro value (the best recycling at the end of the
    second life is hydro's, not pyro's)."""
    d = decide_route("NMC532", 60, 0.85, sensitivity=False)
    hydro, pyro = d.option("recycle_hydro").npv_usd, d.option("recycle_pyro").npv_usd
    assert hydro > pyro and d.option("recycle_direct").npv_usd is None
    assert d.option("reuse").npv_usd == pytest.approx(60 * (0.85 * 69 - 5) + hydro * DF5, rel=1e-9)


def test_the_decision_names_the_references_it_used() -> None:
    """The route assumptions, the caller's economics and the recycling prices are all in the decision's references
    (single pack and batch)."""
    d = decide_route("NMC622", 75, 0.85, economics={"discount_rate_fraction": 0.05}, sensitivity=False)
    b = decide_routes_batch(["NMC622"], np.array([75.0]), np.array([0.85]), economics={"discount_rate_fraction": 0.05})
    for refs in (d.references, b.references):
        used = {(u.set, u.key) for u in refs}
        assert ("batteryloop_assumptions", "route.reuse_years") in used
        assert ("everbatt_2023", "price_usd_per_kg.Co") in used
        assert ("input", "economics.discount_rate_fraction") in used


def test_soh_flip_into_a_narrow_band_of_another_route() -> None:
    """Nothing priced (R = 0), SoH 0.9; re-use allowed from 0.715 and remanufacturing labour 17.463125 $/kWh:
    re-use − remanufacture = 75 (0.6 × 115 s − 5 − 0.95 × 86.25 + 17.463125 + (0.95 − s) 86.25)
    = 75 × 17.25 (0.7225 − s): re-use is best only in the band 0.715 ≤ s < 0.7225 (remanufacture above and
    below it, down to its minimum 0.70). The SoH is searched on a 0.01 grid from 0 to 1: the band holds 0.72 and
    the nearest flip is its top, 0.7225, to re-use — not 0.70 (a grid of 49, 59 or 101 steps would miss the band:
    0.7143/0.7347, 0.7119/0.7288, 0.7129/0.7228). (Above 0.95 remanufacture is flat and re-use
    = 75 (69 s − 5) overtakes it only at s = 1.0069, outside the searched 0–1.)"""
    d = decide_route("NMC622", 75, 0.9, references=unpriced_references(),
                     economics={"reuse_min_soh_fraction": 0.715, "remanufacture_labour_usd_per_kwh": 17.463125})
    assert d.recommended == "remanufacture"
    soh = next(s for s in d.sensitivity if s.parameter == "soh_fraction")
    assert soh.flips_at == pytest.approx(0.7225, abs=1e-9) and soh.new_best == "reuse"


def test_new_pack_price_flip_nearest_above() -> None:
    """Nothing priced (R = 0), SoH 0.85, P = 77, a straight-line second life (calendar fade only, 10 years,
    worth 1,454.2 $ at 0.08 $/kWh: second_life_hand): re-use 75 (0.51 × 77 − 5) = 2570.25 beats remanufacture
    75 (0.6375 × 77 − 15) = 2556.5625 and repurpose. Re-use loses to remanufacture above P = 10 / 0.1275 =
    78.431 (1.43 away) and to repurpose below P = (1454.2 / 75 + 5) / 0.51 = 47.8 (29.2 away): the nearest flip
    is the one above."""
    d = decide_route("NMC622", 75, 0.85, references=cal_only(unpriced_references()),
                     economics={"new_pack_price_usd_per_kwh": 77.0, "repurpose_value_usd_per_kwh_delivered": 0.08})
    assert d.recommended == "reuse"
    assert d.option("reuse").npv_usd == pytest.approx(2570.25, rel=1e-12)
    assert d.option("repurpose").npv_usd == pytest.approx(linear_npv(75, 0.85, 0.08, 0.0), rel=1e-9)
    price = next(s for s in d.sensitivity if s.parameter == "economics.new_pack_price_usd_per_kwh")
    assert price.flips_at == pytest.approx(10 / 0.1275, rel=1e-9) and price.new_best == "remanufacture"
    assert price.searched == "0–385"


def test_soh_flip_right_next_to_the_current_value() -> None:
    """Free material, remanufacturing from SoH 0.705, a pack at 0.708, a straight-line second life (calendar
    fade only) worth 0.08 $/kWh: remanufacture is best; the first grid point below, 0.70, is already below its
    minimum, so the flip is found from the very first step: at 0.705, to repurpose (just below 0.705: 10 years
    of second life, the maximum, worth more than direct's R = −72.94 $: second_life_hand)."""
    econ = {"remanufacture_min_soh_fraction": 0.705, "repurpose_value_usd_per_kwh_delivered": 0.08}
    d = decide_route("NMC622", 75, 0.708, prices_usd_per_kg=ZERO, economics=econ, references=cal_only())
    assert d.recommended == "remanufacture"
    soh = next(s for s in d.sensitivity if s.parameter == "soh_fraction")
    assert soh.flips_at == pytest.approx(0.705, abs=1e-9) and soh.new_best == "repurpose"
    just_below = decide_route("NMC622", 75, 0.705 - 1e-12, prices_usd_per_kg=ZERO, economics=econ,
                              references=cal_only(), sensitivity=False)
    want = linear_npv(75, 0.705, 0.08, R75)
    assert want > R75 and just_below.option("repurpose").npv_usd == pytest.approx(want, abs=1e-6)


def test_sensitivity_with_an_unpriced_process() -> None:
    """NMC532: direct recycling has no price (no cathode price) — the price searches leave it infeasible and
    still search the others (reference prices Li2CO3 8.57, Co 50.35, Ni 16.85 $/kg)."""
    d = decide_route("NMC532", 60, 0.5)
    assert d.recommended == "recycle_hydro"
    by = {s.parameter: s for s in d.sensitivity}
    assert [by[f"prices_usd_per_kg.{m}"].current for m in ("Li2CO3", "Co", "Ni")] == [8.57, 50.35, 16.85]
    assert all(s.new_best != "recycle_direct" for s in d.sensitivity)


def test_a_price_in_the_references_searches_like_a_price_given() -> None:
    """Co at 100 $/kg set in the references or passed by the caller: the same decision and the same flips
    (the slope of each searched price is taken with the decision's own references)."""
    refs = References.default().override({"everbatt_2023": {"price_usd_per_kg": {"Co": 100.0}}})
    a = decide_route("NMC622", 75, 0.5, references=refs)
    b = decide_route("NMC622", 75, 0.5, prices_usd_per_kg={"Co": 100.0})
    assert a.recommended == b.recommended
    for x, y in zip(a.sensitivity, b.sensitivity, strict=True):
        assert (x.parameter, x.current, x.new_best) == (y.parameter, y.current, y.new_best)
        assert (x.flips_at is None) == (y.flips_at is None)
        if x.flips_at is not None:
            assert x.flips_at == pytest.approx(y.flips_at, rel=1e-9)
    assert any(s.flips_at is not None for s in a.sensitivity if s.parameter.startswith("prices_usd_per_kg."))


def test_batch_takes_database_values_and_given_second_life_years() -> None:
    """Columns as a database returns them (Decimal numbers, 0/1 flags): pack 0, SoH 0.85 with 4 given years
    of second life, repurpose = the straight-line second life of second_life_hand (see test_given_second_life_years) and
    remanufacture = 75 × 58.3125 + R df6; pack 1 flagged: recycle_direct. A 0.5 kWh pack (an e-bike) is a pack."""
    from decimal import Decimal

    b = decide_routes_batch(["NMC622"] * 3, [Decimal("75"), Decimal("75"), Decimal("0.5")],
                            [Decimal("0.85"), Decimal("0.85"), Decimal("0.5")], safety_flagged=[0, 1, 0],
                            second_life_years=[Decimal("4"), Decimal("4"), Decimal("4")], prices_usd_per_kg=ZERO)
    assert b.npv_usd[0, ROUTES.index("repurpose")] == pytest.approx(linear_npv(75, 0.85, 0.06, R75, years=4), rel=1e-9)
    assert b.npv_usd[0, ROUTES.index("remanufacture")] == pytest.approx(75 * 58.3125 + R75 * DF6, rel=1e-9)
    assert b.best_routes() == ["remanufacture", "recycle_direct", "recycle_direct"]
    assert np.isnan(b.npv_usd[1, ROUTES.index("remanufacture")])
    assert b.npv_usd[2, ROUTES.index("recycle_direct")] == pytest.approx(0.5 * PER_KWH["recycle_direct"], rel=1e-6)


def test_batch_flag_keeps_the_grade_limits() -> None:
    """A grade allowing hydro recycling and re-use only, and a safety flag: hydro recycling only (the flag
    narrows the grade's routes, it does not open pyro or direct recycling, which would be worth more here)."""
    b = decide_routes_batch(["NMC622"] * 2, np.array([75.0, 75.0]), np.array([0.85, 0.85]), grade=["X", "X"],
                            grade_routes={"X": ("reuse", "recycle_hydro")}, safety_flagged=np.array([True, False]),
                            prices_usd_per_kg=ZERO)
    assert b.best_routes() == ["recycle_hydro", "reuse"]
    assert np.isnan(b.npv_usd[0, ROUTES.index("recycle_pyro")]) and np.isnan(b.npv_usd[0, ROUTES.index("reuse")])
    with pytest.raises(CircularInputError, match=r"^grade=None: grade_index needs grade, the list of grade names it indexes$"):
        decide_routes_batch(["NMC622"], np.array([75.0]), np.array([0.85]), grade_index=np.array([0]))


def test_repurpose_value_flip_below_the_current_value() -> None:
    """Grade C (repurpose or recycling), SoH 0.85, free material, a straight-line second life (calendar fade
    only, 10 years) at v = 0.10 $/kWh discharged: repurpose is best. Its NPV is linear in v (second_life_hand):
    it falls to direct recycling's R = −72.94325 $ at v* = (R − NPV(0)) / (NPV(1) − NPV(0)), below the current
    value, inside the searched 0–1."""
    d = decide_route("NMC622", 75, 0.85, grade="C", prices_usd_per_kg=ZERO, references=cal_only(),
                     economics={"repurpose_value_usd_per_kwh_delivered": 0.10})
    assert d.recommended == "repurpose"
    v0, v1 = linear_npv(75, 0.85, 0.0, R75), linear_npv(75, 0.85, 1.0, R75)
    want = (R75 - v0) / (v1 - v0)
    assert 0.0 < want < 0.10
    v = next(s for s in d.sensitivity if s.parameter == "economics.repurpose_value_usd_per_kwh_delivered")
    assert v.flips_at == pytest.approx(want, rel=1e-6) and v.new_best == "recycle_direct" and v.searched == "0–1"


def test_price_flip_below_one_dollar() -> None:
    """Free material except Mn at 5.5 $/kg (hydro recovers it, pyro does not; direct sells it in the free cathode) and Li2CO3 at 0.9 $/kg: hydro
    recycling is best; a little cheaper lithium and direct is. The flip lies between 0 and 0.9 $/kg and the
    decisions on either side of it differ as it says."""
    prices = {**ZERO, "Mn": 5.5, "Li2CO3": 0.9}
    d = decide_route("NMC622", 75, 0.5, prices_usd_per_kg=prices)
    li = next(s for s in d.sensitivity if s.parameter == "prices_usd_per_kg.Li2CO3")
    assert d.recommended == "recycle_hydro" and li.new_best == "recycle_direct" and 0 < li.flips_at < 0.9
    for x, want in ((li.flips_at * 0.99, "recycle_direct"), (li.flips_at * 1.01, "recycle_hydro")):
        assert decide_route("NMC622", 75, 0.5, prices_usd_per_kg={**prices, "Li2CO3": x}, sensitivity=False).recommended == want


def test_ranking_with_a_route_worth_exactly_nothing() -> None:
    """A 0.01 kWh pack, nothing priced (R = 0), new packs free and no test cost: re-use = 0.01 (0.85 × 0 − 0) = 0 $
    exactly; remanufacture = 0.01 (0 − 15 − 0) = −0.15 $; repurpose (straight-line second life at 0.20 $/kWh:
    second_life_hand) > 0. Ranked by NPV: repurpose, re-use, remanufacture (0 ranks as 0, between them)."""
    d = decide_route("NMC622", 0.01, 0.85, references=cal_only(unpriced_references()), sensitivity=False,
                     economics={"new_pack_price_usd_per_kwh": 0.0, "reuse_test_cost_usd_per_kwh": 0.0,
                                "repurpose_value_usd_per_kwh_delivered": 0.20})
    assert d.option("reuse").npv_usd == 0.0 and d.option("remanufacture").npv_usd == pytest.approx(-0.15, rel=1e-12)
    want = linear_npv(0.01, 0.85, 0.20, 0.0)
    assert want > 0 and d.option("repurpose").npv_usd == pytest.approx(want, rel=1e-9)
    assert [o.route for o in d.ranking[:3]] == ["repurpose", "reuse", "remanufacture"]


def test_recycling_values_read_the_pack_mass_of_the_references() -> None:
    """References with an NMC622 pack of 10.3 kg/kWh (twice BatPaC's 5.15), the same cells (3.19): with free
    material the recycling values are the process inputs; pyro charges them all on the pack (twice the module
    docstring's), hydro and direct only diesel (0.015 $/kg), the rest on the cells."""
    refs = References.default().override({"batpac_5": {"kg_per_kwh_cell": {"NMC622": {"pack_mass": 10.3}}}})
    got = recycle_value_usd_per_kwh("NMC622", references=refs, prices_usd_per_kg=ZERO)
    assert got == pytest.approx({"recycle_pyro": 2 * PER_KWH["recycle_pyro"],
                                 "recycle_hydro": -(_HYDRO_CELLS * 3.19 + 0.015 * 10.3),
                                 "recycle_direct": -(_DIRECT_CELLS * 3.19 + 0.015 * 10.3)}, rel=1e-6)
