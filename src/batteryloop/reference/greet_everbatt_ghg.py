"""Embodied GHG of battery materials and cell manufacturing energy (GREET, as used by EverBatt 2023).

Source: Argonne National Laboratory, GREET (Greenhouse gases, Regulated Emissions, and Energy use in
Technologies) model, battery module, via the EverBatt 2023 defaults — https://greet.anl.gov ,
https://www.anl.gov/amd/everbatt

- ``material_kgco2e_per_kg``: cradle-to-gate GHG per kg of material (cathode powders per kg of powder;
  NiSO4 and CoSO4 per kg of sulfate);
- ``cell_manufacturing_energy_mj_per_kg_cell``: energy to make cells from materials, of which
  ``cell_manufacturing_electricity_fraction`` is electricity (the rest is process heat, taken here as
  natural gas — an assumption of this project).
NMC532, LMO and LMFP have no cell-manufacturing energy here: supply one as an override.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="greet_everbatt_ghg",
    citation=Citation(
        title="GREET battery material GHG factors and cell manufacturing energy, as EverBatt 2023 defaults",
        publisher="Argonne National Laboratory",
        date="2023",
        url="https://greet.anl.gov",
    ),
    values={
        "material_kgco2e_per_kg": {
            "NMC111": 21.4, "NMC532": 22.0, "NMC622": 22.9, "NMC811": 25.5, "NCA": 27.0, "LFP": 9.45,
            "LMO": 3.46, "Li2CO3": 12.4, "LiOH": 24.2, "graphite": 9.1, "Cu": 4.5, "Al": 6.05,
            "LiPF6": 11.2, "NiSO4": 7.6, "CoSO4": 6.9, "electronics": 25.0,
        },
        "cell_manufacturing_energy_mj_per_kg_cell": {
            "NMC111": 49.8, "NMC622": 53.2, "NMC811": 57.1, "NCA": 55.2, "LFP": 40.1,
        },
        "cell_manufacturing_electricity_fraction": 0.176,
    },
    extensible=frozenset({"material_kgco2e_per_kg", "cell_manufacturing_energy_mj_per_kg_cell"}),
    notes={
        "cell_manufacturing_electricity_fraction": "17.6 % of the energy is electricity (EverBatt)",
        "material_kgco2e_per_kg.LMO": "LMO cathode powder",
    },
)
