"""Compliance with (EU) 2023/1542, pinned to REFERENCE.md §1 by hand:

- recycled content minimums (Art. 8): from 18 Aug 2031 Co 16 %, Li 6 %, Ni 6 %, Pb 85 %; from 18 Aug 2036
  Co 26 %, Li 12 %, Ni 15 %, Pb 85 %; a target applies from its first day (inclusive); re-used,
  repurposed and remanufactured batteries are exempt (Art. 8(4));
- recycling efficiency (Annex XII B), lithium-based: 65 % by end 2025, 70 % by end 2030; lead-acid 75 % /
  80 %; NiCd 80 %; other 50 %;
- material recovery (Annex XII C): Co, Cu, Ni 90 % by end 2027 and 95 % by end 2031; Li 50 % / 80 %.

A share exactly at its target passes (the minimum is met). Errors name the field at fault.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from batteryloop.circular.compliance import (
    MetalInput,
    check_recycled_content,
    check_recycling_targets,
    compliance_report,
    recycled_content_share,
)
from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.footprint import carbon_footprint
from batteryloop.circular.recycling import RecyclingResult
from batteryloop.reference import References, ReferenceValue


def _result(eff: float, recovery: dict[str, float], *, process: str = "hydro", basis: str = "pack",
            refs: list[ReferenceValue] | None = None) -> RecyclingResult:
    """A recycling result with the given efficiency and recovery fractions (other figures irrelevant)."""
    return RecyclingResult(
        process=process, chemistry="NMC622", input_mass_kg=100.0, basis=basis, recovered=[], revenue_usd=0.0,
        gate_fee_usd_per_kg=0.0, gate_fee_usd=0.0, inputs=[], input_cost_usd=0.0, other_cost_usd=0.0,
        process_ghg_kgco2e=0.0, credit_ghg_kgco2e=0.0, net_ghg_kgco2e=0.0, recycler_net_value_usd=0.0,
        material_net_value_usd=0.0, recycling_efficiency_fraction=eff, material_recovery_fraction=recovery,
        grid_country="US", notes=[], references=refs or [],
    )


# ---- recycled content (Art. 8) ---------------------------------------------------------------------------


def test_physical_segregation_share_and_explanation() -> None:
    """Co: 16 kg traced of 100 kg → 16 % = the 2031 minimum exactly: passes. Li 5.5 / 100 = 5.5 % < 6 %:
    fails. Explanations quote the masses."""
    r = check_recycled_content("M1", "P1", 2032, [
        MetalInput(metal="Co", active_material_kg=100, recycled_physical_kg=16),
        MetalInput(metal="Li", active_material_kg=100, recycled_physical_kg=5.5),
    ], "physical_segregation")
    assert r.shares_fraction == {"Co": 0.16, "Li": 0.055}
    co, li = r.checks
    assert (co.target_fraction, co.applies_from, co.passed) == (0.16, "2031-08-18", True)
    assert (li.target_fraction, li.applies_from, li.passed) == (0.06, "2031-08-18", False)
    assert co.rule == "Art. 8 recycled content Co" and co.metric == "recycled_content_Co_fraction"
    assert co.explanation == "16 kg traced recycled / 100 kg"
    assert li.explanation == "5.5 kg traced recycled / 100 kg"
    assert r.passed is False
    assert (r.model_id, r.plant, r.year, r.as_of, r.allocation_rule) == ("M1", "P1", 2032, date(2032, 12, 31), "physical_segregation")
    assert {(u.set, u.key) for u in r.references} == {
        ("eu_2023_1542", "recycled_content_min_fraction.2031-08-18.Co"),
        ("eu_2023_1542", "recycled_content_min_fraction.2031-08-18.Li"),
    }


def test_all_traced_is_allowed_more_is_an_error() -> None:
    """Recycled = active material (10 of 10 kg) is 100 %; 10.5 of 10 kg is impossible and the error names
    the metal's field and the model's mass."""
    ok = recycled_content_share(MetalInput(metal="Ni", active_material_kg=10, recycled_physical_kg=10), "physical_segregation")
    assert ok[0] == 1.0
    with pytest.raises(CircularInputError, match=r"Ni\.recycled_physical_kg=10\.5: exceeds the model's Ni in active material \(10\.0 kg\)"):
        recycled_content_share(MetalInput(metal="Ni", active_material_kg=10, recycled_physical_kg=10.5), "physical_segregation")


def test_mass_balance_in_proportion() -> None:
    """Plant: 800 kg recycled Co in 4000 kg; the model uses 1000 kg → 800 × 1000 / 4000 = 200 kg → 20 %.
    The plant's whole input may be recycled (4000 of 4000 → 100 %) and the model may be the whole plant
    (1000 of 1000)."""
    share, how = recycled_content_share(MetalInput(metal="Co", active_material_kg=1000, plant_active_material_kg=4000,
                                                   plant_recycled_kg=800), "mass_balance")
    assert share == 0.2
    assert how == "plant share 800/4000 kg allocated in proportion (mass balance) = 200 kg / 1000 kg"
    full, _ = recycled_content_share(MetalInput(metal="Co", active_material_kg=1000, plant_active_material_kg=4000,
                                                plant_recycled_kg=4000), "mass_balance")
    assert full == 1.0
    whole, _ = recycled_content_share(MetalInput(metal="Co", active_material_kg=1000, plant_active_material_kg=1000,
                                                 plant_recycled_kg=300), "mass_balance")
    assert whole == 0.3


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        (MetalInput(metal="Li", active_material_kg=10, plant_active_material_kg=40),
         "Li.plant_recycled_kg", r"Li\.plant_recycled_kg=None: mass balance needs plant_recycled_kg and plant_active_material_kg \(or allocated_recycled_kg\)"),
        (MetalInput(metal="Li", active_material_kg=10, plant_recycled_kg=4),
         "Li.plant_recycled_kg", r"Li\.plant_recycled_kg=4\.0: mass balance needs plant_recycled_kg and plant_active_material_kg"),
        (MetalInput(metal="Li", active_material_kg=10, plant_active_material_kg=9.5, plant_recycled_kg=4),
         "Li.plant_active_material_kg", r"Li\.plant_active_material_kg=9\.5: is less than this model's own Li \(10\.0 kg\)"),
        (MetalInput(metal="Li", active_material_kg=10, plant_active_material_kg=40, plant_recycled_kg=40.5),
         "Li.plant_recycled_kg", r"Li\.plant_recycled_kg=40\.5: exceeds the plant's Li in active material \(40\.0 kg\)"),
        (MetalInput(metal="Li", active_material_kg=10, plant_recycled_kg=5, allocated_recycled_kg=5.5),
         "Li.allocated_recycled_kg", r"Li\.allocated_recycled_kg=5\.5: exceeds the plant's recycled input \(5\.0 kg\): mass balance cannot allocate more than was received"),
    ],
)
def test_mass_balance_errors_name_the_field(line: MetalInput, field: str, message: str) -> None:
    with pytest.raises(CircularInputError, match=message) as e:
        recycled_content_share(line, "mass_balance")
    assert e.value.field == field


def test_explicit_allocation() -> None:
    """Allocated 5 kg of the plant's 5 kg (all of it: allowed) to a model with 50 kg Li → 10 %. Allocated
    80 kg to a model holding 50 kg counts only the model's 50 kg → 100 %. No plant figure: taken as given."""
    share, how = recycled_content_share(MetalInput(metal="Li", active_material_kg=50, plant_recycled_kg=5,
                                                   allocated_recycled_kg=5), "mass_balance")
    assert share == 0.1 and how == "5 kg allocated (mass balance) / 50 kg"
    capped, how = recycled_content_share(MetalInput(metal="Li", active_material_kg=50, allocated_recycled_kg=80), "mass_balance")
    assert capped == 1.0 and how == "50 kg allocated (mass balance) / 50 kg"


def test_targets_apply_from_their_first_day() -> None:
    """Ni 10 %: on 17 Aug 2031 no minimum (None, explained with the day); on 18 Aug 2031 6 % (passes);
    on 18 Aug 2036 15 % (fails). Pb 85 % in both periods: 2036's own line."""
    ni = [MetalInput(metal="Ni", active_material_kg=100, recycled_physical_kg=10)]
    before = check_recycled_content("M", "P", 2031, ni, "physical_segregation", as_of=date(2031, 8, 17))
    c = before.checks[0]
    assert (c.target_fraction, c.applies_from, c.passed) == (None, None, None)
    assert c.explanation == "10 kg traced recycled / 100 kg; no Art. 8 minimum in force on 2031-08-17"
    assert before.passed is None and before.as_of == date(2031, 8, 17)
    first = check_recycled_content("M", "P", 2031, ni, "physical_segregation", as_of=date(2031, 8, 18))
    assert first.checks[0].target_fraction == 0.06 and first.checks[0].passed is True
    later = check_recycled_content("M", "P", 2036, ni, "physical_segregation", as_of=date(2036, 8, 18))
    assert (later.checks[0].target_fraction, later.checks[0].applies_from, later.passed) == (0.15, "2036-08-18", False)
    pb = check_recycled_content("M", "P", 2040, [MetalInput(metal="Pb", active_material_kg=100, recycled_physical_kg=85)],
                                "physical_segregation")
    assert (pb.checks[0].target_fraction, pb.checks[0].applies_from, pb.passed) == (0.85, "2036-08-18", True)
    # the default day is 31 December of the year: 2031 → 6 % applies
    assert check_recycled_content("M", "P", 2031, ni, "physical_segregation").as_of == date(2031, 12, 31)


def test_a_share_just_under_the_target_fails() -> None:
    """Co 15.99 kg of 100 kg = 15.99 % < 16 %: fails (the 1e-12 tolerance only absorbs rounding)."""
    r = check_recycled_content("M", "P", 2032, [MetalInput(metal="Co", active_material_kg=100, recycled_physical_kg=15.99)],
                               "physical_segregation")
    assert r.passed is False and r.checks[0].passed is False


@pytest.mark.parametrize("status", ["reused", "repurposed", "remanufactured"])
def test_second_life_batteries_are_exempt(status: str) -> None:
    r = check_recycled_content("M", "P", 2040, [MetalInput(metal="Co", active_material_kg=100, recycled_physical_kg=1)],
                               "physical_segregation", battery_status=status)
    c = r.checks[0]
    assert (c.target_fraction, c.applies_from, c.passed) == (None, None, None)
    assert c.explanation == f"1 kg traced recycled / 100 kg; {status} batteries are exempt (Art. 8(4))"
    assert r.passed is None and r.references == []


def test_recycled_content_errors_name_the_field() -> None:
    co = MetalInput(metal="Co", active_material_kg=100, recycled_physical_kg=1)
    with pytest.raises(CircularInputError, match="allocation_rule='guess': must be one of mass_balance, physical_segregation") as e:
        check_recycled_content("M", "P", 2032, [co], "guess")
    assert e.value.field == "allocation_rule"
    with pytest.raises(CircularInputError, match=r"metals=\[\]: give at least one metal \(Co, Li, Ni or Pb\)"):
        check_recycled_content("M", "P", 2032, [], "physical_segregation")
    with pytest.raises(CircularInputError, match=r"metals=\['Co', 'Co'\]: each metal at most once"):
        check_recycled_content("M", "P", 2032, [co, co], "physical_segregation")


# ---- Annex XII ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("battery_type", "as_of", "target", "since"),
    [
        ("lithium_based", date(2025, 12, 30), None, None),
        ("lithium_based", date(2025, 12, 31), 0.65, "2025-12-31"),
        ("lithium_based", date(2030, 12, 31), 0.70, "2030-12-31"),
        ("lead_acid", date(2026, 6, 1), 0.75, "2025-12-31"),
        ("lead_acid", date(2031, 1, 1), 0.80, "2030-12-31"),
        ("nickel_cadmium", date(2035, 1, 1), 0.80, "2025-12-31"),
        ("other", date(2035, 1, 1), 0.50, "2025-12-31"),
    ],
)
def test_recycling_efficiency_target_by_type_and_date(battery_type: str, as_of: date, target: float | None, since: str | None) -> None:
    checks = check_recycling_targets(_result(0.70, {}), as_of, battery_type)
    assert len(checks) == 1
    c = checks[0]
    assert c.rule == f"Annex XII B recycling efficiency ({battery_type})" and c.metric == "recycling_efficiency_fraction"
    assert (c.target_fraction, c.applies_from) == (target, since)
    assert c.achieved_fraction == 0.70
    # 70 % meets 50, 65, 70 % and misses 75, 80 %
    assert c.passed == (None if target is None else 0.70 >= target)
    tail = "" if target is not None else f"; no target in force on {as_of.isoformat()}"
    assert c.explanation == (f"hydro: 70 kg of output fractions recycled / 100 kg of battery fed in (whole pack, hardware "
                             f"included; Delegated Regulation (EU) 2025/606){tail}")
    assert c.process == "hydro"


def test_efficiency_just_under_target_fails() -> None:
    assert check_recycling_targets(_result(0.6499, {}), date(2026, 1, 1))[0].passed is False
    assert check_recycling_targets(_result(0.65, {}), date(2026, 1, 1))[0].passed is True


def test_material_recovery_checks_in_annex_order() -> None:
    """Recovery Co 0.95, Cu 0.90, Ni 0.94, Li 0.5, and Al (no Annex XII C target: no check), on the
    last day of 2027 (Co/Cu/Ni 90 %, Li 50 %: all pass) and of 2031 (95 % / 80 %: Co passes at the
    limit, Cu, Ni and Li fail). Checks come in the order Co, Cu, Ni, Li after the efficiency check."""
    rec = {"Al": 0.9, "Li": 0.5, "Ni": 0.94, "Cu": 0.90, "Co": 0.95}
    y27 = check_recycling_targets(_result(0.7, rec, process="pyro", basis="cell"), date(2027, 12, 31))
    assert [c.metric for c in y27] == ["recycling_efficiency_fraction", "material_recovery_Co_fraction",
                                      "material_recovery_Cu_fraction", "material_recovery_Ni_fraction",
                                      "material_recovery_Li_fraction"]
    assert [c.rule for c in y27[1:]] == [f"Annex XII C material recovery {m}" for m in ("Co", "Cu", "Ni", "Li")]
    assert [c.target_fraction for c in y27[1:]] == [0.9, 0.9, 0.9, 0.5]
    assert [c.applies_from for c in y27[1:]] == ["2027-12-31"] * 4
    assert [c.passed for c in y27] == [True, True, True, True, True]
    assert y27[1].explanation == "pyro: recovered / contained Co"
    assert y27[0].explanation == ("pyro: 70 kg of output fractions recycled / 100 kg of battery fed in (cells only; "
                                  "Delegated Regulation (EU) 2025/606)")
    assert {c.process for c in y27} == {"pyro"}
    y31 = check_recycling_targets(_result(0.7, rec, process="pyro", basis="cell"), date(2031, 12, 31))
    assert [c.target_fraction for c in y31[1:]] == [0.95, 0.95, 0.95, 0.8]
    assert [c.passed for c in y31[1:]] == [True, False, False, False]
    assert [c.achieved_fraction for c in y31[1:]] == [0.95, 0.90, 0.94, 0.5]
    before = check_recycling_targets(_result(0.7, rec), date(2027, 12, 30))
    assert [(c.target_fraction, c.applies_from, c.passed) for c in before[1:]] == [(None, None, None)] * 4


def test_unknown_battery_type_is_named() -> None:
    with pytest.raises(CircularInputError, match="battery_type='alkaline': must be one of lithium_based, lead_acid, nickel_cadmium, other") as e:
        check_recycling_targets(_result(0.7, {}), date(2027, 1, 1), battery_type="alkaline")
    assert e.value.field == "battery_type"


# ---- the report -----------------------------------------------------------------------------------------


def _ref(set_: str, key: str) -> ReferenceValue:
    return ReferenceValue(set=set_, key=key, value=1.0, source="s", verified=True)


def test_report_without_metals_or_footprint() -> None:
    """Only a recycling result: no recycled-content part, no allocation rule, no footprint; the checks are
    read on 31 Dec of the year (2030: efficiency 70 %; recovery targets of end 2027); references are
    de-duplicated and sorted by (set, key)."""
    res = _result(0.72, {"Co": 0.96}, refs=[_ref("b", "x"), _ref("a", "y"), _ref("b", "x")])
    rep = compliance_report("M", "P", 2030, recycling=[res, res])
    assert rep.recycled_content is None and rep.allocation_rule is None
    assert rep.carbon_footprint_kgco2e_per_kwh is None and rep.carbon_footprint_class is None
    assert rep.carbon_footprint_stages_kgco2e_per_kwh is None
    assert [c.target_fraction for c in rep.checks] == [0.70, 0.90, 0.70, 0.90]
    assert rep.passed is True
    assert [(u.set, u.key) for u in rep.references] == [("a", "y"), ("b", "x")]
    rows = list(csv.reader(io.StringIO(rep.to_csv())))
    assert rows[0] == ["model_id", "plant", "year", "rule", "metric", "achieved", "target", "applies_from", "passed",
                       "allocation_rule", "explanation"]
    assert rows[1] == ["M", "P", "2030", "Annex XII B recycling efficiency (lithium_based)", "recycling_efficiency_fraction",
                       "0.72", "0.7", "2030-12-31", "true", "",
                       "hydro: 72 kg of output fractions recycled / 100 kg of battery fed in (whole pack, hardware included; "
                       "Delegated Regulation (EU) 2025/606)"]
    assert len(rows) == 5  # header + 4 checks, no footprint row


def test_report_with_everything() -> None:
    """Co 16 % by mass balance (2032: ≥ 16 %, passes), a failing recycling result (60 % < 70 % in 2032)
    and a footprint with class limit A = 0.2 kg/kWh: the report fails overall; its CSV shows the
    empty target of a check without one, 'false', and the footprint row."""
    co = MetalInput(metal="Co", active_material_kg=1000, plant_active_material_kg=4000, plant_recycled_kg=640)
    fp = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", class_limits_kgco2e_per_kwh={"A": 0.2})
    rep = compliance_report("M", "P", 2032, metals=[co], allocation_rule="mass_balance",
                            recycling=[_result(0.6, {})], footprint=fp)
    assert rep.allocation_rule == "mass_balance" and rep.recycled_content is not None
    assert rep.recycled_content.shares_fraction == {"Co": 0.16}
    assert [c.passed for c in rep.checks] == [True, False] and rep.passed is False
    assert rep.carbon_footprint_kgco2e_per_kwh == fp.total_kgco2e_per_kwh
    assert rep.carbon_footprint_class == "A" and rep.carbon_footprint_stages_kgco2e_per_kwh == fp.stages_kgco2e_per_kwh
    keys = {(u.set, u.key) for u in rep.references}
    assert ("eu_2023_1542", "recycled_content_min_fraction.2031-08-18.Co") in keys
    assert {(u.set, u.key) for u in fp.references} <= keys
    rows = list(csv.reader(io.StringIO(rep.to_csv())))
    assert rows[1][:10] == ["M", "P", "2032", "Art. 8 recycled content Co", "recycled_content_Co_fraction", "0.16", "0.16",
                            "2031-08-18", "true", "mass_balance"]
    assert rows[2][8] == "false"
    assert rows[3] == ["M", "P", "2032", "Art. 7 carbon footprint", "kgco2e_per_kwh", f"{fp.total_kgco2e_per_kwh:.6g}", "", "", "",
                       "", "performance class A"]
    data = json.loads(rep.to_json())
    assert data["model_id"] == "M" and data["recycled_content"]["shares_fraction"] == {"Co": 0.16}
    assert rep.to_json().startswith('{\n  "model_id"')  # indented by 2
    exempt = compliance_report("M", "P", 2032, metals=[co], battery_status="reused")
    assert exempt.passed is None and exempt.checks[0].target_fraction is None
    unclassed = compliance_report("M", "P", 2032, footprint=carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN"))
    assert list(csv.reader(io.StringIO(unclassed.to_csv())))[-1][-1] == "performance class n/a"
    assert unclassed.checks == [] and unclassed.passed is None


def test_report_rejects_a_bad_rule_only_when_metals_are_given() -> None:
    co = MetalInput(metal="Co", active_material_kg=100, recycled_physical_kg=20)
    with pytest.raises(CircularInputError, match="allocation_rule"):
        compliance_report("M", "P", 2032, metals=[co], allocation_rule="guess")
    phys = compliance_report("M", "P", 2032, metals=[co], allocation_rule="physical_segregation")
    assert phys.allocation_rule == "physical_segregation" and phys.recycled_content.shares_fraction == {"Co": 0.2}


def test_csv_lines_end_with_a_newline_only() -> None:
    rep = compliance_report("M", "P", 2030, recycling=[_result(0.72, {})])
    text = rep.to_csv()
    assert "\r" not in text and text.endswith("\n") and text.count("\n") == 2


def test_report_uses_the_given_references() -> None:
    """Overridden targets (Co recycled content 2031 → 30 %, lithium-based efficiency 2030 → 75 %) are
    the ones the report checks against: Co 20 % and efficiency 72 % both fail; with the defaults (16 %,
    70 %) both pass."""
    refs = References.default().override({"eu_2023_1542": {
        "recycled_content_min_fraction": {"2031-08-18": {"Co": 0.30}},
        "recycling_efficiency_min_fraction": {"lithium_based": {"2030-12-31": 0.75}},
    }})
    co = MetalInput(metal="Co", active_material_kg=100, recycled_physical_kg=20)
    strict = compliance_report("M", "P", 2032, metals=[co], allocation_rule="physical_segregation",
                               recycling=[_result(0.72, {})], references=refs)
    assert [c.target_fraction for c in strict.checks] == [0.30, 0.75] and strict.passed is False
    assert any(u.overridden for u in strict.references)
    default = compliance_report("M", "P", 2032, metals=[co], allocation_rule="physical_segregation",
                                recycling=[_result(0.72, {})])
    assert [c.target_fraction for c in default.checks] == [0.16, 0.70] and default.passed is True


def test_rounding_tolerance_and_missing_metals() -> None:
    """A result short of its target by float rounding only (target − 1e-12) still meets it, for the
    efficiency, each material recovery and recycled content; a metal absent from the result (no Co in an
    LFP pack) has no check, and the metals after it are still checked."""
    eff = check_recycling_targets(_result(0.65 - 1e-12, {"Cu": 0.9 - 1e-12, "Li": 0.5}), date(2028, 1, 1))
    assert [c.metric for c in eff] == ["recycling_efficiency_fraction", "material_recovery_Cu_fraction",
                                       "material_recovery_Li_fraction"]
    assert [c.passed for c in eff] == [True, True, True]
    share = check_recycled_content("M", "P", 2032, [MetalInput(metal="Co", active_material_kg=1.0,
                                                               recycled_physical_kg=0.16 - 1e-12)], "physical_segregation")
    assert share.passed is True


def test_csv_of_checks_without_a_target() -> None:
    """Before any Annex XII C target (2026): the recovery row has empty target, applies_from and passed."""
    rep = compliance_report("M", "P", 2026, recycling=[_result(0.72, {"Co": 0.96})])
    rows = list(csv.reader(io.StringIO(rep.to_csv())))
    assert rows[2] == ["M", "P", "2026", "Annex XII C material recovery Co", "material_recovery_Co_fraction", "0.96", "", "", "",
                       "", "hydro: recovered / contained Co"]
