"""Argonne BatPaC 5.0 (via EverBatt 2023): material intensity per kWh of cell capacity.

Source: K. G. Gallagher, S. Ahmed, P. A. Nelson, D. W. Dees et al., "BatPaC: Battery Performance and Cost
model", version 5.0, Argonne National Laboratory (2022) — https://www.anl.gov/cse/batpac-model-software ;
the same intensities are EverBatt 2023's defaults.

Masses in kg per kWh of cell capacity: cell and pack mass, and the elements/materials Li, Ni, Co, Mn,
graphite, Cu (current collector), Al (current collector). LFP also holds about 0.68 kg Fe/kWh.
Elements not listed for a chemistry are 0.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

_COLS = ("NMC111", "NMC532", "NMC622", "NMC811", "NCA", "LFP", "LMO")
_ROWS = {
    "cell_mass": (3.41, 3.23, 3.19, 2.98, 3.08, 4.24, 4.19),
    "pack_mass": (5.38, 5.19, 5.15, 4.89, 4.99, 6.49, 6.32),
    "Li": (0.117, 0.107, 0.105, 0.093, 0.100, 0.089, 0.086),
    "Ni": (0.322, 0.443, 0.519, 0.616, 0.662, 0.0, 0.0),
    "Co": (0.323, 0.178, 0.174, 0.077, 0.125, 0.0, 0.0),
    "Mn": (0.301, 0.249, 0.162, 0.072, 0.0, 0.0, 1.30),
    "graphite": (0.86, 0.87, 0.87, 0.87, 0.87, 0.96, 0.80),
    "Cu": (0.275, 0.258, 0.254, 0.232, 0.238, 0.408, 0.379),
    "Al": (0.177, 0.167, 0.165, 0.153, 0.157, 0.251, 0.232),
    "Fe": (0.0, 0.0, 0.0, 0.0, 0.0, 0.68, 0.0),
}

SET = ReferenceSet(
    name="batpac_5",
    citation=Citation(
        title="BatPaC 5.0 battery performance and cost model: material intensities (as used by EverBatt 2023)",
        publisher="Argonne National Laboratory",
        date="2022",
        url="https://www.anl.gov/cse/batpac-model-software",
    ),
    values={
        "kg_per_kwh_cell": {
            chem: {row: vals[i] for row, vals in _ROWS.items()} for i, chem in enumerate(_COLS)
        },
    },
    extensible=frozenset({"kg_per_kwh_cell"}),
    notes={"kg_per_kwh_cell.LFP.Fe": "about 0.68 kg Fe/kWh"},
)
