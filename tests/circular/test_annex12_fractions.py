"""The Annex XII fractions of a 10 kWh NMC811 pack, line by line, and the explanation built from them.

Masses (tests/circular/test_annex12.py docstring): cells Li 0.93, Ni 6.16, Co 0.77, Mn 0.72, graphite 8.7,
Cu 2.32, Al 1.53 kg (21.13 kg tracked of 29.8 kg: the rest 8.67 kg); CAM 12.775714 kg, so in direct
recycling the rest of the cells is 29.8 − (8.7 + 2.32 + 1.53 + 12.775714) = 4.474286 kg; hardware 19.1 kg:
Al 11.46, steel 2.865, Cu 1.91, plastics 0.955, electronics 0.764, coolant 0.764, insulation 0.382 kg.
Fates: EverBatt's notes for a material lost (slag, burned), "N% recycled, the rest lost in processing"
for a recycled one, and the route's fate of each non-metal hardware fraction.
"""

from __future__ import annotations

import pytest

from batteryloop.circular.chemistry import pack_composition
from batteryloop.circular.recycling import recycle

R = "recycled, the rest lost in processing"
HW_PYRO = [
    ("hardware", "Al", 11.46, 0.0, "lost to slag"),
    ("hardware", "steel", 2.865, 0.9, f"90% {R}"),
    ("hardware", "Cu", 1.91, 0.9, f"90% {R}"),
    ("hardware", "plastics", 0.955, 0.0, "burnt in the smelter (energy recovery, not recycling)"),
    ("hardware", "electronics", 0.764, 0.0, "burnt in the smelter"),
    ("hardware", "coolant", 0.764, 0.0, "drained, treated as waste"),
    ("hardware", "insulation", 0.382, 0.0, "not recycled"),
]
HW_PRETREATED = [
    ("hardware", "Al", 11.46, 0.9, f"90% {R}"),
    ("hardware", "steel", 2.865, 0.9, f"90% {R}"),
    ("hardware", "Cu", 1.91, 0.9, f"90% {R}"),
    ("hardware", "plastics", 0.955, 0.0, "sorted out in pre-treatment, incinerated"),
    ("hardware", "electronics", 0.764, 0.0, "sorted out, not traced as recycled"),
    ("hardware", "coolant", 0.764, 0.0, "drained, treated as waste"),
    ("hardware", "insulation", 0.382, 0.0, "not recycled"),
]
EXPECTED = {
    "pyro": [
        ("cell", "Li", 0.93, 0.0, "lost to slag"),
        ("cell", "Ni", 6.16, 0.98, f"98% {R}"),
        ("cell", "Co", 0.77, 0.98, f"98% {R}"),
        ("cell", "Mn", 0.72, 0.0, "lost to slag"),
        ("cell", "graphite", 8.7, 0.0, "burned"),
        ("cell", "Cu", 2.32, 0.9, f"90% {R}"),
        ("cell", "Al", 1.53, 0.0, "lost to slag"),
        ("cell", "other", 8.67, 0.0, "electrolyte, separator, binder burnt; cathode O to slag and off-gas"),
        *HW_PYRO,
    ],
    "hydro": [
        ("cell", "Li", 0.93, 0.9, f"90% {R}"),
        ("cell", "Ni", 6.16, 0.98, f"98% {R}"),
        ("cell", "Co", 0.77, 0.98, f"98% {R}"),
        ("cell", "Mn", 0.72, 0.98, f"98% {R}"),
        ("cell", "graphite", 8.7, 0.9, f"90% {R}"),
        ("cell", "Cu", 2.32, 0.9, f"90% {R}"),
        ("cell", "Al", 1.53, 0.9, f"90% {R}"),
        ("cell", "other", 8.67, 0.0, "electrolyte, separator, binder burnt or to residue; cathode O not counted"),
        *HW_PRETREATED,
    ],
    "direct": [
        ("cell", "graphite", 8.7, 0.9, f"90% {R}"),
        ("cell", "Cu", 2.32, 0.9, f"90% {R}"),
        ("cell", "Al", 1.53, 0.9, f"90% {R}"),
        ("cell", "cathode", 12.775714, 0.9, f"90% {R}"),
        ("cell", "other", 4.474286, 0.0, "electrolyte, separator, binder burnt or to residue"),
        *HW_PRETREATED,
    ],
}


@pytest.mark.parametrize("process", ["pyro", "hydro", "direct"])
def test_every_fraction_of_the_nmc811_pack(process: str) -> None:
    r = recycle(pack_composition("NMC811", 10.0), process, missing_price="zero")
    got = [(f.part, f.material, f.input_kg, f.recycled_fraction, f.fate) for f in r.efficiency_fractions]
    want = EXPECTED[process]
    assert [g[:2] for g in got] == [w[:2] for w in want]
    for g, w in zip(got, want, strict=True):
        assert g[2] == pytest.approx(w[2], abs=1e-6), g
        assert g[3] == pytest.approx(w[3], rel=1e-12) and g[4] == w[4], g
    for f in r.efficiency_fractions:
        assert f.recycled_kg == pytest.approx(f.input_kg * f.recycled_fraction, rel=1e-12)
        assert f.lost_kg == pytest.approx(f.input_kg - f.recycled_kg, rel=1e-12)


def test_lfp_has_no_empty_fractions() -> None:
    """LFP holds no Ni, Co or Mn: no line for them (Fe 6.8 kg, lost in hydro, is one)."""
    r = recycle(pack_composition("LFP", 10.0), "hydro", missing_price="zero")
    assert [f.material for f in r.efficiency_fractions if f.part == "cell"] == ["Li", "Fe", "graphite", "Cu", "Al", "other"]
    assert all(f.input_kg > 0 for f in r.efficiency_fractions)


def test_explanation_names_the_largest_losses_first() -> None:
    """Pyro: recycled 13.1769 kg of 48.9 kg; 15 fractions lose mass; the five largest, in order: hardware
    Al 11.46, graphite 8.7, the rest of the cells 8.67, cell Al 1.53, plastics 0.955 kg."""
    r = recycle(pack_composition("NMC811", 10.0), "pyro", missing_price="zero")
    assert len(r.lost_fractions()) == 15
    assert [f.lost_kg for f in r.lost_fractions()][:3] == pytest.approx([11.46, 8.7, 8.67])
    assert r.efficiency_explanation() == (
        "pyro: 13.2 kg of output fractions recycled / 48.9 kg of battery fed in (whole pack, hardware included; "
        "Delegated Regulation (EU) 2025/606); not recycled: pack hardware Al 11.5 kg (lost to slag), cell graphite "
        "8.7 kg (burned), cell other 8.67 kg (electrolyte, separator, binder burnt; cathode O to slag and off-gas), "
        "cell Al 1.53 kg (lost to slag), pack hardware plastics 0.955 kg (burnt in the smelter (energy recovery, "
        "not recycling)) and 10 more")
    assert r.efficiency_explanation(top=1).endswith("not recycled: pack hardware Al 11.5 kg (lost to slag) and 14 more")
    assert r.efficiency_explanation(top=15).endswith("cell Co 0.0154 kg (98% recycled, the rest lost in processing)")
    cell = recycle(pack_composition("NMC811", 10.0), "hydro", basis="cell", missing_price="zero")
    assert cell.efficiency_explanation(top=1) == (
        "hydro: 19.6 kg of output fractions recycled / 29.8 kg of battery fed in (cells only; Delegated Regulation "
        "(EU) 2025/606); not recycled: cell other 8.67 kg (electrolyte, separator, binder burnt or to residue; "
        "cathode O not counted) and 7 more")  # Li, Ni, Co, Mn, graphite, Cu, Al lose 2–10 %


def test_cells_fully_tracked_leave_no_rest_line() -> None:
    """Cells whose materials make up their whole mass (1 kg: Ni 0.5, graphite 0.5) have no "other" line:
    hydro recycles 0.98 × 0.5 + 0.90 × 0.5 = 0.94 kg of 1 kg."""
    from batteryloop.circular.chemistry import composition_from_materials

    comp = composition_from_materials("NMC811", {"Ni": 0.5, "graphite": 0.5}, cell_mass_kg=1.0)
    r = recycle(comp, "hydro", missing_price="zero")
    assert [f.material for f in r.efficiency_fractions] == ["Ni", "graphite"]
    assert r.recycling_efficiency_fraction == pytest.approx(0.94, rel=1e-12)


def test_a_loss_without_a_published_reason_is_not_recovered() -> None:
    """EverBatt gives a reason (slag, burned) for some zero recoveries only: LFP's Fe in pyro has none
    ("not recovered"); nor has a recovery set to 0 by override (hydro Al, direct cathode)."""
    from batteryloop.reference import References

    lfp = recycle(pack_composition("LFP", 10.0), "pyro", missing_price="zero")
    assert next(f for f in lfp.efficiency_fractions if f.material == "Fe").fate == "not recovered"
    refs = References.default().override({"everbatt_2023": {"recovery_fraction": {"hydro": {"Al": 0.0}, "direct": {"cathode": 0.0}}}})
    hydro = recycle(pack_composition("NMC811", 10.0, refs), "hydro", references=refs, missing_price="zero")
    assert [f.fate for f in hydro.efficiency_fractions if f.material == "Al"] == ["not recovered", "not recovered"]
    direct = recycle(pack_composition("NMC811", 10.0, refs), "direct", references=refs, missing_price="zero")
    cathode = next(f for f in direct.efficiency_fractions if f.material == "cathode")
    assert (cathode.recycled_kg, cathode.fate) == (0.0, "not recovered")


def test_a_fully_recycled_fraction_is_not_a_loss() -> None:
    """Hydro Cu recovered at 1.0 (override): neither Cu line is among the losses."""
    from batteryloop.reference import References

    refs = References.default().override({"everbatt_2023": {"recovery_fraction": {"hydro": {"Cu": 1.0}}}})
    r = recycle(pack_composition("NMC811", 10.0, refs), "hydro", references=refs, missing_price="zero")
    assert "Cu" not in {f.material for f in r.lost_fractions()}
    assert len(r.lost_fractions()) == len(r.efficiency_fractions) - 2


def test_a_new_hardware_material_with_its_own_recovery() -> None:
    """A design with glass (0.5) and Al (0.5), glass recovered at 0.5 in hydro (override): NMC811 10 kWh
    hydro = (19.629 + 0.90 × 9.55 + 0.5 × 9.55) / 48.9 = (19.629 + 8.595 + 4.775) / 48.9 = 32.999 / 48.9
    = 0.674826; in direct no recovery is given for glass: not counted, with a note. Glass at 0 in hydro:
    fate "not recycled"."""
    from batteryloop.reference import References

    refs = References.default().override({"batteryloop_assumptions": {
        "pack_hardware_fraction": {"g": {"Al": 0.5, "glass": 0.5}},
        "pack_hardware_recovery_fraction": {"hydro": {"glass": 0.5}}}})
    comp = pack_composition("NMC811", 10.0, refs, pack_design="g")
    r = recycle(comp, "hydro", references=refs, missing_price="zero")
    assert r.recycling_efficiency_fraction == pytest.approx(32.999 / 48.9, rel=1e-9)
    glass = next(f for f in r.efficiency_fractions if f.material == "glass")
    assert glass.fate == f"50% {R}" and not any("glass" in n for n in r.notes)
    d = recycle(comp, "direct", references=refs, missing_price="zero")
    assert next(f for f in d.efficiency_fractions if f.material == "glass").fate == (
        "no recovery known for this material: not counted")
    assert ("pack hardware glass: no recovery fraction for direct (batteryloop_assumptions."
            "pack_hardware_recovery_fraction): not counted as recycled") in d.notes
    zero = References.default().override({"batteryloop_assumptions": {
        "pack_hardware_fraction": {"g": {"Al": 0.5, "glass": 0.5}},
        "pack_hardware_recovery_fraction": {"hydro": {"glass": 0.0}}}})
    z = recycle(pack_composition("NMC811", 10.0, zero, pack_design="g"), "hydro", references=zero, missing_price="zero")
    assert next(f for f in z.efficiency_fractions if f.material == "glass").fate == "not recycled"


def test_recycle_mass_passes_its_references_on() -> None:
    """recycle_mass with an override (hydro Al 0.5): the efficiency uses it and lists it as overridden.
    1,000 kg of NMC811 packs = 1000 / 4.89 kWh; per kWh hydro recycles 1.9629 − 0.90 × 0.153 + 0.5 × 0.153
    = 1.9017 kg of cells and (0.5 × 0.60 + 0.90 × 0.25) × 1.91 = 1.00275 kg of hardware: 2.90445 / 4.89
    = 0.593957."""
    from batteryloop.circular.recycling import recycle_mass
    from batteryloop.reference import References

    refs = References.default().override({"everbatt_2023": {"recovery_fraction": {"hydro": {"Al": 0.5}}}})
    r = recycle_mass("NMC811", 1000.0, "hydro", references=refs, prices_usd_per_kg=None)[0]
    assert r.recycling_efficiency_fraction == pytest.approx(2.90445 / 4.89, rel=1e-9)
    assert ("everbatt_2023", "recovery_fraction.hydro.Al") in {(u.set, u.key) for u in r.references if u.overridden}
