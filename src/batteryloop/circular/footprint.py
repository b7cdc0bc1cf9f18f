"""Carbon footprint of an EV battery (Art. 7, Annex II of Regulation (EU) 2023/1542).

Declared in kg CO2e per kWh of the total energy the battery delivers over its service life, in four
life-cycle stages (the use stage is excluded):

1. ``raw_material`` — raw material acquisition and pre-processing: each material's mass × its footprint
   (kg CO2e/kg). Footprints of traced material lots (:class:`MaterialFootprint` with a factor) replace
   the defaults for their material; the defaults are GREET's factors (``greet_everbatt_ghg``) for the
   cathode active material (by chemistry), graphite, Cu and Al. Li, Ni, Co, Mn are inside the cathode
   active material and are not counted again.
2. ``main_production`` — cell manufacturing energy (MJ/kg cell, GREET) × cell mass; the electricity
   share (17.6 %) × the manufacturing country's grid factor, the rest as natural-gas heat (IPCC).
3. ``distribution`` — pack mass × distance × truck factor (project assumption unless given).
4. ``end_of_life`` — the recycling process's inputs (EverBatt) × their factors; credits for recovered
   material are reported separately and only subtracted with ``include_recycling_credits=True``.

Functional unit: total energy (kWh) = usable energy at beginning of life × full equivalent cycles per
year of the vehicle category (60 for M1/N1, 250 for M2/M3/N2/N3, 20 for L) × service life in years;
service life = the warranty in years, or the mileage warranty converted with the caller's annual
distance when that is shorter. Performance class: the lowest class whose upper limit the footprint does
not exceed, from class limits supplied by the caller or as a reference override (none are adopted yet).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..reference import References, ReferenceValue, Tracker
from .chemistry import PackComposition, pack_composition
from .errors import CircularInputError, require_non_negative, require_positive
from .recycling import PROCESSES, recycle

Stage = Literal["raw_material", "main_production", "distribution", "end_of_life"]
STAGES: tuple[Stage, ...] = ("raw_material", "main_production", "distribution", "end_of_life")


class FunctionalUnit(BaseModel):
    model_config = ConfigDict(frozen=True)

    usable_energy_kwh: float
    vehicle_category: str
    cycles_per_year: float
    warranty_years: float
    warranty_km: float | None
    annual_distance_km: float | None
    service_life_years: float
    service_life_basis: Literal["warranty_years", "warranty_km"]
    total_energy_kwh: float


class MaterialFootprint(BaseModel):
    """A material's footprint: from a traced lot (``kgco2e_per_kg`` given) or the default factor (None)."""

    model_config = ConfigDict(frozen=True)

    material: str = Field(min_length=1)  # "cathode", "graphite", "Cu", "Al", "LiPF6", "electronics", ...
    mass_kg: float = Field(ge=0)
    kgco2e_per_kg: float | None = Field(None, ge=0)
    lot_id: str | None = None
    source: str | None = None


class FootprintLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: Stage
    item: str
    quantity: float
    unit: str
    factor: float
    factor_unit: str
    ghg_kgco2e: float
    source: str


class CarbonFootprintResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    chemistry: str
    functional_unit: FunctionalUnit
    stages_kgco2e: dict[str, float]
    total_kgco2e: float
    total_kgco2e_per_kwh: float
    total_kgco2e_per_kwh_usable_energy: float  # for comparison with footprints quoted per kWh of capacity
    stages_kgco2e_per_kwh: dict[str, float]
    recycling_credit_kgco2e: float
    include_recycling_credits: bool
    performance_class: str | None
    class_limits_kgco2e_per_kwh: dict[str, float]
    manufacturing_country: str
    lines: list[FootprintLine]
    notes: list[str]
    references: list[ReferenceValue]

    def to_passport_fields(self) -> dict[str, float | str | None]:
        """The passport's ``carbon_footprint`` fields (Annex XIII 1(c))."""
        s = self.stages_kgco2e_per_kwh
        return {
            "total_kgco2e_per_kwh": round(self.total_kgco2e_per_kwh, 4),
            "raw_material_kgco2e_per_kwh": round(s["raw_material"], 4),
            "main_production_kgco2e_per_kwh": round(s["main_production"], 4),
            "distribution_kgco2e_per_kwh": round(s["distribution"], 4),
            "end_of_life_kgco2e_per_kwh": round(s["end_of_life"], 4),
            "performance_class": self.performance_class,
        }


def functional_unit(
    usable_energy_kwh: float,
    vehicle_category: str,
    warranty_years: float,
    *,
    warranty_km: float | None = None,
    annual_distance_km: float | None = None,
    references: References | None = None,
    tracker: Tracker | None = None,
) -> FunctionalUnit:
    """Total energy over the service life: usable energy × cycles per year × service-life years."""
    t = tracker or (references or References.default()).tracker()
    energy = require_positive("usable_energy_kwh", usable_energy_kwh)
    years = require_positive("warranty_years", warranty_years)
    cycles_table = t.refs.set("eu_2023_1542").get("carbon_footprint", "cycles_per_year")
    if vehicle_category not in cycles_table:
        raise CircularInputError(
            "vehicle_category", vehicle_category, f"must be one of {', '.join(cycles_table)} (EU vehicle categories)"
        )
    cycles = float(t.get("eu_2023_1542", "carbon_footprint", "cycles_per_year", vehicle_category))
    basis: Literal["warranty_years", "warranty_km"] = "warranty_years"
    life = years
    if warranty_km is not None:
        km = require_positive("warranty_km", warranty_km)
        if annual_distance_km is None:
            raise CircularInputError(
                "annual_distance_km", None,
                "a mileage warranty is converted to years with the vehicle's annual distance: give annual_distance_km",
            )
        per_year = require_positive("annual_distance_km", annual_distance_km)
        if km / per_year < years:
            life, basis = km / per_year, "warranty_km"
    elif annual_distance_km is not None:
        require_positive("annual_distance_km", annual_distance_km)
    return FunctionalUnit(
        usable_energy_kwh=energy,
        vehicle_category=vehicle_category,
        cycles_per_year=cycles,
        warranty_years=years,
        warranty_km=warranty_km,
        annual_distance_km=annual_distance_km,
        service_life_years=life,
        service_life_basis=basis,
        total_energy_kwh=energy * cycles * life,
    )


def performance_class(
    kgco2e_per_kwh: float, class_limits_kgco2e_per_kwh: Mapping[str, float]
) -> str | None:
    """The class whose (inclusive) upper limit is the lowest one not below the footprint; None above all."""
    for name, limit in sorted(class_limits_kgco2e_per_kwh.items(), key=lambda kv: kv[1]):
        if kgco2e_per_kwh <= limit:
            return name
    return None


def carbon_footprint(
    chemistry: str,
    usable_energy_kwh: float,
    vehicle_category: str,
    warranty_years: float,
    *,
    manufacturing_country: str,
    capacity_kwh: float | None = None,
    warranty_km: float | None = None,
    annual_distance_km: float | None = None,
    composition: PackComposition | None = None,
    material_footprints: Sequence[MaterialFootprint] = (),
    manufacturing_energy_mj_per_kg_cell: float | None = None,
    distribution_km: float | None = None,
    end_of_life_process: str = "hydro",
    recycling_country: str | None = None,
    include_recycling_credits: bool = False,
    class_limits_kgco2e_per_kwh: Mapping[str, float] | None = None,
    references: References | None = None,
) -> CarbonFootprintResult:
    """The carbon footprint of one battery model (or pack), per kWh of total energy over its service life.

    ``capacity_kwh`` is the cell capacity the composition scales with (default: the usable energy);
    ``composition`` replaces the chemistry-table composition (e.g. from the passport).
    """
    refs = references or References.default()
    t = refs.tracker()
    fu = functional_unit(
        usable_energy_kwh, vehicle_category, warranty_years,
        warranty_km=warranty_km, annual_distance_km=annual_distance_km, tracker=t,
    )
    comp = composition or pack_composition(chemistry, capacity_kwh or usable_energy_kwh, refs)
    chem = comp.chemistry
    notes: list[str] = list(comp.notes)
    lines: list[FootprintLine] = []
    greet = refs.set("greet_everbatt_ghg")

    def default_factor(material: str) -> tuple[float, str]:
        key = chem if material == "cathode" else material
        if not greet.has("material_kgco2e_per_kg", key):
            raise CircularInputError(
                "material_footprints", material,
                f"no default footprint for {key!r} in greet_everbatt_ghg.material_kgco2e_per_kg: give this "
                f"material's kgco2e_per_kg in a MaterialFootprint, or override the reference table",
            )
        return float(t.get("greet_everbatt_ghg", "material_kgco2e_per_kg", key)), greet.citation.short()

    # 1. raw material acquisition and pre-processing
    given: dict[str, list[MaterialFootprint]] = {}
    for mf in material_footprints:
        given.setdefault(mf.material, []).append(mf)
    defaults = {
        "cathode": comp.cathode_active_material_kg,
        "graphite": comp.materials_kg.get("graphite", 0.0),
        "Cu": comp.materials_kg.get("Cu", 0.0),
        "Al": comp.materials_kg.get("Al", 0.0),
    }
    for material, mass in defaults.items():
        if material in given or mass <= 0:
            continue
        f, src = default_factor(material)
        lines.append(FootprintLine(
            stage="raw_material", item=f"{chem} cathode active material" if material == "cathode" else material,
            quantity=mass, unit="kg", factor=f, factor_unit="kgCO2e/kg", ghg_kgco2e=mass * f, source=src,
        ))
    for material, lots in given.items():
        for mf in lots:
            if mf.kgco2e_per_kg is None:
                f, src = default_factor(mf.material)
            else:
                f, src = mf.kgco2e_per_kg, f"material lot {mf.lot_id or '?'}" + (f" ({mf.source})" if mf.source else "")
            lines.append(FootprintLine(
                stage="raw_material", item=material, quantity=mf.mass_kg, unit="kg", factor=f,
                factor_unit="kgCO2e/kg", ghg_kgco2e=mf.mass_kg * f, source=src,
            ))
    if not any(m in given for m in ("electronics", "LiPF6")):
        notes.append("electrolyte salt and electronics not counted: add them as MaterialFootprint lines")

    # 2. main production
    if manufacturing_energy_mj_per_kg_cell is not None:
        mj_per_kg = require_positive("manufacturing_energy_mj_per_kg_cell", manufacturing_energy_mj_per_kg_cell)
        t.record_input("manufacturing_energy_mj_per_kg_cell", mj_per_kg)
    elif greet.has("cell_manufacturing_energy_mj_per_kg_cell", chem):
        mj_per_kg = float(t.get("greet_everbatt_ghg", "cell_manufacturing_energy_mj_per_kg_cell", chem))
    else:
        raise CircularInputError(
            "manufacturing_energy_mj_per_kg_cell", None,
            f"greet_everbatt_ghg has no cell manufacturing energy for {chem}: give it (MJ per kg of cell)",
        )
    grid_table = refs.set("grid_factors").get("kgco2e_per_kwh")
    if manufacturing_country not in grid_table:
        raise CircularInputError(
            "manufacturing_country", manufacturing_country,
            f"no grid factor; known: {', '.join(sorted(grid_table))} (or override grid_factors.kgco2e_per_kwh)",
        )
    grid = float(t.get("grid_factors", "kgco2e_per_kwh", manufacturing_country))
    elec_frac = float(t.get("greet_everbatt_ghg", "cell_manufacturing_electricity_fraction"))
    ng = float(t.get("ipcc_2006", "combustion_kgco2_per_mj", "natural_gas"))
    energy_mj = comp.cell_mass_kg * mj_per_kg
    elec_kwh = energy_mj * elec_frac / 3.6
    heat_mj = energy_mj * (1 - elec_frac)
    lines.append(FootprintLine(
        stage="main_production", item=f"cell manufacturing electricity ({manufacturing_country})", quantity=elec_kwh,
        unit="kWh", factor=grid, factor_unit="kgCO2e/kWh", ghg_kgco2e=elec_kwh * grid,
        source=refs.set("grid_factors").citation.short(),
    ))
    lines.append(FootprintLine(
        stage="main_production", item="cell manufacturing heat (natural gas)", quantity=heat_mj, unit="MJ",
        factor=ng, factor_unit="kgCO2/MJ", ghg_kgco2e=heat_mj * ng, source=refs.set("ipcc_2006").citation.short(),
    ))
    notes.append("process heat of cell manufacturing taken as natural gas")

    # 3. distribution
    if distribution_km is None:
        km = float(t.get("batteryloop_assumptions", "distribution", "distance_km"))
    else:
        km = require_non_negative("distribution_km", distribution_km)
        t.record_input("distribution_km", km)
    truck = float(t.get("batteryloop_assumptions", "distribution", "truck_kgco2e_per_tkm"))
    tkm = comp.pack_mass_kg / 1000 * km
    lines.append(FootprintLine(
        stage="distribution", item="pack transport by truck", quantity=tkm, unit="t·km", factor=truck,
        factor_unit="kgCO2e/t·km", ghg_kgco2e=tkm * truck, source=refs.set("batteryloop_assumptions").citation.short(),
    ))

    # 4. end of life and recycling
    if end_of_life_process not in PROCESSES:
        raise CircularInputError("end_of_life_process", end_of_life_process, f"must be one of {', '.join(PROCESSES)}")
    rec = recycle(comp, end_of_life_process, basis="pack", grid_country=recycling_country,
                  missing_price="zero", references=refs)
    for i in rec.inputs:
        lines.append(FootprintLine(
            stage="end_of_life", item=f"{end_of_life_process} recycling: {i.name}", quantity=i.quantity, unit=i.unit,
            factor=i.ghg_kgco2e / i.quantity if i.quantity else 0.0, factor_unit=f"kgCO2e/{i.unit}",
            ghg_kgco2e=i.ghg_kgco2e, source="everbatt_2023 inputs × factors",
        ))
    if include_recycling_credits:
        lines.append(FootprintLine(
            stage="end_of_life", item="credit for recovered material", quantity=1, unit="pack",
            factor=-rec.credit_ghg_kgco2e, factor_unit="kgCO2e/pack", ghg_kgco2e=-rec.credit_ghg_kgco2e,
            source="greet_everbatt_ghg × recovered mass",
        ))

    stages = {s: sum(line.ghg_kgco2e for line in lines if line.stage == s) for s in STAGES}
    total = sum(stages.values())
    limits_src = class_limits_kgco2e_per_kwh
    if limits_src is None:
        limits = {k: float(v) for k, v in t.table("eu_2023_1542", "carbon_footprint", "class_limits_kgco2e_per_kwh").items()}
    else:
        limits = {}
        for k, v in limits_src.items():
            limits[k] = require_positive(f"class_limits_kgco2e_per_kwh.{k}", v)
            t.record_input(f"class_limits_kgco2e_per_kwh.{k}", v)
    per_kwh = total / fu.total_energy_kwh
    cls = performance_class(per_kwh, limits) if limits else None
    if not limits:
        notes.append("no performance class: class limits are not adopted yet (Art. 7(2)); supply class_limits_kgco2e_per_kwh")
    elif cls is None:
        notes.append("footprint above every class limit")
    return CarbonFootprintResult(
        chemistry=chem,
        functional_unit=fu,
        stages_kgco2e=stages,
        total_kgco2e=total,
        total_kgco2e_per_kwh=per_kwh,
        total_kgco2e_per_kwh_usable_energy=total / fu.usable_energy_kwh,
        stages_kgco2e_per_kwh={s: v / fu.total_energy_kwh for s, v in stages.items()},
        recycling_credit_kgco2e=rec.credit_ghg_kgco2e,
        include_recycling_credits=include_recycling_credits,
        performance_class=cls,
        class_limits_kgco2e_per_kwh=limits,
        manufacturing_country=manufacturing_country,
        lines=lines,
        notes=notes,
        references=[*comp.references, *t.used(), *[r for r in rec.references if r.set != "everbatt_2023" or "price" not in r.key]],
    )
