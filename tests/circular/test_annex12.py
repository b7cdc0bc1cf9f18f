"""Annex XII B recycling efficiency by Delegated Regulation (EU) 2025/606: the whole pack's mass in, the
recycled output fractions out, pack hardware counted by material — pinned to hand computations.

Reference values (REFERENCE.md section 4 and the reference modules), for 10 kWh of cells:

- ``batpac_5`` NMC811, kg/kWh: cell 2.98, pack 4.89; Li 0.093, Ni 0.616, Co 0.077, Mn 0.072, graphite
  0.87, Cu 0.232, Al 0.153. 10 kWh: cell 29.8 kg, pack 48.9 kg, hardware 48.9 − 29.8 = 19.1 kg;
  Li 0.93, Ni 6.16, Co 0.77, Mn 0.72, graphite 8.7, Cu 2.32, Al 1.53 kg.
- ``batpac_5`` LFP, kg/kWh: cell 4.24, pack 6.49; Li 0.089, Fe 0.68, graphite 0.96, Cu 0.408, Al 0.251.
  10 kWh: cell 42.4 kg, pack 64.9 kg, hardware 22.5 kg; Li 0.89, Fe 6.8, graphite 9.6, Cu 4.08, Al 2.51 kg.
- ``batteryloop_assumptions.pack_hardware_fraction.module_pack`` (unverified estimate): Al 0.60, steel
  0.15, Cu 0.10, plastics 0.05, electronics 0.04, coolant 0.04, insulation 0.02 of the hardware mass;
  plastics, electronics, coolant and insulation recycled at 0 on every route.
- ``everbatt_2023`` recovery: pyro Ni, Co 0.98, Cu, steel 0.90, Li/Mn/Al/graphite/Fe 0 (slag, burned);
  hydro Li, graphite, Cu, Al, steel 0.90, Ni, Co, Mn 0.98, Fe 0; direct graphite, Cu, Al, steel 0.90,
  the cathode powder whole 0.90.
- Annex XII B (eu_2023_1542): lithium-based 65 % from 31 Dec 2025, 70 % from 31 Dec 2030.

Hardware recycled: pyro (no pre-treatment: Al casing to slag) 0.90 × (0.15 + 0.10) = 0.225 of the
hardware; hydro and direct (mechanical pre-treatment) 0.90 × (0.60 + 0.15 + 0.10) = 0.765.
NMC811: pyro 0.225 × 19.1 = 4.2975 kg; hydro/direct 0.765 × 19.1 = 14.6115 kg.
LFP: pyro 0.225 × 22.5 = 5.0625 kg; hydro/direct 0.765 × 22.5 = 17.2125 kg.
"""

from __future__ import annotations

from datetime import date

import pytest

from batteryloop.circular.chemistry import composition_from_materials, pack_composition
from batteryloop.circular.compliance import check_recycling_targets, compliance_report
from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.recycling import recycle
from batteryloop.reference import References


def _eff(chem: str, process: str, basis: str = "pack", refs: References | None = None) -> float:
    comp = pack_composition(chem, 10.0, refs)
    return recycle(comp, process, basis=basis, references=refs, missing_price="zero").recycling_efficiency_fraction  # type: ignore[arg-type]


def test_nmc811_hydro_with_pretreatment_clears_65_percent() -> None:
    """Hydro, 10 kWh NMC811. Cells: 0.90 × (Li 0.93 + graphite 8.7 + Cu 2.32 + Al 1.53) + 0.98 × (Ni 6.16
    + Co 0.77 + Mn 0.72) = 0.90 × 13.48 + 0.98 × 7.65 = 12.132 + 7.497 = 19.629 kg. Hardware 14.6115 kg.
    Efficiency (19.629 + 14.6115) / 48.9 = 34.2405 / 48.9 = 0.700215 ≥ 0.65 (end 2025), ≥ 0.70 (end 2030,
    just). Without the hardware it was 19.629 / 48.9 = 0.401411 (the issue's "hydro 40 %")."""
    assert _eff("NMC811", "hydro") == pytest.approx(34.2405 / 48.9, rel=1e-9)
    assert _eff("NMC811", "hydro") == pytest.approx(0.700215, abs=1e-6)
    r = recycle(pack_composition("NMC811", 10.0), "hydro", missing_price="zero")
    checks = check_recycling_targets(r, date(2026, 12, 31))
    assert checks[0].target_fraction == 0.65 and checks[0].passed is True and checks[0].process == "hydro"


def test_nmc811_pyro_without_pretreatment_fails_and_says_why() -> None:
    """Pyro, 10 kWh NMC811. Cells: 0.98 × (Ni 6.16 + Co 0.77) + 0.90 × Cu 2.32 = 6.7914 + 2.088 = 8.8794 kg;
    hardware 4.2975 kg (steel and Cu to the alloy; the 11.46 kg Al casing to slag). Efficiency
    13.1769 / 48.9 = 0.269466 < 0.65. The largest losses: hardware Al 0.60 × 19.1 = 11.46 kg (slag),
    cell graphite 8.7 kg (burned), the rest of the cells (electrolyte, separator, binder, cathode O)."""
    assert _eff("NMC811", "pyro") == pytest.approx(13.1769 / 48.9, rel=1e-9)
    assert _eff("NMC811", "pyro") == pytest.approx(0.269466, abs=1e-6)
    r = recycle(pack_composition("NMC811", 10.0), "pyro", missing_price="zero")
    lost = r.lost_fractions()
    assert (lost[0].part, lost[0].material, lost[0].fate) == ("hardware", "Al", "lost to slag")
    assert lost[0].lost_kg == pytest.approx(11.46)
    assert (lost[1].part, lost[1].material, lost[1].fate) == ("cell", "graphite", "burned")
    assert lost[1].lost_kg == pytest.approx(8.7)
    c = check_recycling_targets(r, date(2026, 12, 31))[0]
    assert c.passed is False
    assert "pack hardware Al 11.5 kg (lost to slag)" in c.explanation
    assert "cell graphite 8.7 kg (burned)" in c.explanation
    assert "13.2 kg of output fractions recycled / 48.9 kg" in c.explanation


def test_nmc811_direct_by_hand() -> None:
    """Direct, 10 kWh NMC811. CAM (LiMO2) = Li + Ni + Co + Mn + 2 × 15.999 × (6.16/58.693 + 0.77/58.933
    + 0.72/54.938) = 8.58 + 31.998 × (0.104953 + 0.013066 + 0.013106 = 0.131125 kmol) = 8.58 + 4.195714
    = 12.775714 kg.
    Cells: 0.90 × (12.775714 + graphite 8.7 + Cu 2.32 + Al 1.53) = 0.90 × 25.325714 = 22.793143 kg.
    Efficiency (22.793143 + 14.6115) / 48.9 = 37.404643 / 48.9 = 0.764921."""
    assert _eff("NMC811", "direct") == pytest.approx(37.404643 / 48.9, rel=1e-7)
    assert _eff("NMC811", "direct") == pytest.approx(0.764921, abs=1e-6)


def test_lfp_by_hand_every_process() -> None:
    """10 kWh LFP. Hydro: cells 0.90 × (Li 0.89 + graphite 9.6 + Cu 4.08 + Al 2.51) = 0.90 × 17.08 =
    15.372 kg (Fe 6.8 kg not recovered: not in EverBatt's table); + hardware 17.2125 = 32.5845 kg;
    32.5845 / 64.9 = 0.502072 < 0.65: fails (Fe and the cathode's phosphate, electrolyte lost).
    Pyro: cells 0.90 × Cu 4.08 = 3.672; + 5.0625 = 8.7345; 8.7345 / 64.9 = 0.134584 (the issue's
    "LFP pyro 6 %" was 3.672 / 64.9 = 0.056579). Direct: CAM (LiFePO4) = 0.89 + 6.8 + 6.8/55.845 ×
    (30.974 + 4 × 15.999) = 7.69 + 0.1217656 × 94.970 = 7.69 + 11.564079 = 19.254079 kg; cells 0.90 ×
    (19.254079 + 9.6 + 4.08 + 2.51) = 0.90 × 35.444079 = 31.899671; + 17.2125 = 49.112171; / 64.9 = 0.756736."""
    assert _eff("LFP", "hydro") == pytest.approx(32.5845 / 64.9, rel=1e-9)
    assert _eff("LFP", "hydro") == pytest.approx(0.502072, abs=1e-6)
    assert _eff("LFP", "pyro") == pytest.approx(8.7345 / 64.9, rel=1e-9)
    assert _eff("LFP", "pyro") == pytest.approx(0.134584, abs=1e-6)
    assert _eff("LFP", "direct") == pytest.approx(49.112171 / 64.9, rel=1e-7)
    r = recycle(pack_composition("LFP", 10.0), "hydro", missing_price="zero")
    fe = next(f for f in r.efficiency_fractions if f.material == "Fe")
    assert (fe.input_kg, fe.recycled_kg) == (pytest.approx(6.8), 0.0)
    assert "not in the EverBatt table" in fe.fate


def test_cell_basis_is_unchanged_cells_only() -> None:
    """The cell basis keeps its meaning: the cells' recycled mass over the cells' mass, no hardware.
    NMC811 hydro 19.629 / 29.8 = 0.658691; pyro 8.8794 / 29.8 = 0.297966; LFP hydro 15.372 / 42.4 =
    0.362547."""
    assert _eff("NMC811", "hydro", "cell") == pytest.approx(19.629 / 29.8, rel=1e-9)
    assert _eff("NMC811", "pyro", "cell") == pytest.approx(8.8794 / 29.8, rel=1e-9)
    assert _eff("LFP", "hydro", "cell") == pytest.approx(15.372 / 42.4, rel=1e-9)
    r = recycle(pack_composition("NMC811", 10.0), "hydro", basis="cell", missing_price="zero")
    assert r.input_mass_kg == pytest.approx(29.8)
    assert {f.part for f in r.efficiency_fractions} == {"cell"}


@pytest.mark.parametrize("chem", ["NMC811", "LFP", "NCA", "LMO", "LMFP"])
@pytest.mark.parametrize("process", ["pyro", "hydro", "direct"])
def test_efficiency_at_most_one_and_fractions_split_the_pack(chem: str, process: str) -> None:
    """Every process and chemistry: 0 ≤ efficiency ≤ 1; the fractions' inputs sum to the pack mass and
    each recycles at most its input; hardware fractions sum to pack − cell mass."""
    comp = pack_composition(chem, 10.0)
    r = recycle(comp, process, missing_price="zero")
    assert 0 <= r.recycling_efficiency_fraction <= 1
    assert sum(f.input_kg for f in r.efficiency_fractions) == pytest.approx(comp.pack_mass_kg, rel=1e-9)
    assert all(0 <= f.recycled_kg <= f.input_kg * (1 + 1e-12) for f in r.efficiency_fractions)
    hw = sum(f.input_kg for f in r.efficiency_fractions if f.part == "hardware")
    assert hw == pytest.approx(comp.pack_mass_kg - comp.cell_mass_kg, rel=1e-9)
    assert sum(f.recycled_kg for f in r.efficiency_fractions) == pytest.approx(
        r.recycling_efficiency_fraction * r.input_mass_kg, rel=1e-9)


def test_everything_recycled_is_at_most_one() -> None:
    """Every recovery fraction 1 (metals and the non-metal hardware): still ≤ 1, since the rest of the
    cells (electrolyte, separator, cathode O) is never counted."""
    keys = ("Cu", "steel", "Al", "graphite", "Li", "Co", "Ni", "Mn", "Fe", "cathode")
    refs = References.default().override({
        "everbatt_2023": {"recovery_fraction": {p: dict.fromkeys(keys, 1.0) for p in ("pyro", "hydro", "direct")}},
        "batteryloop_assumptions": {"pack_hardware_recovery_fraction": {
            p: dict.fromkeys(("plastics", "electronics", "coolant", "insulation"), 1.0) for p in ("pyro", "hydro", "direct")}},
    })
    for p in ("pyro", "hydro", "direct"):
        assert _eff("NMC811", p, refs=refs) <= 1


def test_overriding_the_hardware_composition_changes_the_figure_by_hand() -> None:
    """Override the design's shares: Al 0.40, plastics 0.25 (sum still 1). Hydro NMC811 hardware recycled
    0.90 × (0.40 + 0.15 + 0.10) × 19.1 = 0.585 × 19.1 = 11.1735 kg; efficiency (19.629 + 11.1735) / 48.9
    = 30.8025 / 48.9 = 0.629908 < 0.65 — a plastic-heavy pack fails. With the default shares but plastics
    recycled at 0.5 in hydro: + 0.5 × 0.05 × 19.1 = 0.4775 kg: 34.718 / 48.9 = 0.709980. Both overrides
    are listed in the result's references as overridden."""
    refs = References.default().override(
        {"batteryloop_assumptions": {"pack_hardware_fraction": {"module_pack": {"Al": 0.40, "plastics": 0.25}}}})
    assert _eff("NMC811", "hydro", refs=refs) == pytest.approx(30.8025 / 48.9, rel=1e-9)
    r = recycle(pack_composition("NMC811", 10.0, refs), "hydro", references=refs, missing_price="zero")
    used = {(u.set, u.key): u for u in r.references}
    assert used[("batteryloop_assumptions", "pack_hardware_fraction.module_pack.Al")].overridden
    assert used[("batteryloop_assumptions", "pack_hardware_fraction.module_pack.Al")].value == 0.40
    assert not used[("batteryloop_assumptions", "pack_hardware_fraction.module_pack.steel")].overridden
    assert used[("everbatt_2023", "recovery_fraction.hydro.Al")].value == 0.9
    plastics = References.default().override(
        {"batteryloop_assumptions": {"pack_hardware_recovery_fraction": {"hydro": {"plastics": 0.5}}}})
    assert _eff("NMC811", "hydro", refs=plastics) == pytest.approx(34.718 / 48.9, rel=1e-9)
    r2 = recycle(pack_composition("NMC811", 10.0, plastics), "hydro", references=plastics, missing_price="zero")
    assert {(u.set, u.key) for u in r2.references if u.overridden} == {
        ("batteryloop_assumptions", "pack_hardware_recovery_fraction.hydro.plastics")}


def test_a_new_pack_design_and_shares_that_leave_hardware_unknown() -> None:
    """A design added by override with shares summing to 0.5 (Al 0.5): the other half of the hardware
    (9.55 kg) is of unknown material, not counted, and a note says so. Hydro NMC811: hardware recycled
    0.90 × 0.5 × 19.1 = 8.595 kg; (19.629 + 8.595) / 48.9 = 28.224 / 48.9 = 0.577178. Shares summing to
    more than 1 and an unknown design are errors naming the key."""
    refs = References.default().override({"batteryloop_assumptions": {
        "pack_hardware_fraction": {"half": {"Al": 0.5}}, "pack_design_by_chemistry": {"NMC811": "half"}}})
    comp = pack_composition("NMC811", 10.0, refs)
    assert comp.pack_design == "half" and comp.unknown_hardware_kg == pytest.approx(9.55)
    r = recycle(comp, "hydro", references=refs, missing_price="zero")
    assert r.recycling_efficiency_fraction == pytest.approx(28.224 / 48.9, rel=1e-9)
    assert any(n.startswith("pack hardware composition unknown for 9.55 kg of 19.1 kg") for n in r.notes)
    assert pack_composition("LFP", 10.0, refs).pack_design == "module_pack"  # the default for the rest
    too_much = References.default().override(
        {"batteryloop_assumptions": {"pack_hardware_fraction": {"module_pack": {"Al": 0.9}}}})
    with pytest.raises(CircularInputError, match="more than 1"):
        pack_composition("NMC811", 10.0, too_much)
    with pytest.raises(CircularInputError) as e:
        pack_composition("NMC811", 10.0, pack_design="cell_to_chassis")
    assert e.value.field == "pack_design"
    # a design naming a material no recovery table knows: counted as not recycled, with a note
    glass = References.default().override(
        {"batteryloop_assumptions": {"pack_hardware_fraction": {"g": {"Al": 0.5, "glass": 0.5}}}})
    rg = recycle(pack_composition("NMC811", 10.0, glass, pack_design="g"), "hydro", references=glass, missing_price="zero")
    assert rg.recycling_efficiency_fraction == pytest.approx(28.224 / 48.9, rel=1e-9)
    assert any("pack hardware glass: no recovery fraction for hydro" in n for n in rg.notes)


def test_a_pack_with_unknown_hardware_says_so() -> None:
    """A pack given by its cell materials only (passport composition, no hardware): its 19.1 kg of
    hardware is unknown, not counted — hydro 19.629 / 48.9 = 0.401411 — and the result says so. Given
    hardware by material counts: Al 11.46, steel 2.865, Cu 1.91 kg → + 0.90 × 16.235 = 14.6115 kg, the
    reference figure 0.700215 (the rest, 19.1 − 16.235 = 2.865 kg, unknown and noted)."""
    cells = {"Li": 0.93, "Ni": 6.16, "Co": 0.77, "Mn": 0.72, "graphite": 8.7, "Cu": 2.32, "Al": 1.53}
    bare = composition_from_materials("NMC811", cells, cell_mass_kg=29.8, pack_mass_kg=48.9)
    r = recycle(bare, "hydro", missing_price="zero")
    assert r.recycling_efficiency_fraction == pytest.approx(19.629 / 48.9, rel=1e-9)
    assert ("pack hardware composition unknown for 19.1 kg of 19.1 kg: not counted as recycled; give it "
            "(composition_from_materials(hardware_kg=...)) to count it") in r.notes
    unknown = next(f for f in r.efficiency_fractions if f.material == "unknown")
    assert unknown.part == "hardware" and unknown.fate == "composition unknown: not counted"
    known = composition_from_materials("NMC811", cells, cell_mass_kg=29.8, pack_mass_kg=48.9,
                                       hardware_kg={"Al": 11.46, "steel": 2.865, "Cu": 1.91})
    rk = recycle(known, "hydro", missing_price="zero")
    assert rk.recycling_efficiency_fraction == pytest.approx(34.2405 / 48.9, rel=1e-9)
    assert any("unknown for 2.86 kg of 19.1 kg" in n for n in rk.notes)  # 2.865 kg to 3 significant digits
    with pytest.raises(CircularInputError) as e:
        composition_from_materials("NMC811", cells, cell_mass_kg=29.8, pack_mass_kg=48.9, hardware_kg={"Al": 20.0})
    assert e.value.field == "hardware_kg"
    with pytest.raises(CircularInputError) as e:
        composition_from_materials("NMC811", cells, cell_mass_kg=29.8, pack_mass_kg=48.9, hardware_kg={"wood": 1.0})
    assert e.value.field == "hardware_kg.wood"
    with pytest.raises(CircularInputError) as e:
        composition_from_materials("NMC811", {**cells, "steel": 2.0}, cell_mass_kg=29.8, pack_mass_kg=48.9,
                                   hardware_kg={"steel": 3.0})
    assert e.value.field == "hardware_kg.steel"


def test_model_report_passes_by_the_best_process_and_explains_the_others() -> None:
    """NMC811 in 2026 (65 % in force, no Annex XII C target yet): hydro 0.700 and direct 0.765 pass, pyro
    0.269 fails; the report passes (the model can be recycled in compliance by hydro or direct) and the
    pyro check names its losses. LFP in 2026: hydro 0.502 fails, pyro 0.135 fails, direct 0.757 passes.
    In 2031 (70 %; Li recovery 80 %, Co/Ni/Cu 95 %) no process meets every target: FAIL."""
    comp = pack_composition("NMC811", 10.0)
    res = [recycle(comp, p, missing_price="zero") for p in ("pyro", "hydro", "direct")]
    rep = compliance_report("M", "P", 2026, recycling=res)
    assert rep.recycling_passed_by_process == {"pyro": False, "hydro": True, "direct": True}
    assert rep.passed is True
    pyro = next(c for c in rep.recycling_checks if c.process == "pyro")
    assert "lost to slag" in pyro.explanation and "burned" in pyro.explanation
    lfp = pack_composition("LFP", 10.0)
    lrep = compliance_report("M", "P", 2026, recycling=[recycle(lfp, p, missing_price="zero") for p in ("pyro", "hydro")])
    assert lrep.recycling_passed_by_process == {"pyro": False, "hydro": False} and lrep.passed is False
    later = compliance_report("M", "P", 2031, recycling=res)
    assert later.passed is False and not any(later.recycling_passed_by_process.values())
    before = compliance_report("M", "P", 2024, recycling=res)
    assert before.recycling_passed_by_process == {"pyro": None, "hydro": None, "direct": None} and before.passed is None


def test_a_declared_pack_mass_adds_its_hardware_by_the_design_shares() -> None:
    """The pilot's EM-NMC811-82 declares 481.2 kg for 82 kWh (BatPaC's pack: 400.98 kg): the Annex XII input is
    the declared battery. Cells 82 × 2.98 = 244.36 kg; hardware 481.2 − 244.36 = 236.84 kg (Al 142.104, steel
    35.526, Cu 23.684 kg). hydro (82 × 1.9629 + 0.765 × 236.84) / 481.2 = 342.1404 / 481.2 = 0.711015;
    pyro (82 × 0.88794 + 0.225 × 236.84) / 481.2 = 126.10008 / 481.2 = 0.262053."""
    comp = pack_composition("NMC811", 82).with_pack_mass(481.2)
    assert comp.pack_mass_kg == 481.2 and comp.cell_mass_kg == pytest.approx(244.36)
    assert comp.hardware_kg["Al"] == pytest.approx(142.104) and comp.hardware_kg["steel"] == pytest.approx(35.526)
    assert sum(comp.hardware_kg.values()) == pytest.approx(236.84)
    assert recycle(comp, "hydro").recycling_efficiency_fraction == pytest.approx(0.711015, abs=1e-6)
    assert recycle(comp, "pyro").recycling_efficiency_fraction == pytest.approx(0.262053, abs=1e-6)
    with pytest.raises(CircularInputError, match="cells' mass"):
        pack_composition("NMC811", 82).with_pack_mass(200.0)
