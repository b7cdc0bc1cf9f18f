"""The demo catalogue's safety data (Annex XIII 1(b): hazardous substances, extinguishing agent) as a fire
officer or a dismantler would read them."""

from __future__ import annotations

import pytest

from batteryloop.passport.model import BatteryModelData
from batteryloop.passport.validators import cas_check_digit_ok
from batteryloop.sim.pilot import battery_models

METAL_CAS = {"7440-48-4": "cobalt", "7440-02-0": "nickel", "7439-96-5": "manganese"}


@pytest.mark.parametrize("m", battery_models(), ids=lambda m: m["model_id"])
def test_hazardous_substances_name_the_cathodes_nickel_and_cobalt_compounds(m: dict) -> None:
    BatteryModelData.model_validate(m)
    cathode = m["detailed_composition"]["cathode"][0]
    formula = cathode["material"]
    hazards = m["hazardous_substances"]
    for h in hazards:
        assert cas_check_digit_ok(h["cas_number"]), h
        # a compound is never declared under a metal's CAS number (cobalt compounds were under cobalt's)
        assert not ("compound" in h["name"] and h["cas_number"] in METAL_CAS), h
    if "Ni" in formula:  # NMC and NCA: the cathode oxide is a nickel (and cobalt) compound, Carc. 1A by CLP
        cath = [h for h in hazards if h["location"] == "cathode"]
        assert len(cath) == 1 and "nickel" in cath[0]["name"] and "cobalt" in cath[0]["name"]
        assert cath[0]["cas_number"] == cathode["cas_number"]  # the substance the composition names
        assert "Carc. 1A" in cath[0]["hazard_class"]
    else:  # LFP: no nickel or cobalt
        assert not any("nickel" in h["name"] or "cobalt" in h["name"] for h in hazards)


def test_layered_oxide_cathodes_have_their_own_cas_numbers() -> None:
    """NMC is cobalt lithium manganese nickel oxide (CAS 182442-95-1), NCA aluminium cobalt lithium nickel
    oxide (CAS 193214-24-3): the NMC811 model used NCA's number."""
    cas = {m["chemistry"]: m["detailed_composition"]["cathode"][0]["cas_number"] for m in battery_models()}
    assert cas["NMC811"] == "182442-95-1" and cas["NCA"] == "193214-24-3" and cas["LFP"] == "15365-14-7"


@pytest.mark.parametrize("m", battery_models(), ids=lambda m: m["model_id"])
def test_no_carbon_dioxide_for_lithium_ion_fires(m: dict) -> None:
    """CO2 neither cools a lithium-ion pack nor stops thermal runaway; cooling with water is the agent."""
    agents = " ".join(m["extinguishing_agent"]).lower()
    assert "co2" not in agents and "carbon dioxide" not in agents
    assert "water" in agents


def test_critical_raw_materials_are_every_one_the_pack_holds() -> None:
    """Annex XIII 1 (public): the critical raw materials in the battery. The NMC811 passport named cobalt, lithium,
    natural graphite and nickel only; its pack holds manganese (82 kWh × 0.072 kg/kWh = 5.904 kg, 1.23 % of
    481.2 kg), copper (82 × 0.232 = 19.024 kg, 3.95 %) and aluminium (82 × 0.153 = 12.546 kg, 2.61 %, the cells'
    foils alone) — each a critical raw material of Regulation (EU) 2024/1252 Annex II (reference
    eu_2024_1252_crm), each above 0.1 % of the battery's mass. The LFP pack holds phosphorus (one P per Fe: 60 ×
    0.68 × 30.974 / 55.845 = 22.63 kg, 5.3 % of 428.3 kg) and no cobalt, nickel or manganese."""
    from batteryloop.reference import eu_2024_1252_crm

    models = {m["model_id"]: m for m in battery_models()}
    nmc = models["EM-NMC811-82"]
    assert 82 * 0.072 / nmc["mass_kg"] == pytest.approx(0.01227, abs=1e-5)
    assert nmc["critical_raw_materials"] == ["aluminium", "cobalt", "copper", "lithium", "manganese",
                                             "natural graphite", "nickel"]
    assert models["EM-NCA-75"]["critical_raw_materials"] == ["aluminium", "cobalt", "copper", "lithium",
                                                             "natural graphite", "nickel"]
    assert 60 * 0.68 * 30.974 / 55.845 == pytest.approx(22.63, abs=0.01)
    assert models["EM-LFP-60"]["critical_raw_materials"] == ["aluminium", "copper", "lithium", "natural graphite",
                                                             "phosphate rock"]
    listed = set(eu_2024_1252_crm.CRITICAL_RAW_MATERIALS)
    names = dict(eu_2024_1252_crm.BATTERY_MATERIAL_CRM.values())
    for m in models.values():
        assert all(names[c] in listed for c in m["critical_raw_materials"]), m["model_id"]
    assert eu_2024_1252_crm.CITATION.url.startswith("https://eur-lex.europa.eu/") and "Source" in eu_2024_1252_crm.__doc__


def test_safety_test_report_fits_the_battery_category() -> None:
    """The EV models carried "Battery safety (Annex V), EN IEC 62619": Annex V of Regulation (EU) 2023/1542 holds
    the safety parameters of stationary battery energy storage systems (Art. 12), and IEC 62619 is the industrial
    battery standard. A car's traction pack proves its safety under UN Regulation No 100 Part II; the Lanzhou
    e-moped's LMT battery under EN 50604-1, the boat's industrial battery under EN IEC 62619."""
    from batteryloop.hubs.fleets import segments
    from batteryloop.sim import lanzhou

    models = [*battery_models(), *(lanzhou.battery_model(seg) for seg in segments().values())]
    for m in models:
        safety = [r for r in m["test_reports"] if not r["url"].endswith("-un383.pdf")]
        assert len(safety) == 1 and "Annex V" not in safety[0]["title"], m["model_id"]
        want = {"ev": "UN R100", "lmt": "EN 50604-1", "industrial": "EN IEC 62619"}[m["category"]]
        assert safety[0]["standard"].startswith(want), (m["model_id"], safety[0])
    assert {m["category"] for m in models} == {"ev", "lmt", "industrial"}
