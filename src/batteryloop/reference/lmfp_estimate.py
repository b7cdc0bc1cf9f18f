"""LMFP (lithium manganese iron phosphate) composition: an ESTIMATE, not from BatPaC or EverBatt.

Source: secondary sources collected in the project's REFERENCE.md §4 (2026), marked unverified there:
about 0.082 kg Li, 0.37 kg Mn and 0.25 kg Fe per kWh of cell capacity. Cell mass, pack mass, graphite,
Cu and Al are NOT published for LMFP here: they are taken from the LFP column of BatPaC 5.0 as a
stand-in (an assumption of this project). Every result built on this set says ``is_estimate``.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="lmfp_estimate",
    citation=Citation(
        title="LMFP material intensity estimate (Li, Mn, Fe) with LFP stand-ins for the other materials",
        publisher="batteryloop REFERENCE.md §4 (secondary sources)",
        date="2026",
        verified=False,
        note="estimate: replace with measured composition when available",
    ),
    values={
        "kg_per_kwh_cell": {
            "LMFP": {
                "Li": 0.082, "Mn": 0.37, "Fe": 0.25, "Ni": 0.0, "Co": 0.0,
                # LFP stand-ins (BatPaC 5.0 LFP column), assumption of this project:
                "cell_mass": 4.24, "pack_mass": 6.49, "graphite": 0.96, "Cu": 0.408, "Al": 0.251,
            }
        }
    },
)
