"""The pilot consortium and its battery models, and a deterministic generator of pack passports.

The companies are fictitious; their identifiers follow the real formats (Catena-X BPNL, Ouranos
13-digit operator id, Korean business number with a valid check digit). Model figures are plausible
values for packs of each chemistry (pack mass from BatPaC 5.0 intensities, REFERENCE.md §4); carbon
footprints are demo estimates until the circular package computes them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from ..reference import batpac_5, battery_ratings_literature, eu_2024_1252_crm, first_life_fade

# where a pack of the pilot's fleet is (the simulator's state codes, the report's categories)
STATE_NEW, STATE_VEHICLE, STATE_SECOND_LIFE, STATE_RECYCLED, STATE_LOST = 0, 1, 2, 3, 4
STATE_NAMES = {STATE_VEHICLE: "in vehicles", STATE_SECOND_LIFE: "second life", STATE_RECYCLED: "recycled",
               STATE_LOST: "left the loop"}

AUTOMAKER = "BPNL000000000EM1"
CELL_KR = "211-86-00017"
CELL_JP = "9876543210987"
CELL_CN = "BPNL000000000JP8"
RECYCLER_EU = "BPNL000000000RM3"
RECYCLER_KR = "314-81-00010"
SECOND_LIFE = "BPNL000000000CS5"
BAAS = "220-88-00015"
REPAIRER = "BPNL000000000RP2"
AUTHORITY = "BPNL000000000MS9"
NOTIFIED_BODY = "BPNL000000000NB4"
# the closed loop's further actors (the pilot simulator): dismantlers, second-life integrators, cathode plants
DISMANTLER_KR = "514-81-00022"
DISMANTLER_EU = "BPNL000000000DE6"
SECOND_LIFE_EU = "BPNL000000000SL8"
SECOND_LIFE_KR = "607-86-00033"
CAM_JP = "BPNL000000000CJ1"
CAM_CN = "BPNL000000000CC2"
# the Korean government in Kia's Korean pilot (issue 18): the Ministry of Environment as authority and local
# governments collecting used packs (REFERENCE.md is silent on both roles: reference korea_battery_rules);
# the business numbers are fictitious (83: the middle code Korean numbers give public bodies), with valid check digits
KR_MINISTRY = "108-83-00006"
KR_LOCAL_DAEGU = "616-83-00002"
KR_LOCAL_JEJU = "138-83-00007"

PARTICIPANTS: list[dict[str, Any]] = [
    {"id": AUTOMAKER, "name": "EuroMotors AG", "country": "DE", "roles": ["manufacturer"]},
    {"id": CELL_KR, "name": "Hanbit Energy Co., Ltd.", "country": "KR", "roles": ["manufacturer", "supplier"]},
    {"id": CELL_JP, "name": "Sakura Cell K.K.", "country": "JP", "roles": ["manufacturer", "supplier"]},
    {"id": CELL_CN, "name": "Jade Power Battery Co.", "country": "CN", "roles": ["manufacturer", "supplier"]},
    {"id": RECYCLER_EU, "name": "ReMetal Recycling GmbH", "country": "DE", "roles": ["recycler"]},
    {"id": RECYCLER_KR, "name": "Saeum Materials Recovery", "country": "KR", "roles": ["recycler"]},
    {"id": SECOND_LIFE, "name": "CityStore Energy Ltd.", "country": "CN", "roles": ["second_life_operator"]},
    {"id": BAAS, "name": "Kiwoom Battery Lease", "country": "KR", "roles": ["baas_operator"]},
    {"id": REPAIRER, "name": "PackFix Service BV", "country": "NL", "roles": ["repairer"]},
    {"id": AUTHORITY, "name": "Market Surveillance Authority", "country": "BE", "roles": ["authority"]},
    {"id": NOTIFIED_BODY, "name": "Certis Notified Body", "country": "DE", "roles": ["notified_body"]},
]

LOOP_PARTICIPANTS: list[dict[str, Any]] = [
    {"id": DISMANTLER_KR, "name": "Daegu Auto Dismantling Co.", "country": "KR", "roles": ["recycler"]},
    {"id": DISMANTLER_EU, "name": "Antwerp EV Dismantling NV", "country": "BE", "roles": ["recycler"]},
    {"id": SECOND_LIFE_EU, "name": "Rotterdam City Storage BV", "country": "NL", "roles": ["second_life_operator"]},
    {"id": SECOND_LIFE_KR, "name": "Jeju Solar Storage Co.", "country": "KR", "roles": ["second_life_operator"]},
    {"id": CAM_JP, "name": "Sakura Cathode Materials", "country": "JP", "roles": ["supplier"]},
    {"id": CAM_CN, "name": "Jade Cathode Materials", "country": "CN", "roles": ["supplier"]},
    {"id": KR_MINISTRY, "name": "Ministry of Environment (Republic of Korea)", "country": "KR", "roles": ["authority"]},
    # local governments collect used packs: the platform's waste-handling role (the dismantlers' too)
    {"id": KR_LOCAL_DAEGU, "name": "Daegu Metropolitan City, used EV battery collection", "country": "KR",
     "roles": ["recycler"]},
    {"id": KR_LOCAL_JEJU, "name": "Jeju Special Self-Governing Province, used EV battery collection", "country": "KR",
     "roles": ["recycler"]},
]
"""Participants the pilot simulator adds to the consortium (registered by ``batteryloop demo``)."""


#: standard atomic weights (IUPAC, g/mol) of the elements of the pilot's cathodes
_ATOMIC_G_PER_MOL = {"Li": 6.94, "Ni": 58.693, "Mn": 54.938, "Co": 58.933, "Al": 26.982, "Fe": 55.845, "P": 30.974,
                     "O": 15.999}
#: cathode active material → (the element BatPaC gives per kWh, the formula as {element: atoms})
_CATHODE_FORMULA = {
    "NMC811": ("Ni", {"Li": 1, "Ni": 0.8, "Mn": 0.1, "Co": 0.1, "O": 2}),
    "NCA": ("Ni", {"Li": 1, "Ni": 0.8, "Co": 0.15, "Al": 0.05, "O": 2}),
    "LFP": ("Fe", {"Li": 1, "Fe": 1, "P": 1, "O": 4}),
}
_SUPPLIERS = {  # the pilot's cell makers as sources of spare modules (fictitious, like the companies)
    CELL_KR: ("Hanbit Energy Co., Ltd.", "Ochang Science Park 50, 28116 Cheongju, KR", "hanbit-energy"),
    CELL_JP: ("Sakura Cell K.K.", "1-2-3 Moriguchi, 570-8511 Osaka, JP", "sakura-cell"),
    CELL_CN: ("Jade Power Battery Co.", "88 Xinhua Road, 213000 Changzhou, CN", "jade-power"),
}
EUROMOTORS_ADDRESS = "Werkstraße 1, 38440 Wolfsburg, DE"


def _composition_masses_kg(chemistry: str, energy_kwh: float) -> dict[str, float]:
    """Masses (kg) of a pack's cathode active material, graphite and electrolyte salt and solvent, from BatPaC 5.0's
    intensities per kWh (``batpac_5``) and the electrolyte share of a cell (``battery_ratings_literature``)."""
    per_kwh = batpac_5.SET.get("kg_per_kwh_cell", chemistry)
    element, formula = _CATHODE_FORMULA[chemistry]
    molar = sum(_ATOMIC_G_PER_MOL[e] * n for e, n in formula.items())
    cathode = per_kwh[element] * energy_kwh * molar / (_ATOMIC_G_PER_MOL[element] * formula[element])
    electrolyte = battery_ratings_literature.SET.get("electrolyte_share_of_cell_mass") * per_kwh["cell_mass"] * energy_kwh
    return {"cathode": round(cathode, 1), "graphite": round(per_kwh["graphite"] * energy_kwh, 1),
            "LiPF6": round(electrolyte * 0.125, 1), "EC": round(electrolyte * 0.30, 1)}


def critical_raw_materials(chemistry: str, energy_kwh: float, mass_kg: float) -> list[str]:
    """The critical raw materials (``eu_2024_1252_crm``) a pack holds above 0.1 % of its mass: its cells' elements,
    graphite, copper and aluminium from BatPaC 5.0's intensities (``batpac_5``), the phosphorus of an LFP cathode
    by stoichiometry (one P per Fe). The casing's aluminium and the busbars' copper only add to those."""
    per_kwh = dict(batpac_5.SET.get("kg_per_kwh_cell", chemistry))
    if per_kwh.get("Fe"):
        per_kwh["P"] = per_kwh["Fe"] * _ATOMIC_G_PER_MOL["P"] / _ATOMIC_G_PER_MOL["Fe"]
    out = [name for key, (name, _) in eu_2024_1252_crm.BATTERY_MATERIAL_CRM.items()
           if per_kwh.get(key, 0.0) * energy_kwh > eu_2024_1252_crm.THRESHOLD_MASS_FRACTION * mass_kg]
    return sorted(out)


#: the safety test report a model of each battery category carries (title, standard): REESS of M/N vehicles under
#: UN Regulation No 100 Part II; an LMT battery under EN 50604-1; an industrial lithium battery under EN IEC 62619
#: (Annex V of Regulation (EU) 2023/1542 adds its safety parameters for stationary storage systems only, Art. 12)
SAFETY_TEST_REPORT: dict[str, dict[str, str]] = {
    "ev": {"title": "REESS safety (UN Regulation No 100, Part II)", "standard": "UN R100 Rev.3 Part II"},
    "lmt": {"title": "LMT battery safety", "standard": "EN 50604-1"},
    "industrial": {"title": "Safety of industrial lithium batteries", "standard": "EN IEC 62619"},
}


#: the first year of the catalogue's packs when a caller gives none: the default pilot's first year when it was set
#: (``batteryloop demo --years 10`` run in 2026: 2016–2025), before the oldest pack :func:`generate_batteries` makes
#: (six years before the day it runs) for as long as that is 2016 or later
DEFAULT_FIRST_YEAR = 2016


def mid_life_round_trip_efficiency_pct(initial_pct: float, capacity_threshold_pct: float) -> float:
    """The round-trip efficiency (%) a model's own BMS reports will state at half its declared cycle life — the Annex
    IV figure "at 50 % of cycle life" the catalogue declares, computed, not an independent check: the fade model
    (:mod:`batteryloop.reference.first_life_fade`) sets the cycle loss to reach ``100 − capacity_threshold_pct`` at
    the declared cycle life, loss ∝ FEC^z, so half way it is (100 − threshold) · 0.5^z (30 × 0.5^0.7 = 18.467 %);
    the resistance grows 2.5 % per % of capacity lost (r = 46.17 %); and the efficiency follows the second-life
    model's assumption η = 1 − (1 − η₀)(1 + r/100) (:meth:`SecondLifeDegradation.round_trip_efficiency`): NMC and
    NCA η₀ 95 % → 92.69 %, LFP 96 % → 94.15 %. Calendar fade and a pack's own fade factor are left out (the
    declared figure is of the cycle-life test)."""
    from ..circular.second_life import SecondLifeDegradation

    fl = first_life_fade.SET
    loss_pct = (100.0 - capacity_threshold_pct) * 0.5 ** float(fl.get("cycle_fade_exponent"))
    r_pct = loss_pct * float(fl.get("resistance_increase_pct_per_pct_capacity_loss"))
    return round(100 * float(SecondLifeDegradation.round_trip_efficiency(initial_pct / 100, r_pct)), 2)


def _model(model_id: str, name: str, chemistry: str, energy_kwh: float, nominal_v: float, cell_maker: str,
           pack_kg_per_kwh: float, cycles: int, cf_total: float, cathode: list[dict[str, Any]],
           recycled: dict[str, float], hazardous: list[dict[str, Any]], first_year: int | None = None) -> dict[str, Any]:
    """A battery model of the catalogue. Its test reports are issued the year before ``first_year``, the year its
    first packs are made (a model is tested before it is placed on the market); default
    :data:`DEFAULT_FIRST_YEAR` — a fixed year, so the catalogue's model data do not change with the calendar."""
    tested = (first_year if first_year is not None else DEFAULT_FIRST_YEAR) - 1
    stages = [round(cf_total * s, 4) for s in (0.62, 0.30, 0.02)]
    stages.append(round(cf_total - sum(stages), 4))
    lit = battery_ratings_literature.SET
    mass_kg = round(energy_kwh * pack_kg_per_kwh, 1)
    masses = _composition_masses_kg(chemistry, energy_kwh)
    cathode = [{**cathode[0], "mass_kg": masses["cathode"]}, *cathode[1:]]
    pre_share = lit.get("recycled_content_pre_consumer_share")
    split: dict[str, float] = {}
    for key, whole in recycled.items():
        metal = key.removesuffix("_pct")
        split[f"{metal}_pre_consumer_pct"] = round(whole * pre_share, 2)
        split[f"{metal}_post_consumer_pct"] = round(whole - split[f"{metal}_pre_consumer_pct"], 2)
    concentration = {"lithium hexafluorophosphate": masses["LiPF6"], "cathode": masses["cathode"]}
    hazardous = [{**h, "concentration_pct": round(100 * concentration[
        "cathode" if h.get("location") == "cathode" else h["name"]] / mass_kg, 2)} for h in hazardous]
    labels = ["separate collection (crossed-out wheeled bin)", "CE", "chemistry symbol " + chemistry]
    symbols = [(labels[0], "separate_collection", "separate-collection"), (labels[1], "ce_marking", "ce"),
               (labels[2], "chemistry", f"chemistry-{chemistry.lower()}")]
    power_w = energy_kwh * 2500
    eta0_pct = 95.0 if chemistry != "LFP" else 96.0  # the catalogue's assumption (no source)
    supplier, supplier_address, supplier_domain = _SUPPLIERS[cell_maker]
    docs = "https://passport.example.org"
    return {
        "model_id": model_id,
        "manufacturer_id": AUTOMAKER,
        "manufacturer_name": "EuroMotors AG",
        "manufacturer_address": EUROMOTORS_ADDRESS,
        "model_name": name,
        "category": "ev",
        "vehicle_category": "M1",
        "chemistry": chemistry,
        "mass_kg": mass_kg,
        "rated_capacity_ah": round(energy_kwh * 1000 / nominal_v, 1),
        "rated_energy_kwh": energy_kwh,
        "nominal_voltage_v": nominal_v,
        # series count from the cell's nominal voltage (LFP 3.2 V, layered oxides 3.65 V); parallel: cells
        # of about 60 Ah (LFP) or 70 Ah (NMC prismatic) per group
        "cells_in_series": round(nominal_v / (3.2 if chemistry == "LFP" else 3.65)),
        "cells_in_parallel": max(1, round(energy_kwh * 1000 / nominal_v / (60 if chemistry == "LFP" else 70))),
        "min_voltage_v": round(nominal_v * 0.78, 1),
        "max_voltage_v": round(nominal_v * 1.15, 1),
        "original_power_capability_w": power_w,
        # Annex IV Part B(4): at 80 % and 20 % state of charge (battery_ratings_literature: the 20 % share)
        "original_power_capability_at_soc": [
            {"state_of_charge_pct": 80.0, "power_w": power_w},
            {"state_of_charge_pct": 20.0, "power_w": round(power_w * lit.get("power_at_20pct_soc_share_of_80pct"))}],
        "power_energy_ratio_per_h": lit.get("nominal_power_energy_ratio_per_h"),
        "max_permitted_power_w": energy_kwh * 3000,
        "expected_lifetime_cycles": cycles,
        "expected_lifetime_years": lit.get("expected_lifetime_years", "ev_moderate_climate"),
        "initial_self_discharge_pct_per_month": lit.get("initial_self_discharge_pct_per_month", "lithium_ion"),
        "cycle_life_test_reference": "IEC 62660-1:2018 cycle life test",
        "cycle_life_test_url": f"{docs}/tests/{model_id}-cycle-life.pdf",
        "cycle_life_c_rate": 0.33,
        "capacity_threshold_exhaustion_pct": 70.0,
        "idle_temperature_lower_c": -30.0,
        "idle_temperature_upper_c": 55.0,
        "warranty_years": 8,
        "warranty_km": 160000,
        "initial_round_trip_efficiency_pct": eta0_pct,
        "round_trip_efficiency_at_50pct_cycle_life_pct": mid_life_round_trip_efficiency_pct(eta0_pct, 70.0),
        "internal_resistance_cell_mohm": 0.9 if chemistry != "LFP" else 0.6,
        "internal_resistance_pack_mohm": 95.0,
        # lithium-ion fires need cooling: CO2 neither cools nor stops a thermal runaway, so it is not listed
        "extinguishing_agent": ["water in large quantities (cooling)",
                                "aqueous vermiculite dispersion (single cells and modules)"],
        "material_composition": {"cathode_material": cathode[0]["material"], "anode_material": "graphite",
                                 "electrolyte": "LiPF6 in EC/EMC", "casing_material": "aluminium"},
        "hazardous_substances": hazardous,
        # the critical raw materials the pack holds (Regulation (EU) 2024/1252 Annex II), from its composition;
        # ``crm`` (the catalogue's older list) must be among them
        "critical_raw_materials": critical_raw_materials(chemistry, energy_kwh, mass_kg),
        "carbon_footprint": {
            "total_kgco2e_per_kwh": cf_total,
            "raw_material_kgco2e_per_kwh": stages[0],
            "main_production_kgco2e_per_kwh": stages[1],
            "distribution_kgco2e_per_kwh": stages[2],
            "end_of_life_kgco2e_per_kwh": stages[3],
            "performance_class": None,  # no class limits are adopted yet (Art. 7(2)): no class can be declared
            "study_url": f"https://passport.example.org/studies/{model_id}-cf.pdf",
        },
        "due_diligence_report_url": "https://passport.example.org/euromotors/due-diligence-2026.pdf",
        "recycled_content": {**recycled, **split, "allocation_rule": "mass_balance"},
        "renewable_content_pct": 4.0,
        "labels": labels,
        "label_symbols": [{"label": text, "subject": subject, "symbol_url": f"{docs}/labels/{slug}.svg"}
                          for text, subject, slug in symbols],
        "collection_information": "Return to any EuroMotors dealer or an authorised treatment facility; "
                                  "collection is free of charge (Art. 61).",
        "waste_prevention_url": f"{docs}/euromotors/end-of-life/waste-prevention.html",
        "separate_collection_url": f"{docs}/euromotors/end-of-life/separate-collection.html",
        "collection_information_url": f"{docs}/euromotors/end-of-life/collection-points.html",
        "declaration_of_conformity_url": f"https://passport.example.org/doc/{model_id}.pdf",
        "detailed_composition": {
            "cathode": cathode,
            "anode": [{"material": "graphite", "cas_number": "7782-42-5", "mass_fraction_pct": 96.0,
                       "mass_kg": masses["graphite"]}],
            "electrolyte": [{"material": "lithium hexafluorophosphate", "cas_number": "21324-40-3",
                             "mass_fraction_pct": 12.5, "mass_kg": masses["LiPF6"]},
                            {"material": "ethylene carbonate", "cas_number": "96-49-1", "mass_fraction_pct": 30.0,
                             "mass_kg": masses["EC"]}],
        },
        "spare_parts": [
            {"part_number": f"{model_id}-BMS", "name": "battery management system", "supplier_name": "EuroMotors AG",
             "supplier_address": EUROMOTORS_ADDRESS, "supplier_email": "parts@euromotors.example",
             "supplier_web_url": "https://parts.euromotors.example/"},
            {"part_number": f"{model_id}-MOD", "name": "module", "supplier_name": supplier,
             "supplier_address": supplier_address, "supplier_email": f"service@{supplier_domain}.example",
             "supplier_web_url": f"https://service.{supplier_domain}.example/"},
        ],
        "dismantling_information": {
            "manual_url": f"https://passport.example.org/dismantling/{model_id}.pdf",
            "steps": ["discharge to < 60 V", "remove service disconnect", "remove lid (M6 screws)",
                      "disconnect busbars", "remove modules"],
            "tools": ["insulated torque wrench", "lifting frame"],
            "fastener_types": ["M6 screws", "adhesive"],
        },
        "safety_measures": ["wear class 0 insulating gloves", "store damaged packs in a quarantine container"],
        "safety_instructions_url": f"{docs}/safety/{model_id}.pdf",
        "test_reports": [
            {"title": "UN 38.3 transport test summary", "standard": "UN 38.3", "issuer": "Certis Notified Body",
             "issued_on": f"{tested}-03-14", "url": f"https://passport.example.org/tests/{model_id}-un383.pdf"},
            # a traction pack of an M or N vehicle proves its safety under UN Regulation No 100 Part II (REESS);
            # Annex V of Regulation (EU) 2023/1542 (with EN IEC 62619) is for stationary storage systems (Art. 12)
            SAFETY_TEST_REPORT["ev"] | {"issuer": "Certis Notified Body", "issued_on": f"{tested}-04-02",
                                        "url": f"https://passport.example.org/tests/{model_id}-safety.pdf"},
        ],
    }


def _cathode_hazard(name: str, cas: str) -> dict[str, Any]:
    """A layered-oxide cathode as a hazardous substance: it is a nickel and a cobalt compound, classified by its
    nickel content (CLP: nickel compounds Carc. 1A, inhalation; cobalt compounds Carc. 1B), under its own CAS
    number — not cobalt metal's (7440-48-4)."""
    return {"name": f"{name} (nickel and cobalt compounds)", "cas_number": cas, "location": "cathode",
            "hazard_class": "Carc. 1A (H350i); Skin Sens. 1 (H317); STOT RE 1 (H372)"}


def battery_models(first_year: int | None = None) -> list[dict[str, Any]]:
    """Three pack models of different chemistries, cells from Korea, Japan and China; ``first_year``: the year their
    first packs are made (their test reports are dated the year before; :func:`_model`)."""
    return [
        _model("EM-NMC811-82", "EuroMotors Pack 82 NMC", "NMC811", 82.0, 355.2, CELL_KR, 4.89 * 1.2, 2000, 0.165,
               [{"material": "LiNi0.8Mn0.1Co0.1O2", "cas_number": "182442-95-1", "mass_fraction_pct": 94.0}],
               {"cobalt_pct": 8.0, "lithium_pct": 3.0, "nickel_pct": 4.0},
               [{"name": "lithium hexafluorophosphate", "cas_number": "21324-40-3", "location": "electrolyte",
                 "hazard_class": "Acute Tox. 3"},
                _cathode_hazard("lithium nickel manganese cobalt oxide", "182442-95-1")], first_year),
        _model("EM-LFP-60", "EuroMotors Pack 60 LFP", "LFP", 60.0, 320.0, CELL_CN, 6.49 * 1.1, 4000, 0.072,
               [{"material": "LiFePO4", "cas_number": "15365-14-7", "mass_fraction_pct": 95.0}],
               {"lithium_pct": 2.0},
               [{"name": "lithium hexafluorophosphate", "cas_number": "21324-40-3", "location": "electrolyte",
                 "hazard_class": "Acute Tox. 3"}], first_year),
        _model("EM-NCA-75", "EuroMotors Pack 75 NCA", "NCA", 75.0, 350.0, CELL_JP, 4.99 * 1.2, 1800, 0.178,
               [{"material": "LiNi0.8Co0.15Al0.05O2", "cas_number": "193214-24-3", "mass_fraction_pct": 94.0}],
               {"cobalt_pct": 11.0, "lithium_pct": 4.0, "nickel_pct": 5.0},
               [{"name": "lithium hexafluorophosphate", "cas_number": "21324-40-3", "location": "electrolyte",
                 "hazard_class": "Acute Tox. 3"},
                _cathode_hazard("lithium nickel cobalt aluminium oxide", "193214-24-3")], first_year),
    ]


#: what a repurposed battery's model keeps of its original model: what its cells and pack are (chemistry, ratings,
#: composition, hazards, dismantling, the cells' self-discharge and the cycle-life test's C-rate, the renewable
#: content); not what the first placing on the market declared for its first use (the vehicle category, the EV
#: capacity threshold, lifetime and warranty, the footprint, the original test reports and efficiencies). The
#: recycled content is the passport's (the pilot declares it per plant and year): the repurposed passport declares
#: none — Regulation (EU) 2023/1542 Art. 8(4) lifts the obligation for repurposed batteries; the cells' figure is
#: the original battery's declaration, on the passport the repurposed one supersedes
_SECOND_LIFE_KEEPS = (
    "chemistry", "mass_kg", "rated_capacity_ah", "rated_energy_kwh", "nominal_voltage_v", "min_voltage_v", "max_voltage_v",
    "cells_in_series", "cells_in_parallel", "original_power_capability_w", "original_power_capability_at_soc",
    "power_energy_ratio_per_h", "max_permitted_power_w", "internal_resistance_cell_mohm", "internal_resistance_pack_mohm",
    "idle_temperature_lower_c", "idle_temperature_upper_c", "extinguishing_agent", "material_composition",
    "hazardous_substances", "critical_raw_materials", "labels", "label_symbols", "detailed_composition",
    "dismantling_information", "safety_measures", "initial_self_discharge_pct_per_month", "cycle_life_c_rate",
    "renewable_content_pct",
)

#: the repurposers' postal addresses (Annex VI Part A(1): the manufacturer's — here the repurposer's — address)
REPURPOSER_ADDRESS = {
    SECOND_LIFE_EU: "Maasboulevard 100, 3011 TX Rotterdam, NL",
    SECOND_LIFE_KR: "Cheomdan-ro 213-3, 63309 Jeju-si, KR",
    "BPNL000000000LZ7": "Nanbinhe East Road 1, 730030 Lanzhou, CN",  # sim.lanzhou.OPERATOR
}


def second_life_model_id(model_id: str, repurposer: str) -> str:
    """The id of the model under which ``repurposer`` places repurposed packs of ``model_id`` on the market."""
    return f"{model_id}-SL-{repurposer}"[:100]


def second_life_end_soh_pct(t: Any) -> float:
    """The end of second life as the pilot's states of health read it, in percent: the route decision's and the
    hubs' figure, ``batteryloop_assumptions.second_life_end_soh_fraction`` (a project assumption), read through the
    run's tracker ``t`` (so a run's override reaches the pilot too); rounded to 1e-6 points, so that 0.55 declares
    55.0, not 55.00000000000001."""
    return round(100 * float(t.get("batteryloop_assumptions", "second_life_end_soh_fraction")), 6)


def second_life_model(model: dict[str, Any], repurposer: dict[str, Any], first_year: int, t: Any, *,
                      soh_pct_at_repurposing: float) -> dict[str, Any]:
    """The battery model of ``model``'s packs repurposed by ``repurposer`` (a participant) for stationary storage.

    Regulation (EU) 2023/1542, Art. 3(1)(13): an "industrial battery" is one "specifically designed for industrial
    uses, intended for industrial uses after having been subject to preparation for repurposing or repurposing, or
    any other battery that weighs more than 5 kg and that is neither an electric vehicle battery, an LMT battery, nor
    an SLI battery"; an "electric vehicle battery" (Art. 3(1)(14)) is one specifically designed to provide traction
    to a road vehicle. A traction pack repurposed into a storage hub is therefore an industrial battery, and the
    operator that repurposes it places it on the market again under its own name with a new passport (Art. 77(7)):
    this model is that operator's, with what a battery placed on the market declares (the Battery Pass's required
    items: the repurposer's address, declaration of conformity, expected lifetime and cycles, cycle-life test,
    capacity threshold, safety instructions, spare parts, end-of-life information). Its figures are the second
    life's: lifetime ``nrel_2015_second_use.second_use_years`` (the route model's longest second life) and
    ``batteryloop_assumptions.route.repurpose_cycles_per_year`` × that, capacity threshold
    ``batteryloop_assumptions.second_life_end_soh_fraction`` (a project assumption); its initial round-trip
    efficiency is the pack's at repurposing (``soh_pct_at_repurposing``, the first pack the repurposer takes of the
    model: the resistance the pilot's BMS states at that health, the second-life model's efficiency of it), its
    efficiency at half its cycle life the same at the health half way to the threshold. Its safety is shown for
    stationary storage (EN IEC 62619; Annex V, Art. 12), tested on 1 June of ``first_year``, the year the repurposer
    first repurposes such a pack (the pilot repurposes in December). Every figure is read through ``t``, the run's
    reference tracker (``References.tracker()``: the run's overrides, and the run's list of values used)."""
    from ..circular.second_life import SecondLifeDegradation

    years = float(t.get("nrel_2015_second_use", "second_use_years"))
    end_pct = second_life_end_soh_pct(t)
    per_pct = float(t.get("first_life_fade", "resistance_increase_pct_per_pct_capacity_loss"))
    eta0 = float(model["initial_round_trip_efficiency_pct"]) / 100

    def rte_pct(soh_pct: float) -> float:
        return round(100 * float(SecondLifeDegradation.round_trip_efficiency(eta0, max(0.0, 100.0 - soh_pct) * per_pct)), 2)

    out = {k: model[k] for k in _SECOND_LIFE_KEEPS if k in model}
    docs = "https://passport.example.org"
    mid = second_life_model_id(model["model_id"], repurposer["id"])
    address = REPURPOSER_ADDRESS[repurposer["id"]]
    domain = repurposer["id"].lower()
    out.update({
        "model_id": mid, "manufacturer_id": repurposer["id"], "manufacturer_name": repurposer["name"],
        "manufacturer_address": address,
        "model_name": f"Second-life storage pack (repurposed {model['model_name']})",
        "category": "industrial",
        "expected_lifetime_years": years,
        "expected_lifetime_cycles": int(round(float(t.get("batteryloop_assumptions", "route",
                                                          "repurpose_cycles_per_year")) * years)),
        "cycle_life_test_reference": "IEC 62619:2022 cycle life test of the repurposed pack",
        "cycle_life_test_url": f"{docs}/tests/{mid}-cycle-life.pdf",
        "capacity_threshold_exhaustion_pct": end_pct,
        "initial_round_trip_efficiency_pct": rte_pct(soh_pct_at_repurposing),
        "round_trip_efficiency_at_50pct_cycle_life_pct": rte_pct((soh_pct_at_repurposing + end_pct) / 2),
        "declaration_of_conformity_url": f"{docs}/doc/{mid}.pdf",
        "safety_instructions_url": f"{docs}/safety/{mid}.pdf",
        "collection_information": f"Return to {repurposer['name']} at the end of the storage's life; collection "
                                  "is free of charge (Art. 61).",
        "waste_prevention_url": f"{docs}/{domain}/end-of-life/waste-prevention.html",
        "separate_collection_url": f"{docs}/{domain}/end-of-life/separate-collection.html",
        "collection_information_url": f"{docs}/{domain}/end-of-life/collection-points.html",
        "spare_parts": [
            {"part_number": f"{mid}-MOD", "name": "module (from repurposed packs of the same model)",
             "supplier_name": repurposer["name"], "supplier_address": address,
             "supplier_email": f"parts@{domain}.example", "supplier_web_url": f"https://parts.{domain}.example/"},
            {"part_number": f"{mid}-BMS", "name": "storage battery management system",
             "supplier_name": repurposer["name"], "supplier_address": address,
             "supplier_email": f"parts@{domain}.example", "supplier_web_url": f"https://parts.{domain}.example/"},
        ],
        "test_reports": [SAFETY_TEST_REPORT["industrial"] | {"issuer": "Certis Notified Body",
                                                             "issued_on": f"{first_year}-06-01",
                                                             "url": f"{docs}/tests/{mid}-safety.pdf"}],
    })
    return out


PLANTS = [("DE", "EuroMotors Pack Plant Zwickau"), ("HU", "EuroMotors Pack Plant Debrecen"),
          ("KR", "EuroMotors Ulsan Assembly")]
#: the plants' postal codes (the towns' own: Zwickau-Mosel, Debrecen, Ulsan Buk-gu)
PLANT_POSTAL_CODES = {"EuroMotors Pack Plant Zwickau": "08058", "EuroMotors Pack Plant Debrecen": "4031",
                      "EuroMotors Ulsan Assembly": "44259"}


def first_life_draw(rng: random.Random, model: dict[str, Any], years: float) -> tuple[float, float]:
    """A pack's full equivalent cycles and state of health (%) after ``years`` in a vehicle (two draws from
    ``rng``, in this order): the demo's and the bulk registry's passports (``registry_bulk``)."""
    cycles = round(years * rng.uniform(40, 90), 1)
    fade = 0.012 if model["chemistry"] == "LFP" else 0.022
    soh = max(60.0, round(100.0 - years * fade * 100 * rng.uniform(0.6, 1.4) - rng.uniform(0, 1.5), 1))
    return cycles, soh


def state_of_health_draw(rng: random.Random, model: dict[str, Any], soh: float, years: float,
                         measured_at: str) -> dict[str, Any]:
    """The passport's ``state_of_health`` for a pack at ``soh`` % after ``years`` (four draws from ``rng``); the
    remaining power at each state of charge of the model's original follows the remaining power share."""
    soce = round(min(100.0, soh + rng.uniform(0, 1.0)), 1)  # the draws in their order: SoCE, then power
    power_pct = round(min(100.0, soh + rng.uniform(2, 6)), 1)
    return {
        "soh_capacity_pct": soh,
        "remaining_capacity_ah": round(model["rated_capacity_ah"] * soh / 100, 1),
        "remaining_energy_kwh": round(model["rated_energy_kwh"] * soh / 100, 2),
        "state_of_certified_energy_pct": soce,
        "remaining_power_capability_pct": power_pct,
        "remaining_power_capability_at_soc": [
            {"state_of_charge_pct": p["state_of_charge_pct"], "power_w": round(p["power_w"] * power_pct / 100)}
            for p in model.get("original_power_capability_at_soc", ())],
        "remaining_round_trip_efficiency_pct": round(95.0 - years * 0.3, 1),
        "self_discharge_pct_per_month": round(rng.uniform(1.0, 3.0), 2),
        "ohmic_resistance_increase_pct": round(years * rng.uniform(2, 6), 1),
        "measured_at": measured_at,
    }


def generate_batteries(n: int, seed: int = 42, today: dt.date | None = None) -> Iterator[dict[str, Any]]:
    """``n`` pack passports (battery data), deterministic for a seed. The share of a pack's time at extreme
    temperature spent charging (Battery Pass's charging-time counters) comes from a second stream, so the packs'
    other values are those of the same seed before the counters existed."""
    rng = random.Random(seed)
    charging = random.Random(seed + 0xC4A76E)
    today = today or dt.date.today()
    models = battery_models()
    for i in range(n):
        m = models[i % len(models)]
        country, site = PLANTS[rng.randrange(len(PLANTS))]
        made = today - dt.timedelta(days=rng.randint(30, 6 * 365))
        in_service = made + dt.timedelta(days=rng.randint(7, 120))
        if in_service > today:
            in_service = None
        years = ((today - in_service).days / 365.25) if in_service else 0.0
        cycles, soh = first_life_draw(rng, m, years)
        energy = m["rated_energy_kwh"]
        rec: dict[str, Any] = {
            "serial_number": f"{m['chemistry'].replace('-', '')}-{seed:03d}-{i:07d}",
            "model_id": m["model_id"],
            "economic_operator_id": AUTOMAKER,
            "economic_operator_name": "EuroMotors AG",
            "economic_operator_address": EUROMOTORS_ADDRESS,
            "manufacture_date": made.isoformat(),
            "manufacture_country": country,
            "manufacture_site": site,
            "manufacture_postal_code": PLANT_POSTAL_CODES[site],
            "mass_kg": round(m["mass_kg"] * rng.uniform(0.995, 1.005), 1),
            "status": "original",
            "state_of_health": state_of_health_draw(
                rng, m, soh, years, dt.datetime.combine(today, dt.time(2, 0), tzinfo=dt.UTC).isoformat()),
            "usage": {
                "full_equivalent_cycles": cycles,
                "energy_throughput_kwh": round(cycles * energy, 1),
                "capacity_throughput_ah": round(cycles * m["rated_capacity_ah"], 1),
                "time_above_extreme_temperature_h": round(rng.expovariate(1 / 20), 1),
                "time_below_extreme_temperature_h": round(rng.expovariate(1 / 30), 1),
                "deep_discharge_events": rng.choice([0, 0, 0, 0, 1, 2]),
                "min_operating_temperature_c": -round(rng.uniform(5, 25), 1),
                "max_operating_temperature_c": round(rng.uniform(35, 48), 1),
                "state_of_charge_pct": round(rng.uniform(20, 90), 1),
            },
        }
        use = rec["usage"]
        for side in ("above", "below"):  # hours at an extreme temperature while charging: a share of all of them
            use[f"time_{side}_extreme_temperature_charging_h"] = round(
                use[f"time_{side}_extreme_temperature_h"] * charging.uniform(0.05, 0.25), 1)
        if in_service:
            rec["putting_into_service_date"] = in_service.isoformat()
        if rng.random() < 0.3:
            rec["owner_id"] = BAAS
        yield rec
