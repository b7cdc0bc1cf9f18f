"""Compliance: recycled content under both allocation rules, Annex XII checks by date, report formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from batteryloop.circular.compliance import (
    ANNEX_XII_DATES,
    MetalInput,
    check_recycled_content,
    check_recycling_targets,
    compliance_report,
)
from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.footprint import carbon_footprint
from batteryloop.circular.recycling import recycle, recycle_pack
from batteryloop.circular.chemistry import pack_composition

CO = MetalInput(metal="Co", active_material_kg=1000, recycled_physical_kg=100,
                plant_active_material_kg=4000, plant_recycled_kg=800)


def test_allocation_rule_changes_the_share():
    seg = check_recycled_content("M", "P", 2032, [CO], "physical_segregation")
    bal = check_recycled_content("M", "P", 2032, [CO], "mass_balance")
    assert seg.shares_fraction["Co"] == pytest.approx(100 / 1000)  # 10 % < 16 %
    assert bal.shares_fraction["Co"] == pytest.approx(800 * 1000 / 4000 / 1000)  # 20 % ≥ 16 %
    assert seg.passed is False and bal.passed is True
    assert seg.checks[0].target_fraction == 0.16 and seg.checks[0].applies_from == "2031-08-18"


def test_targets_by_date():
    li = MetalInput(metal="Li", active_material_kg=100, recycled_physical_kg=10)
    before = check_recycled_content("M", "P", 2030, [li], "physical_segregation")
    assert before.checks[0].target_fraction is None and before.passed is None
    y2031 = check_recycled_content("M", "P", 2031, [li], "physical_segregation")  # 31 Dec 2031: 6 %
    assert y2031.checks[0].target_fraction == 0.06 and y2031.passed
    y2036 = check_recycled_content("M", "P", 2036, [li], "physical_segregation")  # from 18 Aug 2036: 12 %
    assert y2036.checks[0].target_fraction == 0.12 and y2036.passed is False
    early = check_recycled_content("M", "P", 2036, [li], "physical_segregation", as_of=date(2036, 8, 17))
    assert early.checks[0].target_fraction == 0.06


def test_explicit_allocation_and_exemption():
    line = MetalInput(metal="Ni", active_material_kg=500, plant_recycled_kg=200, allocated_recycled_kg=100)
    r = check_recycled_content("M", "P", 2037, [line])
    assert r.shares_fraction["Ni"] == pytest.approx(0.2) and r.passed  # 20 % ≥ 15 %
    over = MetalInput(metal="Ni", active_material_kg=500, plant_recycled_kg=50, allocated_recycled_kg=100)
    with pytest.raises(CircularInputError) as e:
        check_recycled_content("M", "P", 2037, [over])
    assert e.value.field == "Ni.allocated_recycled_kg"
    exempt = check_recycled_content("M", "P", 2037, [CO], "physical_segregation", battery_status="repurposed")
    assert exempt.passed is None and "exempt" in exempt.checks[0].explanation


def test_recycled_content_errors():
    with pytest.raises(CircularInputError) as e:
        check_recycled_content("M", "P", 2032, [CO], "guesswork")
    assert e.value.field == "allocation_rule"
    no_plant = MetalInput(metal="Co", active_material_kg=10)
    with pytest.raises(CircularInputError) as e:
        check_recycled_content("M", "P", 2032, [no_plant], "mass_balance")
    assert e.value.field == "Co.plant_recycled_kg"
    too_much = MetalInput(metal="Co", active_material_kg=10, recycled_physical_kg=11)
    with pytest.raises(CircularInputError):
        check_recycled_content("M", "P", 2032, [too_much], "physical_segregation")
    with pytest.raises(CircularInputError) as e:
        check_recycled_content("M", "P", 2032, [CO, CO])
    assert e.value.field == "metals"


def test_annex_xii_checks_per_process_and_date():
    cells = pack_composition("NMC622", 1)
    hydro = recycle(cells, "hydro", basis="cell")
    pyro = recycle(cells, "pyro", basis="cell")
    # hydro on cells: efficiency 2.0925 / 3.19 = 0.656 ≥ 0.65 (end 2025) but < 0.70 (end 2030)
    h2025 = check_recycling_targets(hydro, ANNEX_XII_DATES[0])
    assert h2025[0].passed is True and h2025[0].target_fraction == 0.65
    assert check_recycling_targets(hydro, ANNEX_XII_DATES[2])[0].passed is False
    # material recovery: no target before end 2027; Cu 90 % meets 2027 (90 %) but not 2031 (95 %)
    assert all(c.target_fraction is None for c in h2025[1:])
    cu = {d: next(c for c in check_recycling_targets(hydro, d) if "Cu" in c.rule) for d in ANNEX_XII_DATES}
    assert cu[date(2027, 12, 31)].passed and cu[date(2031, 12, 31)].passed is False
    # pyro loses lithium: fails the 50 % Li recovery target of 2027
    li = next(c for c in check_recycling_targets(pyro, date(2027, 12, 31)) if "Li" in c.rule)
    assert li.achieved_fraction == 0 and li.passed is False
    with pytest.raises(CircularInputError):
        check_recycling_targets(hydro, date(2027, 1, 1), battery_type="alkaline")


def test_report_json_and_csv_carry_rule_and_references():
    fp = carbon_footprint("LFP", 60, "M1", 8, manufacturing_country="CN", class_limits_kgco2e_per_kwh={"A": 0.2})
    rep = compliance_report(
        "MODEL-1", "PLANT-DE", 2032, metals=[CO], allocation_rule="mass_balance",
        recycling=[recycle_pack("LFP", 60, "hydro")], footprint=fp,
    )
    data = json.loads(rep.to_json())
    assert data["allocation_rule"] == "mass_balance"
    assert data["carbon_footprint_class"] == "A"
    assert any(r["set"] == "eu_2023_1542" for r in data["references"])
    rows = list(csv.DictReader(io.StringIO(rep.to_csv())))
    assert rows[0]["rule"] == "Art. 8 recycled content Co" and rows[0]["allocation_rule"] == "mass_balance"
    assert rows[-1]["rule"] == "Art. 7 carbon footprint"
    assert len(rows) == len(rep.checks) + 1
