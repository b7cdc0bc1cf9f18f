"""Chemistry: what a pack is made of, per kWh and per pack.

Material intensities come from BatPaC 5.0 (``batpac_5``) for NMC111/532/622/811, NCA, LFP and LMO, and
from the flagged estimate ``lmfp_estimate`` for LMFP. A pack's masses are intensity × capacity, or the
masses given (e.g. from its passport's detailed composition) when present.

The cathode active material (CAM) mass, which direct recycling recovers and the carbon footprint
weighs, is not in the tables: it is derived from the element masses by stoichiometry — LiMO2 for the
layered oxides (NMC, NCA; NCA's small Al dopant ignored), LiMn2O4 for LMO, LiMPO4 for LFP and LMFP.

The pack hardware (the pack's mass outside the cells: module and pack casing, busbars, cables, BMS
electronics, thermal management) is BatPaC's pack mass minus its cell mass; what it is made of comes from
a pack design's shares by material (``batteryloop_assumptions.pack_hardware_fraction``, chosen per
chemistry by ``pack_design_by_chemistry``), or from the masses given (``hardware_kg``). Hardware of no
known material is kept as ``unknown_hardware_kg``: the recycling efficiency does not count it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..reference import References, ReferenceValue, Tracker
from .errors import CircularInputError, require_non_negative, require_positive

CHEMISTRIES: tuple[str, ...] = ("NMC111", "NMC532", "NMC622", "NMC811", "NCA", "LFP", "LMO", "LMFP")
#: elements/materials tracked in cells, kg
CELL_MATERIALS: tuple[str, ...] = ("Li", "Ni", "Co", "Mn", "Fe", "graphite", "Cu", "Al")
#: materials a given composition may add (pack hardware)
EXTRA_MATERIALS: tuple[str, ...] = ("steel",)
#: pack hardware materials the default designs use (a design added by override may name others)
HARDWARE_MATERIALS: tuple[str, ...] = ("Al", "steel", "Cu", "plastics", "electronics", "coolant", "insulation")

#: standard atomic weights, g/mol (IUPAC 2021, abridged)
ATOMIC_MASS_G_PER_MOL: dict[str, float] = {
    "Li": 6.94, "C": 12.011, "O": 15.999, "P": 30.974, "S": 32.06, "Na": 22.990,
    "Mn": 54.938, "Fe": 55.845, "Co": 58.933, "Ni": 58.693,
}

_ALIASES = {
    "NCM111": "NMC111", "NCM523": "NMC532", "NMC523": "NMC532", "NCM532": "NMC532", "NCM622": "NMC622",
    "NCM811": "NMC811", "LIFEPO4": "LFP", "LIMN2O4": "LMO", "LMFP": "LMFP", "LFMP": "LMFP",
}


def parse_chemistry(value: object, field: str = "chemistry") -> str:
    """The canonical chemistry name (``"NMC-622"``, ``"ncm622"`` → ``"NMC622"``) or a clear error."""
    if not isinstance(value, str):
        raise CircularInputError(field, value, f"must be one of {', '.join(CHEMISTRIES)}")
    key = value.upper().replace("-", "").replace("_", "").replace(" ", "")
    key = _ALIASES.get(key, key)
    if key not in CHEMISTRIES:
        raise CircularInputError(field, value, f"unknown chemistry; known: {', '.join(CHEMISTRIES)}")
    return key


def _reference_set_for(chemistry: str) -> str:
    return "lmfp_estimate" if chemistry == "LMFP" else "batpac_5"


def cathode_active_material_kg(chemistry: str, materials_kg: Mapping[str, float]) -> float:
    """CAM mass by stoichiometry from the element masses (see module docstring)."""
    m = ATOMIC_MASS_G_PER_MOL
    li = materials_kg.get("Li", 0.0)
    ni, co, mn, fe = (materials_kg.get(k, 0.0) for k in ("Ni", "Co", "Mn", "Fe"))
    if chemistry in ("LFP", "LMFP"):
        n_metal = fe / m["Fe"] + mn / m["Mn"]  # kmol of M in LiMPO4
        return li + fe + mn + n_metal * (m["P"] + 4 * m["O"])
    if chemistry == "LMO":
        n_mn = mn / m["Mn"]  # LiMn2O4: 2 O per Mn
        return li + mn + n_mn * 2 * m["O"]
    n_tm = ni / m["Ni"] + co / m["Co"] + mn / m["Mn"]  # LiMO2: 2 O per transition metal
    return li + ni + co + mn + n_tm * 2 * m["O"]


class PackComposition(BaseModel):
    """The masses of one pack (or of any amount of the chemistry): kg of each material."""

    model_config = ConfigDict(frozen=True)

    chemistry: str
    capacity_kwh: float | None
    materials_kg: dict[str, float]
    cathode_active_material_kg: float
    cell_mass_kg: float
    pack_mass_kg: float
    is_estimate: bool
    source: Literal["reference", "given"]
    notes: list[str] = []
    references: list[ReferenceValue] = []
    #: the pack hardware by material, kg (the part whose material is known); empty for cells only
    hardware_kg: dict[str, float] = {}
    #: the pack design the hardware shares came from (None: given or unknown)
    pack_design: str | None = None

    @property
    def other_cell_kg(self) -> float:
        """Cell mass not in the tracked materials (O and P of the cathode, electrolyte, separator, binder...)."""
        cell = sum(v for k, v in self.materials_kg.items() if k in CELL_MATERIALS)
        return max(0.0, self.cell_mass_kg - cell)

    @property
    def pack_hardware_kg(self) -> float:
        """Pack mass outside the cells (modules, casing, electronics)."""
        return self.pack_mass_kg - self.cell_mass_kg

    @property
    def unknown_hardware_kg(self) -> float:
        """Pack hardware whose material is not known (not counted as recycled)."""
        return max(0.0, self.pack_hardware_kg - sum(self.hardware_kg.values()))

    def with_pack_mass(self, pack_mass_kg: float) -> PackComposition:
        """The same cells in a pack of ``pack_mass_kg`` (a declared mass, e.g. the passport's): the hardware is
        the rest of that mass, split by the same shares as before (its known materials scale with it)."""
        require_positive("pack_mass_kg", pack_mass_kg)
        if pack_mass_kg < self.cell_mass_kg:
            raise CircularInputError("pack_mass_kg", pack_mass_kg,
                                     f"must be at least the cells' mass ({self.cell_mass_kg:.6g} kg)")
        old = self.pack_hardware_kg
        factor = (pack_mass_kg - self.cell_mass_kg) / old if old > 0 else 0.0
        return self.model_copy(update={
            "pack_mass_kg": pack_mass_kg,
            "hardware_kg": {k: v * factor for k, v in self.hardware_kg.items()},
        })

    def scaled(self, factor: float) -> PackComposition:
        require_positive("factor", factor)
        return self.model_copy(
            update={
                "capacity_kwh": None if self.capacity_kwh is None else self.capacity_kwh * factor,
                "materials_kg": {k: v * factor for k, v in self.materials_kg.items()},
                "cathode_active_material_kg": self.cathode_active_material_kg * factor,
                "cell_mass_kg": self.cell_mass_kg * factor,
                "pack_mass_kg": self.pack_mass_kg * factor,
                "hardware_kg": {k: v * factor for k, v in self.hardware_kg.items()},
            }
        )


def intensity_kg_per_kwh(chemistry: str, tracker: Tracker) -> dict[str, float]:
    """Material intensity, kg per kWh of cell capacity, read through ``tracker`` (so it is recorded)."""
    chem = parse_chemistry(chemistry)
    table = tracker.table(_reference_set_for(chem), "kg_per_kwh_cell", chem)
    return {k: float(v) for k, v in table.items()}


def hardware_shares(chemistry: str, tracker: Tracker, pack_design: str | None = None) -> tuple[str, dict[str, float]]:
    """The pack design of ``chemistry`` (or ``pack_design``) and its hardware shares by material, read
    through ``tracker``; shares are non-negative and sum to at most 1 (the rest is of unknown material)."""
    by_chem = tracker.refs.set("batteryloop_assumptions").get("pack_design_by_chemistry")
    if pack_design is None:
        key = chemistry if chemistry in by_chem else "default"
        pack_design = str(tracker.get("batteryloop_assumptions", "pack_design_by_chemistry", key))
    designs = tracker.refs.set("batteryloop_assumptions").get("pack_hardware_fraction")
    if pack_design not in designs:
        raise CircularInputError(
            "pack_design", pack_design,
            f"unknown pack design; known: {', '.join(sorted(designs))} (add one with an override of "
            "batteryloop_assumptions.pack_hardware_fraction)",
        )
    shares = {k: float(v) for k, v in tracker.table("batteryloop_assumptions", "pack_hardware_fraction", pack_design).items()}
    for k, v in shares.items():
        require_non_negative(f"pack_hardware_fraction.{pack_design}.{k}", v)
    total = sum(shares.values())
    if total > 1 + 1e-9:
        raise CircularInputError(
            f"pack_hardware_fraction.{pack_design}", shares, f"shares sum to {total:.6g}, more than 1"
        )
    return pack_design, shares


def pack_composition(
    chemistry: str, capacity_kwh: float, references: References | None = None, pack_design: str | None = None
) -> PackComposition:
    """A pack's material masses from its chemistry and capacity (kWh of cell capacity); its hardware
    (pack mass − cell mass) split by material by the pack design's shares (the chemistry's default
    design unless ``pack_design`` is given)."""
    chem = parse_chemistry(chemistry)
    cap = require_positive("capacity_kwh", capacity_kwh)
    tracker = (references or References.default()).tracker()
    per_kwh = intensity_kg_per_kwh(chem, tracker)
    materials = {k: per_kwh.get(k, 0.0) * cap for k in CELL_MATERIALS}
    design, shares = hardware_shares(chem, tracker, pack_design)
    hardware_total = (per_kwh["pack_mass"] - per_kwh["cell_mass"]) * cap
    notes = []
    if chem == "LMFP":
        notes.append("LMFP composition is an estimate (Li, Mn, Fe); other materials are LFP stand-ins")
    notes.append("cathode active material mass derived by stoichiometry from the element masses")
    return PackComposition(
        chemistry=chem,
        capacity_kwh=cap,
        materials_kg=materials,
        cathode_active_material_kg=cathode_active_material_kg(chem, materials),
        cell_mass_kg=per_kwh["cell_mass"] * cap,
        pack_mass_kg=per_kwh["pack_mass"] * cap,
        is_estimate=chem == "LMFP",
        source="reference",
        notes=notes,
        references=tracker.used(),
        hardware_kg={k: v * hardware_total for k, v in shares.items()},
        pack_design=design,
    )


#: which pack mass a composition was built on (:func:`declared_pack_composition`)
MassBasis = Literal["declared", "batpac"]

def max_pack_mass_kg_per_kwh(references: References | None = None) -> float:
    """The heaviest pack mass per kWh of rated energy a passport may declare, taken as a pack's rather than a
    typo: ``batteryloop_assumptions.pack_mass_bound_margin_factor`` (2) times the heaviest lithium-ion traction pack
    per kWh on record, 1000 / ``batterydesign_2023.lowest_lithium_ion_traction_pack_wh_per_kg`` (the 2011
    Nissan Leaf's 80 Wh/kg: 12.5 kg/kWh) — 25 kg per kWh by default (BatPaC's packs are 4.89–6.49). Both are
    reference values: override either."""
    refs = references or References.default()
    wh_per_kg = require_positive("batterydesign_2023.lowest_lithium_ion_traction_pack_wh_per_kg",
                                 refs.set("batterydesign_2023").get("lowest_lithium_ion_traction_pack_wh_per_kg"))
    margin = require_positive("batteryloop_assumptions.pack_mass_bound_margin_factor",
                              refs.set("batteryloop_assumptions").get("pack_mass_bound_margin_factor"))
    return float(margin) * 1000.0 / float(wh_per_kg)


def declared_pack_composition(
    chemistry: str, capacity_kwh: float, declared_mass_kg: float | None, references: References | None = None,
    *, field: str = "pack_mass_kg",
) -> tuple[PackComposition, MassBasis]:
    """A pack's composition on the one mass basis the compliance report and the route decision share: the cells
    from BatPaC at ``capacity_kwh``, in a pack of the mass its passport declares (``mass_kg``: the whole battery
    that Annex XII feeds in and a recycler is paid for), the hardware being the rest by the design's shares
    (``"declared"``); BatPaC's own pack mass when none is declared (None: ``"batpac"``).

    A declared mass must be a finite number greater than 0, at least the cells' mass (a pack weighs at least its
    cells: a lighter one is not a pack of these cells at this energy) and at most
    :func:`max_pack_mass_kg_per_kwh` × ``capacity_kwh`` (a sourced bound, overridable); else a :class:`CircularInputError` names ``field``, the
    value and the bound (0, −5, NaN were read as "none declared", and a mass below the cells' as BatPaC's pack)."""
    comp = pack_composition(chemistry, capacity_kwh, references)
    if declared_mass_kg is None:
        return comp, "batpac"
    m = require_positive(field, declared_mass_kg)
    if m < comp.cell_mass_kg:
        raise CircularInputError(
            field, declared_mass_kg,
            f"below the cells' mass: {comp.chemistry} cells of {comp.capacity_kwh:g} kWh weigh "
            f"{comp.cell_mass_kg:.6g} kg (BatPaC 5.0); a pack weighs at least its cells — check the mass and the "
            "rated energy, or leave the mass out to use BatPaC's pack")
    bound = max_pack_mass_kg_per_kwh(references)
    top = bound * comp.capacity_kwh  # type: ignore[operator]
    if m > top:
        raise CircularInputError(
            field, declared_mass_kg,
            f"more than {bound:.6g} kg per kWh ({top:.6g} kg for {comp.capacity_kwh:g} kWh), the bound drawn from the "
            "heaviest lithium-ion traction pack per kWh on record (reference values "
            "batterydesign_2023.lowest_lithium_ion_traction_pack_wh_per_kg and "
            "batteryloop_assumptions.pack_mass_bound_margin_factor); a mass in grams, or a wrong rated energy?")
    return comp.with_pack_mass(m), "declared"


def composition_for_mass(
    chemistry: str,
    mass_kg: float,
    basis: Literal["pack", "cell"] = "pack",
    references: References | None = None,
) -> PackComposition:
    """The composition of ``mass_kg`` of packs (or of cells) of a chemistry, scaled from the per-kWh table."""
    mass = require_positive("mass_kg", mass_kg)
    if basis not in ("pack", "cell"):
        raise CircularInputError("basis", basis, "must be 'pack' or 'cell'")
    one = pack_composition(chemistry, 1.0, references)
    per_kwh = one.pack_mass_kg if basis == "pack" else one.cell_mass_kg
    out = one.scaled(mass / per_kwh)
    if basis == "cell":  # cells only: no pack hardware
        out = out.model_copy(update={"pack_mass_kg": out.cell_mass_kg, "hardware_kg": {}, "pack_design": None})
    return out


def composition_from_materials(
    chemistry: str,
    materials_kg: Mapping[str, float],
    cell_mass_kg: float,
    pack_mass_kg: float | None = None,
    capacity_kwh: float | None = None,
    cam_kg: float | None = None,
    hardware_kg: Mapping[str, float] | None = None,
) -> PackComposition:
    """A pack's composition from given masses (e.g. its passport's material composition).

    ``cam_kg`` is the cathode active material mass if known; otherwise it is derived by stoichiometry.
    ``hardware_kg`` is the pack hardware by material (``Al``, ``steel``, ``Cu``, ``plastics``,
    ``electronics``, ``coolant``, ``insulation``), at most ``pack_mass_kg − cell_mass_kg``; the rest of
    the hardware is of unknown material. Steel given in ``materials_kg`` is pack hardware too.
    """
    chem = parse_chemistry(chemistry)
    allowed = CELL_MATERIALS + EXTRA_MATERIALS
    materials: dict[str, float] = {k: 0.0 for k in CELL_MATERIALS}
    for key, val in materials_kg.items():
        if key not in allowed:
            raise CircularInputError(
                f"materials_kg.{key}", val, f"unknown material; known: {', '.join(allowed)}"
            )
        materials[key] = require_non_negative(f"materials_kg.{key}", val)
    cell = require_positive("cell_mass_kg", cell_mass_kg)
    pack = cell if pack_mass_kg is None else require_positive("pack_mass_kg", pack_mass_kg)
    if pack < cell:
        raise CircularInputError("pack_mass_kg", pack_mass_kg, f"must be at least cell_mass_kg ({cell})")
    in_cells = sum(materials[k] for k in CELL_MATERIALS)
    if in_cells > cell * (1 + 1e-9):
        raise CircularInputError(
            "materials_kg", dict(materials_kg), f"cell materials sum to {in_cells:.3f} kg, more than cell_mass_kg {cell}"
        )
    if materials.get("steel", 0.0) > pack - cell + 1e-9:
        raise CircularInputError(
            "materials_kg.steel", materials["steel"], f"exceeds the pack hardware mass ({pack - cell:.3f} kg)"
        )
    cam = (
        cathode_active_material_kg(chem, materials)
        if cam_kg is None
        else require_non_negative("cam_kg", cam_kg)
    )
    hardware: dict[str, float] = {}
    for key, val in (hardware_kg or {}).items():
        if key not in HARDWARE_MATERIALS:
            raise CircularInputError(
                f"hardware_kg.{key}", val, f"unknown hardware material; known: {', '.join(HARDWARE_MATERIALS)}"
            )
        hardware[key] = require_non_negative(f"hardware_kg.{key}", val)
    if materials.get("steel", 0.0) > 0:
        if "steel" in hardware and abs(hardware["steel"] - materials["steel"]) > 1e-9:
            raise CircularInputError(
                "hardware_kg.steel", hardware["steel"], f"differs from materials_kg.steel ({materials['steel']})"
            )
        hardware["steel"] = materials["steel"]
    if sum(hardware.values()) > pack - cell + 1e-9:
        raise CircularInputError(
            "hardware_kg", hardware, f"sums to {sum(hardware.values()):.3f} kg, more than the pack hardware mass "
            f"({pack - cell:.3f} kg = pack_mass_kg − cell_mass_kg)",
        )
    return PackComposition(
        chemistry=chem,
        capacity_kwh=None if capacity_kwh is None else require_positive("capacity_kwh", capacity_kwh),
        materials_kg=materials,
        cathode_active_material_kg=cam,
        cell_mass_kg=cell,
        pack_mass_kg=pack,
        is_estimate=False,
        source="given",
        notes=["composition given by the caller"],
        references=[],
        hardware_kg=hardware,
    )
