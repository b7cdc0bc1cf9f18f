"""Recycling processes (EverBatt): what a process recovers from a battery, earns, costs and emits.

For one process (``pyro``, ``hydro``, ``direct``) and one composition (:mod:`.chemistry`):

- recovered mass per material = contained mass × the process's recovery fraction (``everbatt_2023``);
  hydro sells lithium as Li2CO3 (5.323 kg per kg Li); direct recovers the cathode active material whole
  (90 %) and sells it as cathode powder;
- revenue = recovered product mass × price (EverBatt 2023 defaults, 2020 $; any price may be given),
  for the cells' materials and, with ``basis="pack"``, the pack hardware's Al, steel and Cu (recovered at
  the same EverBatt fractions as in the efficiency below; :attr:`RecoveredMaterial.part` says which);
- gate fee = the chemistry's gate fee × input mass, EverBatt's sign: positive = the recycler pays the
  owner for the batteries, negative = the recycler is paid to take them (LFP −2 $/kg);
- inputs = EverBatt's chemicals and energy per kg of spent battery × the mass they treat: the input mass for
  pyro (a smelter takes the whole pack) and for diesel (handling and shredding); the cells only for hydro's and
  direct's other inputs — pre-treatment sends the casing, busbars and cables to scrap-metal routes before the
  black mass is leached or treated (:func:`input_charged_on_cells`); their cost and GHG use
  the project's assumed input prices and factors, IPCC fuel factors and the recycling country's grid;
- credits = recovered product × the GHG of the virgin material it displaces (GREET via EverBatt);
  Ni and Co are credited as NiSO4 and CoSO4 (sulfate-equivalent), Mn and steel get no credit (no factor);
- recycler net value = revenue − gate fee − input cost − other cost; material net value (the value the
  route decision uses: the gate fee is a transfer between owner and recycler) = revenue − input cost −
  other cost. Capital, labour and transport are not modelled: add them as ``other_cost_usd_per_kg``.

Recycling efficiency (Annex XII B) follows Delegated Regulation (EU) 2025/606: the mass of the output
fractions that count as recycled divided by the mass of the whole waste battery fed in (``basis="pack"``:
the pack with its casing, busbars, cables, electronics and thermal management; ``basis="cell"``: the
cells only). The input is split into fractions (:attr:`RecyclingResult.efficiency_fractions`), each
with its recycled share on the process's route:

- cell materials: EverBatt's recovery of the process (``everbatt_2023.recovery_fraction``), counted on
  an element basis (Li as Li, not Li2CO3; Ni, Co as metal, not sulfate: reagent mass is not counted);
  in direct recycling the cathode powder counts whole (its O and P came in with the battery);
- the rest of the cell (electrolyte, separator, binder, the cathode's O and P outside direct
  recycling): not recycled (burnt, evaporated or to residue);
- pack hardware by material (:mod:`.chemistry`): Al, steel and Cu at EverBatt's recovery of the process
  (hydro and direct start with mechanical pre-treatment that separates the casing and busbars; a smelter
  without pre-treatment sends aluminium to slag and steel and copper to its alloy), plastics,
  electronics, coolant and insulation at ``batteryloop_assumptions.pack_hardware_recovery_fraction``
  (0 by default: burnt or not traced as recycled); hardware of unknown material is not counted, and a
  note says so.

Material recovery (Annex XII C) is recovered / contained mass per element in the cells; in direct
recycling the metals recovered inside the cathode count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..reference import References, ReferenceValue, Tracker
from .chemistry import ATOMIC_MASS_G_PER_MOL as _M
from .chemistry import CELL_MATERIALS, PackComposition, composition_for_mass, pack_composition
from .errors import CircularInputError, require_non_negative

Process = Literal["pyro", "hydro", "direct"]
PROCESSES: tuple[Process, ...] = ("pyro", "hydro", "direct")

#: kg Li2CO3 per kg Li: M(Li2CO3) / (2 M(Li)) = 73.888 / 13.88
LI2CO3_PER_LI = (2 * _M["Li"] + _M["C"] + 3 * _M["O"]) / (2 * _M["Li"])
#: kg NiSO4 per kg Ni, kg CoSO4 per kg Co (anhydrous sulfates)
NISO4_PER_NI = (_M["Ni"] + _M["S"] + 4 * _M["O"]) / _M["Ni"]
COSO4_PER_CO = (_M["Co"] + _M["S"] + 4 * _M["O"]) / _M["Co"]

# material -> (product name, price key, kg product per kg element, credit factor key, kg credited product per kg element)
_PRODUCTS: dict[str, tuple[str, str, float, str | None, float]] = {
    "Li": ("Li2CO3", "Li2CO3", LI2CO3_PER_LI, "Li2CO3", LI2CO3_PER_LI),
    "Ni": ("Ni", "Ni", 1.0, "NiSO4", NISO4_PER_NI),
    "Co": ("Co", "Co", 1.0, "CoSO4", COSO4_PER_CO),
    "Mn": ("Mn", "Mn", 1.0, None, 1.0),
    "Fe": ("Fe", "Fe", 1.0, None, 1.0),
    "graphite": ("graphite", "graphite", 1.0, "graphite", 1.0),
    "Cu": ("Cu", "Cu", 1.0, "Cu", 1.0),
    "Al": ("Al", "Al", 1.0, "Al", 1.0),
    "steel": ("steel", "steel", 1.0, None, 1.0),
}
_CATHODE_ELEMENTS = ("Li", "Ni", "Co", "Mn", "Fe")
#: hardware metals recycled at EverBatt's recovery of the process (the others: pack_hardware_recovery_fraction)
_HARDWARE_METALS = ("Al", "steel", "Cu")
_LABEL = {"cell": "cell", "hardware": "pack hardware"}
#: what happens to a non-recycled hardware fraction, by process (fate text only; the share is a reference value)
_HARDWARE_FATE = {
    "plastics": {"pyro": "burnt in the smelter (energy recovery, not recycling)",
                 "hydro": "sorted out in pre-treatment, incinerated", "direct": "sorted out in pre-treatment, incinerated"},
    "electronics": {"pyro": "burnt in the smelter", "hydro": "sorted out, not traced as recycled",
                    "direct": "sorted out, not traced as recycled"},
    "coolant": {p: "drained, treated as waste" for p in ("pyro", "hydro", "direct")},
    "insulation": {p: "not recycled" for p in ("pyro", "hydro", "direct")},
}
_OTHER_CELL_FATE = {
    "pyro": "electrolyte, separator, binder burnt; cathode O to slag and off-gas",
    "hydro": "electrolyte, separator, binder burnt or to residue; cathode O not counted",
    "direct": "electrolyte, separator, binder burnt or to residue",
}
#: elements whose recovery Annex XII C sets targets for (Pb is not in Li-ion packs)
ANNEX_XII_METALS = ("Co", "Cu", "Ni", "Li")


class RecoveredMaterial(BaseModel):
    model_config = ConfigDict(frozen=True)

    material: str
    contained_kg: float
    recovery_fraction: float
    recovered_kg: float  # element (or, for the cathode, powder) basis
    #: where the material was: in the cells, or in the pack hardware (casing, busbars, cables: Al, steel, Cu)
    part: Literal["cell", "hardware"] = "cell"
    product: str
    product_kg: float
    price_usd_per_kg: float
    revenue_usd: float
    credit_kgco2e: float


class EfficiencyFraction(BaseModel):
    """One fraction of the input and how much of it the process recycles (Annex XII B)."""

    model_config = ConfigDict(frozen=True)

    part: Literal["cell", "hardware"]
    material: str  # e.g. "Li", "cathode", "other", "Al", "plastics", "unknown"
    input_kg: float
    recycled_fraction: float
    recycled_kg: float
    fate: str  # e.g. "90% recycled, the rest lost in processing", "lost to slag", "burned"

    @property
    def lost_kg(self) -> float:
        return self.input_kg - self.recycled_kg


class ProcessInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # e.g. "H2SO4_kg", "electricity_mj"
    quantity: float
    unit: str
    cost_usd: float
    ghg_kgco2e: float
    #: the mass it is charged on (kg): the whole input, or the cells only (:func:`input_charged_on_cells`)
    charged_on_kg: float = 0.0


class RecyclingResult(BaseModel):
    """Everything one process does to one input, with the reference values it used."""

    model_config = ConfigDict(frozen=True)

    process: Process
    chemistry: str
    input_mass_kg: float
    basis: Literal["pack", "cell"]
    recovered: list[RecoveredMaterial]
    revenue_usd: float
    gate_fee_usd_per_kg: float
    gate_fee_usd: float
    inputs: list[ProcessInput]
    input_cost_usd: float
    other_cost_usd: float
    process_ghg_kgco2e: float
    credit_ghg_kgco2e: float
    net_ghg_kgco2e: float
    recycler_net_value_usd: float
    material_net_value_usd: float
    recycling_efficiency_fraction: float
    efficiency_fractions: list[EfficiencyFraction] = []
    material_recovery_fraction: dict[str, float]
    grid_country: str
    notes: list[str]
    references: list[ReferenceValue]

    @property
    def revenue_usd_per_kg(self) -> float:
        return self.revenue_usd / self.input_mass_kg

    @property
    def recycler_net_value_usd_per_kg(self) -> float:
        return self.recycler_net_value_usd / self.input_mass_kg

    @property
    def material_net_value_usd_per_kg(self) -> float:
        return self.material_net_value_usd / self.input_mass_kg

    @property
    def net_ghg_kgco2e_per_kg(self) -> float:
        return self.net_ghg_kgco2e / self.input_mass_kg

    def recovered_kg(self, material: str, part: Literal["cell", "hardware"] | None = None) -> float:
        """Recovered mass of ``material`` (from the cells, the hardware, or — ``part=None`` — both)."""
        return sum(r.recovered_kg for r in self.recovered if r.material == material and part in (None, r.part))

    def lost_fractions(self) -> list[EfficiencyFraction]:
        """The fractions the process does not (fully) recycle, the largest loss first."""
        lost = [f for f in self.efficiency_fractions if f.lost_kg > 0]
        return sorted(lost, key=lambda f: -f.lost_kg)

    def efficiency_explanation(self, top: int = 5) -> str:
        """How the efficiency was computed and where the mass went, in one sentence."""
        recycled = self.recycling_efficiency_fraction * self.input_mass_kg
        what = "whole pack, hardware included" if self.basis == "pack" else "cells only"
        text = (f"{self.process}: {recycled:.3g} kg of output fractions recycled / {self.input_mass_kg:.3g} kg "
                f"of battery fed in ({what}; Delegated Regulation (EU) 2025/606)")
        lost = self.lost_fractions()
        if lost:
            parts = [f"{_LABEL[f.part]} {f.material} {f.lost_kg:.3g} kg ({f.fate})" for f in lost[:top]]
            more = f" and {len(lost) - top} more" if len(lost) > top else ""
            text += "; not recycled: " + ", ".join(parts) + more
        return text


def _parse_process(process: str) -> Process:
    if process not in PROCESSES:
        raise CircularInputError("process", process, f"must be one of {', '.join(PROCESSES)}")
    return process  # type: ignore[return-value]


def recycle(
    composition: PackComposition,
    process: str,
    *,
    basis: Literal["pack", "cell"] = "pack",
    prices_usd_per_kg: Mapping[str, float] | None = None,
    gate_fee_usd_per_kg: float | None = None,
    grid_country: str | None = None,
    other_cost_usd_per_kg: float = 0.0,
    missing_price: Literal["error", "zero"] = "error",
    references: References | None = None,
) -> RecyclingResult:
    """Recycle ``composition`` (the whole pack, or only its cells with ``basis="cell"``) by ``process``.

    ``prices_usd_per_kg`` replaces reference prices by key (``Li2CO3``, ``Ni``, ``Co``, ``Mn``, ``Cu``,
    ``Al``, ``graphite``, ``steel``, and ``cathode`` for the direct-recycled cathode powder).
    A recovered material without a price is an error naming the missing key, unless
    ``missing_price="zero"`` (used where only masses and GHG matter, e.g. the carbon footprint).
    """
    proc = _parse_process(process)
    if basis not in ("pack", "cell"):
        raise CircularInputError("basis", basis, "must be 'pack' or 'cell'")
    other = require_non_negative("other_cost_usd_per_kg", other_cost_usd_per_kg)
    refs = references or References.default()
    t = refs.tracker()
    chem = composition.chemistry
    notes: list[str] = list(composition.notes)
    input_kg = composition.pack_mass_kg if basis == "pack" else composition.cell_mass_kg
    materials = dict(composition.materials_kg)
    if basis == "cell":
        materials.pop("steel", None)

    given_prices = dict(prices_usd_per_kg or {})
    for k, v in given_prices.items():
        require_non_negative(f"prices_usd_per_kg.{k}", v)

    def price(key: str, what: str) -> float:
        if key in given_prices:
            t.record_input(f"price_usd_per_kg.{key}", given_prices[key])
            return float(given_prices[key])
        if key == "cathode":
            table, ref_key = "cathode_price_usd_per_kg", chem
        else:
            table, ref_key = "price_usd_per_kg", key
        if refs.set("everbatt_2023").has(table, ref_key):
            return float(t.get("everbatt_2023", table, ref_key))
        if missing_price == "zero":
            notes.append(f"no price for {what}: valued at 0")
            return 0.0
        raise CircularInputError(
            f"prices_usd_per_kg.{key}",
            None,
            f"no price for recovered {what} (everbatt_2023.{table} has no {ref_key!r}); "
            f"give prices_usd_per_kg={{'{key}': ...}} or override the reference table",
        )

    recovery = t.table("everbatt_2023", "recovery_fraction", proc)
    credit_factors = refs.set("greet_everbatt_ghg").get("material_kgco2e_per_kg")

    def credit(key: str | None, kg: float) -> float:
        if key is None or kg == 0:
            return 0.0
        return kg * float(t.get("greet_everbatt_ghg", "material_kgco2e_per_kg", key))

    recovered: list[RecoveredMaterial] = []
    element_recovered: dict[str, float] = {}
    for mat, contained in materials.items():
        if contained <= 0:
            continue
        frac = float(recovery.get(mat, 0.0))
        if mat in _CATHODE_ELEMENTS and proc == "direct":
            frac_el = float(recovery["cathode"])
            element_recovered[mat] = contained * frac_el
            continue  # sold inside the cathode powder below
        rec = contained * frac
        element_recovered[mat] = rec
        if rec == 0:
            continue
        product, price_key, per_el, credit_key, credit_per_el = _PRODUCTS[mat]
        p = price(price_key, product)
        product_kg = rec * per_el
        recovered.append(
            RecoveredMaterial(
                material=mat, contained_kg=contained, recovery_fraction=frac, recovered_kg=rec,
                product=product, product_kg=product_kg, price_usd_per_kg=p, revenue_usd=product_kg * p,
                credit_kgco2e=credit(credit_key, rec * credit_per_el),
                part="hardware" if mat == "steel" else "cell",  # steel is never in cells (materials_kg doc)
            )
        )
    if proc == "direct":
        frac = float(recovery["cathode"])
        cam = composition.cathode_active_material_kg
        rec = cam * frac
        p = price("cathode", f"{chem} cathode powder")
        credit_key = chem if chem in credit_factors else None
        if credit_key is None:
            notes.append(f"no GHG factor for {chem} cathode powder: no credit for it")
        recovered.append(
            RecoveredMaterial(
                material="cathode", contained_kg=cam, recovery_fraction=frac, recovered_kg=rec,
                product=f"{chem} cathode", product_kg=rec, price_usd_per_kg=p, revenue_usd=rec * p,
                credit_kgco2e=credit(credit_key, rec),
            )
        )
    if basis == "pack":
        # the pack hardware's metals are sold and credited like the cells' (steel given in materials_kg is
        # the hardware's steel, already valued above: only the rest of the hardware's steel is added)
        for mat in _HARDWARE_METALS:
            contained = composition.hardware_kg.get(mat, 0.0) - (materials.get(mat, 0.0) if mat == "steel" else 0.0)
            if contained <= 1e-12:
                continue
            frac = float(recovery.get(mat, 0.0))
            rec = contained * frac
            if rec == 0:
                continue
            product, price_key, per_el, credit_key, credit_per_el = _PRODUCTS[mat]
            p = price(price_key, product)
            recovered.append(
                RecoveredMaterial(
                    material=mat, contained_kg=contained, recovery_fraction=frac, recovered_kg=rec,
                    product=product, product_kg=rec * per_el, price_usd_per_kg=p, revenue_usd=rec * per_el * p,
                    credit_kgco2e=credit(credit_key, rec * credit_per_el), part="hardware",
                )
            )
    if (materials.get("Mn", 0) > 0 or materials.get("Fe", 0) > 0
            or (basis == "pack" and composition.hardware_kg.get("steel", 0) > 0)):
        notes.append("Mn, Fe and steel get no GHG credit (no factor in greet_everbatt_ghg)")
    if proc != "direct" and materials.get("Fe", 0) > 0:
        notes.append("Fe is not in EverBatt's recovery table: counted as not recovered")

    # gate fee
    if gate_fee_usd_per_kg is not None:
        fee = float(gate_fee_usd_per_kg)
        if fee != fee or abs(fee) == float("inf"):
            raise CircularInputError("gate_fee_usd_per_kg", gate_fee_usd_per_kg, "must be a finite number")
        t.record_input("gate_fee_usd_per_kg", fee)
    elif refs.set("everbatt_2023").has("gate_fee_usd_per_kg", chem):
        fee = float(t.get("everbatt_2023", "gate_fee_usd_per_kg", chem))
    else:
        fee = 0.0
        notes.append(f"no published gate fee for {chem}: 0 assumed; pass gate_fee_usd_per_kg to set one")

    # process inputs
    country = grid_country or str(t.get("batteryloop_assumptions", "recycling_grid_country"))
    if not refs.set("grid_factors").has("kgco2e_per_kwh", country):
        raise CircularInputError(
            "grid_country", country,
            f"no grid factor; known: {', '.join(sorted(refs.set('grid_factors').get('kgco2e_per_kwh')))}"
            " (or add one with an override of grid_factors.kgco2e_per_kwh)",
        )
    grid = float(t.get("grid_factors", "kgco2e_per_kwh", country))
    per_kg = t.table("everbatt_2023", "process_inputs_per_kg_spent_battery", proc)
    inputs: list[ProcessInput] = []
    for name, q_per_kg in per_kg.items():
        on_kg = min(input_kg, composition.cell_mass_kg) if input_charged_on_cells(proc, name) else input_kg
        q = float(q_per_kg) * on_kg
        if name == "electricity_mj":
            kwh = q / 3.6
            cost = kwh * float(t.get("batteryloop_assumptions", "process_input_price_usd", "electricity_per_kwh"))
            ghg = kwh * grid
        elif name in ("diesel_mj", "natural_gas_mj"):
            fuel = name.removesuffix("_mj")
            cost = q * float(t.get("batteryloop_assumptions", "process_input_price_usd", f"{fuel}_per_mj"))
            ghg = q * float(t.get("ipcc_2006", "combustion_kgco2_per_mj", fuel))
        else:
            chem_name = name.removesuffix("_kg")
            cost = q * float(t.get("batteryloop_assumptions", "process_input_price_usd", f"{chem_name}_per_kg"))
            ghg = q * float(t.get("batteryloop_assumptions", "process_input_kgco2e", f"{chem_name}_per_kg"))
        inputs.append(
            ProcessInput(name=name, quantity=q, unit=name.rsplit("_", 1)[1].replace("mj", "MJ"), cost_usd=cost, ghg_kgco2e=ghg,
                         charged_on_kg=on_kg)
        )

    revenue = sum(r.revenue_usd for r in recovered)
    input_cost = sum(i.cost_usd for i in inputs)
    other_cost = other * input_kg
    process_ghg = sum(i.ghg_kgco2e for i in inputs)
    credits = sum(r.credit_kgco2e for r in recovered)
    fractions = _efficiency_fractions(composition, proc, basis, materials, recovery, t, notes)
    recovered_mass = sum(f.recycled_kg for f in fractions)
    recovery_by_el = {
        mat: element_recovered.get(mat, 0.0) / materials[mat] for mat in materials if materials[mat] > 0
    }
    return RecyclingResult(
        process=proc,
        chemistry=chem,
        input_mass_kg=input_kg,
        basis=basis,
        recovered=recovered,
        revenue_usd=revenue,
        gate_fee_usd_per_kg=fee,
        gate_fee_usd=fee * input_kg,
        inputs=inputs,
        input_cost_usd=input_cost,
        other_cost_usd=other_cost,
        process_ghg_kgco2e=process_ghg,
        credit_ghg_kgco2e=credits,
        net_ghg_kgco2e=process_ghg - credits,
        recycler_net_value_usd=revenue - fee * input_kg - input_cost - other_cost,
        material_net_value_usd=revenue - input_cost - other_cost,
        recycling_efficiency_fraction=recovered_mass / input_kg,
        efficiency_fractions=fractions,
        material_recovery_fraction=recovery_by_el,
        grid_country=country,
        notes=notes,
        references=[*composition.references, *t.used()],
    )


def input_charged_on_cells(process: str, name: str) -> bool:
    """Whether process input ``name`` (EverBatt's, per kg of spent battery) is charged on the cells alone rather than
    on everything fed in. Hydrometallurgical and direct recycling begin with mechanical pre-treatment that separates
    the pack's casing, busbars and cables — they go to scrap-metal routes, the hardware metals' recovery here and
    Annex XII's efficiency alike — from the cells, whose black mass alone is leached (hydro: H2SO4, NaOH, H2O2, the
    natural gas and electricity of leaching and crystallisation) or treated (direct: CO2 extraction of the
    electrolyte, the relithiation's electricity). Diesel, the same 0.6 MJ/kg in all three of EverBatt's processes,
    is the handling and shredding of everything fed in. A smelter (pyro) takes the whole pack: every input is
    charged on the input mass. (A modelling reading of EverBatt's per-kg figures: the referee of issue 18 found the
    leaching reagents charged on a pack's aluminium and steel housing.)"""
    return process in ("hydro", "direct") and name != "diesel_mj"


def _fate(frac: float, zero_reason: str) -> str:
    return f"{frac:.0%} recycled, the rest lost in processing" if frac > 0 else zero_reason


def _efficiency_fractions(
    comp: PackComposition,
    proc: Process,
    basis: str,
    materials: Mapping[str, float],
    recovery: Mapping[str, object],
    t: Tracker,
    notes: list[str],
) -> list[EfficiencyFraction]:
    """The input split into fractions, each with the share the process recycles (see module docstring):
    the fractions' input masses sum to the input mass (cells, or pack with its hardware)."""
    ev_notes = t.refs.set("everbatt_2023").notes
    out: list[EfficiencyFraction] = []

    def add(part: Literal["cell", "hardware"], mat: str, kg: float, frac: float, fate: str) -> None:
        if kg > 0:
            out.append(EfficiencyFraction(part=part, material=mat, input_kg=kg, recycled_fraction=frac,
                                          recycled_kg=kg * frac, fate=fate))

    tracked = 0.0
    for mat, kg in materials.items():
        if mat not in CELL_MATERIALS:
            continue  # steel: pack hardware, counted below
        if proc == "direct" and mat in _CATHODE_ELEMENTS:
            continue  # inside the cathode powder
        frac = float(recovery[mat])  # EverBatt's table names every cell material
        why = ev_notes.get(f"recovery_fraction.{proc}.{mat}", "not recovered")
        add("cell", mat, kg, frac, _fate(frac, why))
        tracked += kg
    if proc == "direct":
        cam = comp.cathode_active_material_kg
        frac = float(recovery["cathode"])
        add("cell", "cathode", cam, frac, _fate(frac, "not recovered"))
        tracked += cam
    add("cell", "other", max(0.0, comp.cell_mass_kg - tracked), 0.0, _OTHER_CELL_FATE[proc])
    if basis != "pack":
        return out
    extra = t.refs.set("batteryloop_assumptions").get("pack_hardware_recovery_fraction", proc)
    for mat, kg in comp.hardware_kg.items():
        if mat in _HARDWARE_METALS:
            frac = float(t.get("everbatt_2023", "recovery_fraction", proc, mat))
            why = ev_notes.get(f"recovery_fraction.{proc}.{mat}", "not recovered")
        elif mat in extra:
            frac = float(t.get("batteryloop_assumptions", "pack_hardware_recovery_fraction", proc, mat))
            why = _HARDWARE_FATE.get(mat, {}).get(proc, "not recycled")
        else:
            frac, why = 0.0, "no recovery known for this material: not counted"
            notes.append(f"pack hardware {mat}: no recovery fraction for {proc} "
                         "(batteryloop_assumptions.pack_hardware_recovery_fraction): not counted as recycled")
        add("hardware", mat, kg, frac, _fate(frac, why))
    unknown = comp.unknown_hardware_kg
    if unknown > 1e-9:
        add("hardware", "unknown", unknown, 0.0, "composition unknown: not counted")
        notes.append(
            f"pack hardware composition unknown for {unknown:.3g} kg of {comp.pack_hardware_kg:.3g} kg: not counted "
            "as recycled; give it (composition_from_materials(hardware_kg=...)) to count it"
        )
    return out


def recycle_mass(
    chemistry: str,
    mass_kg: float,
    process: str | None = None,
    *,
    basis: Literal["pack", "cell"] = "pack",
    prices_usd_per_kg: Mapping[str, float] | None = None,
    references: References | None = None,
    **kwargs: object,
) -> list[RecyclingResult]:
    """``batteryloop circular recycle --chemistry C --mass-kg M [--process P]``: one result per process."""
    comp = composition_for_mass(chemistry, mass_kg, basis, references)
    procs = PROCESSES if process is None else (_parse_process(process),)
    return [
        recycle(comp, p, basis=basis, prices_usd_per_kg=prices_usd_per_kg, references=references, **kwargs)  # type: ignore[arg-type]
        for p in procs
    ]


def recycle_pack(
    chemistry: str, capacity_kwh: float, process: str, references: References | None = None, **kwargs: object
) -> RecyclingResult:
    """Recycle a whole pack of ``capacity_kwh`` of ``chemistry``."""
    return recycle(pack_composition(chemistry, capacity_kwh, references), process, references=references, **kwargs)  # type: ignore[arg-type]
