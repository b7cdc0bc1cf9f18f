"""Argonne EverBatt 2023: recycling recovery rates, process inputs, gate fees and prices.

Source: Q. Dai, J. Spangenberger, S. Ahmed, L. Gaines, J. C. Kelly, M. Wang, "EverBatt: A Closed-loop
Battery Recycling Cost and Environmental Impacts Model", Argonne National Laboratory ANL-19/16 (2019),
and the EverBatt 2023 model defaults — https://www.anl.gov/amd/everbatt

- recovery fractions of each material by process (pyrometallurgical, hydrometallurgical, direct);
  0 where the material is lost to slag or burned; in direct recycling Li, Co, Ni, Mn (and Fe, P, O)
  stay in the cathode, which is recovered whole at 90 %;
- process inputs per kg of spent battery;
- gate fee, $/kg of spent battery, with EverBatt's sign: positive = the recycler pays the owner for
  the batteries (valuable LCO), negative = the recycler is paid to take them (LFP, LMO);
- recovered-material prices, 2020 $/kg (Ni, Co, Mn per kg of metal; Li as Li2CO3; cathode powders
  per kg of powder). Prices move a lot (Li2CO3 about $71/kg in 2022, $14/kg in 2024): override them.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="everbatt_2023",
    citation=Citation(
        title="EverBatt: closed-loop battery recycling cost and environmental impacts model (ANL-19/16; 2023 defaults)",
        publisher="Argonne National Laboratory",
        date="2023",
        url="https://www.anl.gov/amd/everbatt",
    ),
    values={
        "recovery_fraction": {
            "pyro": {
                "Cu": 0.90, "steel": 0.90, "Al": 0.0, "graphite": 0.0, "Li": 0.0,
                "Co": 0.98, "Ni": 0.98, "Mn": 0.0, "Fe": 0.0, "cathode": 0.0,
            },
            "hydro": {
                "Cu": 0.90, "steel": 0.90, "Al": 0.90, "graphite": 0.90, "Li": 0.90,
                "Co": 0.98, "Ni": 0.98, "Mn": 0.98, "Fe": 0.0, "cathode": 0.0,
            },
            "direct": {
                "Cu": 0.90, "steel": 0.90, "Al": 0.90, "graphite": 0.90, "Li": 0.0,
                "Co": 0.0, "Ni": 0.0, "Mn": 0.0, "Fe": 0.0, "cathode": 0.90,
            },
        },
        "process_inputs_per_kg_spent_battery": {
            "pyro": {
                "electricity_mj": 4.68, "diesel_mj": 0.6, "limestone_kg": 0.30, "sand_kg": 0.15,
                "HCl_kg": 0.21, "H2O2_kg": 0.06,
            },
            "hydro": {
                "H2SO4_kg": 1.08, "NaOH_kg": 0.561, "H2O2_kg": 0.366, "natural_gas_mj": 2.5,
                "electricity_mj": 0.125, "diesel_mj": 0.6,
            },
            "direct": {"CO2_kg": 2.2, "electricity_mj": 2.73, "diesel_mj": 0.6},
        },
        "gate_fee_usd_per_kg": {
            "LCO": 2.00, "NMC111": 0.20, "NMC622": 0.0, "NMC811": 0.0, "NCA": 0.0, "LMO": -1.00, "LFP": -2.00,
        },
        "price_usd_per_kg": {
            "Al": 1.117, "Cu": 7.11, "steel": 0.327, "graphite": 0.20, "Li2CO3": 8.57,
            "Ni": 16.85, "Co": 50.35, "Mn": 3.15,
        },
        "cathode_price_usd_per_kg": {"NMC111": 25.5, "NMC622": 25.0, "NMC811": 26.0, "NCA": 26.0, "LFP": 10.0},
    },
    extensible=frozenset({"gate_fee_usd_per_kg", "price_usd_per_kg", "cathode_price_usd_per_kg"}),
    notes={
        "recovery_fraction.pyro.Li": "lost to slag",
        "recovery_fraction.pyro.Al": "lost to slag",
        "recovery_fraction.pyro.Mn": "lost to slag",
        "recovery_fraction.pyro.graphite": "burned",
        "recovery_fraction.direct.Li": "stays in the cathode (see cathode)",
        "recovery_fraction.direct.Co": "stays in the cathode (see cathode)",
        "recovery_fraction.direct.Ni": "stays in the cathode (see cathode)",
        "recovery_fraction.direct.Mn": "stays in the cathode (see cathode)",
        "recovery_fraction.hydro.Fe": "not in the EverBatt table: counted as not recovered",
        "gate_fee_usd_per_kg": "NMC532 has no published gate fee: supply one as an override or input",
        "cathode_price_usd_per_kg": "NMC532, LMO and LMFP cathode powders have no default price",
    },
)
