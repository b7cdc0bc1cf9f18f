"""The battery passport data model, aligned with Annex XIII of Regulation (EU) 2023/1542.

Two kinds of data make a passport:

* :class:`BatteryModelData` — per battery *model* (Annex XIII points 1–3): general information,
  composition, carbon footprint, due diligence, recycled and renewable content, performance and
  durability ratings, labels, declaration of conformity, and (restricted) detailed composition, spare
  parts, dismantling information, safety measures and test reports.
* :class:`BatteryData` — per *battery* (pack): identifier, serial, manufacture date and place,
  status, state of health and usage data (Annex XIII point 4, Annex VII).

Every field declares its access tier with :func:`~batteryloop.passport.tiers.tiered`; the API, the
pages and the exports cut a passport to the caller's tiers from these declarations alone
(:mod:`batteryloop.passport.redact`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .tiers import Tier, tiered
from .validators import normalize_participant_id, validate_cas, validate_country

P = Tier.PUBLIC
LI = Tier.LEGITIMATE_INTEREST
AU = Tier.AUTHORITY
OP = Tier.OPERATOR
#: the heaviest mass a battery model or pack may state (1 000 t: above the largest containerised battery
#: systems); a larger figure (10^300 kg in a payload) is a unit or typing error, refused by name
MAX_MASS_KG = 1_000_000.0

ParticipantId = Annotated[str, AfterValidator(normalize_participant_id)]
CasNumber = Annotated[str, AfterValidator(validate_cas)]
CountryCode = Annotated[str, AfterValidator(validate_country)]
Percent = Annotated[float, Field(ge=0, le=100)]
PositiveFloat = Annotated[float, Field(gt=0)]
Url = Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^(https?|urn|did):")]
Email = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[\w.+-]+@[\w.-]+\.[A-Za-z]{2,}$")]
#: a postal address on one line, ``"<street>, <postal code> <town>, <ISO country code>"`` (the form the exports split)
AddressLine = Annotated[str, Field(min_length=1, max_length=500)]
PostalCode = Annotated[str, Field(min_length=2, max_length=12, pattern=r"^[A-Za-z0-9][A-Za-z0-9 \-]*[A-Za-z0-9]$")]


class Chemistry(StrEnum):
    """Cell chemistries the platform knows (cathode family / anode where it matters)."""

    NMC111 = "NMC111"
    NMC532 = "NMC532"
    NMC622 = "NMC622"
    NMC811 = "NMC811"
    NCA = "NCA"
    LFP = "LFP"
    LMFP = "LMFP"
    LMO = "LMO"
    LCO = "LCO"
    LTO = "LTO"
    NA_ION = "Na-ion"
    LEAD_ACID = "lead-acid"
    NIMH = "NiMH"


class BatteryCategory(StrEnum):
    """Battery categories of Art. 3 of the regulation; only EV, LMT and industrial > 2 kWh need a passport."""

    EV = "ev"
    LMT = "lmt"
    INDUSTRIAL = "industrial"
    SLI = "sli"
    PORTABLE = "portable"


class BatteryStatus(StrEnum):
    """Annex XIII 4: original, repurposed, re-used, remanufactured, waste; plus ``recycled`` (archived)."""

    ORIGINAL = "original"
    REPURPOSED = "repurposed"
    REUSED = "reused"
    REMANUFACTURED = "remanufactured"
    WASTE = "waste"
    RECYCLED = "recycled"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)


# ---------------------------------------------------------------------------------------- per model


class HazardousSubstance(_Strict):
    name: str = Field(min_length=1, max_length=200)
    cas_number: CasNumber | None = None
    concentration_pct: Percent | None = None
    location: str | None = Field(None, max_length=200, description="cell, module, pack component")
    hazard_class: str | None = Field(None, max_length=200, description="CLP hazard class")


class MaterialShare(_Strict):
    material: str = Field(min_length=1, max_length=200)
    cas_number: CasNumber | None = None
    mass_fraction_pct: Percent | None = None
    mass_kg: PositiveFloat | None = None


class MaterialComposition(_Strict):
    """Annex XIII 1(d): battery chemistry, and the names of the main materials (public)."""

    cathode_material: str | None = Field(None, max_length=200)
    anode_material: str | None = Field(None, max_length=200)
    electrolyte: str | None = Field(None, max_length=200)
    casing_material: str | None = Field(None, max_length=200)


class CarbonFootprint(_Strict):
    """Art. 7 / Annex II: kg CO2e per kWh of total energy over the service life, four life-cycle stages."""

    total_kgco2e_per_kwh: PositiveFloat
    raw_material_kgco2e_per_kwh: float | None = Field(None, ge=0)
    main_production_kgco2e_per_kwh: float | None = Field(None, ge=0)
    distribution_kgco2e_per_kwh: float | None = Field(None, ge=0)
    end_of_life_kgco2e_per_kwh: float | None = None
    performance_class: str | None = Field(None, pattern=r"^[A-G]$")
    study_url: Url | None = None

    @model_validator(mode="after")
    def _stages_add_up(self) -> CarbonFootprint:
        stages = [
            self.raw_material_kgco2e_per_kwh,
            self.main_production_kgco2e_per_kwh,
            self.distribution_kgco2e_per_kwh,
            self.end_of_life_kgco2e_per_kwh,
        ]
        if all(s is not None for s in stages):
            total = sum(stages)  # type: ignore[arg-type]
            if abs(total - self.total_kgco2e_per_kwh) > max(0.01, 0.005 * self.total_kgco2e_per_kwh):
                raise ValueError(
                    f"total_kgco2e_per_kwh {self.total_kgco2e_per_kwh} differs from the sum of the four "
                    f"life-cycle stages ({total:.3f}); give a total equal to the stages' sum"
                )
        return self


class RecycledContent(_Strict):
    """Art. 8: share of each metal in active materials recovered from waste (pre- plus post-consumer).

    ``<metal>_pct`` is the whole share; ``<metal>_pre_consumer_pct`` (recovered from manufacturing waste) and
    ``<metal>_post_consumer_pct`` (from post-consumer waste, Art. 8(1)) split it when the split is known: given
    both, they add up to the whole share."""

    cobalt_pct: Percent | None = None
    lithium_pct: Percent | None = None
    nickel_pct: Percent | None = None
    lead_pct: Percent | None = None
    cobalt_pre_consumer_pct: Percent | None = None
    cobalt_post_consumer_pct: Percent | None = None
    lithium_pre_consumer_pct: Percent | None = None
    lithium_post_consumer_pct: Percent | None = None
    nickel_pre_consumer_pct: Percent | None = None
    nickel_post_consumer_pct: Percent | None = None
    lead_pre_consumer_pct: Percent | None = None
    lead_post_consumer_pct: Percent | None = None
    allocation_rule: str | None = Field(None, pattern=r"^(mass_balance|physical_segregation)$")

    @model_validator(mode="after")
    def _split_adds_up(self) -> RecycledContent:
        for metal in RECYCLED_METALS:
            pre, post = getattr(self, f"{metal}_pre_consumer_pct"), getattr(self, f"{metal}_post_consumer_pct")
            if pre is None and post is None:
                continue
            whole = getattr(self, f"{metal}_pct")
            if pre is None or post is None or whole is None:
                raise ValueError(f"{metal}: give {metal}_pre_consumer_pct and {metal}_post_consumer_pct together, "
                                 f"with {metal}_pct, their sum")
            if abs(pre + post - whole) > 0.02:  # three figures each rounded to 0.01 % (the ledger's)
                raise ValueError(f"{metal}_pre_consumer_pct ({pre}) + {metal}_post_consumer_pct ({post}) = "
                                 f"{pre + post:g} differs from {metal}_pct ({whole}); the split must add up to the share")
        return self


RECYCLED_METALS = ("cobalt", "lithium", "nickel", "lead")


class SparePart(_Strict):
    """Annex XIII 2(b): part numbers of components and the contact details of the sources for spare parts
    (postal address, e-mail address, web address)."""

    part_number: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    supplier_name: str | None = Field(None, max_length=200)
    supplier_contact: str | None = Field(None, max_length=300, description="one contact as free text (older "
                                         "passports); supplier_email / supplier_web_url hold them typed")
    supplier_address: AddressLine | None = None
    supplier_email: Email | None = None
    supplier_web_url: Url | None = None


class DismantlingInformation(_Strict):
    manual_url: Url | None = None
    steps: list[str] = Field(default_factory=list, max_length=200)
    tools: list[str] = Field(default_factory=list, max_length=100)
    fastener_types: list[str] = Field(default_factory=list, max_length=50)


class DetailedComposition(_Strict):
    """Annex XIII 2(a): materials used in the cathode, anode and electrolyte."""

    cathode: list[MaterialShare] = Field(default_factory=list, max_length=100)
    anode: list[MaterialShare] = Field(default_factory=list, max_length=100)
    electrolyte: list[MaterialShare] = Field(default_factory=list, max_length=100)
    other: list[MaterialShare] = Field(default_factory=list, max_length=100)


class PowerAtStateOfCharge(_Strict):
    """A power capability at a state of charge (Annex IV Part B(4): at 80 % and 20 % SoC)."""

    state_of_charge_pct: Percent
    power_w: PositiveFloat


class LabelSubject(StrEnum):
    """What a label on the battery is about (Art. 13, Annex VI)."""

    SEPARATE_COLLECTION = "separate_collection"
    HAZARDOUS_SUBSTANCE = "hazardous_substance"
    CARBON_FOOTPRINT = "carbon_footprint"
    EXTINGUISHING_AGENT = "extinguishing_agent"
    CE_MARKING = "ce_marking"
    CHEMISTRY = "chemistry"
    OTHER = "other"


class LabelSymbol(_Strict):
    """The symbol of one of the model's labels (Annex XIII 1: labels and symbols): which label, its subject, and a
    link to the symbol's image."""

    label: str = Field(min_length=1, max_length=300, description="the label's text, as in labels")
    subject: LabelSubject
    symbol_url: Url


def _unique_socs(points: list[PowerAtStateOfCharge], name: str) -> None:
    socs = [p.state_of_charge_pct for p in points]
    if len(set(socs)) != len(socs):
        raise ValueError(f"{name}: a state of charge is given twice ({sorted(socs)}); give one power per state of charge")


class TestReport(_Strict):
    __test__ = False  # not a pytest test class

    title: str = Field(min_length=1, max_length=300)
    standard: str | None = Field(None, max_length=200)
    issuer: str | None = Field(None, max_length=200)
    issued_on: date | None = None
    url: Url | None = None


class BatteryModelData(_Strict):
    """Per-model passport data (Annex XIII 1–3)."""

    model_id: str = tiered(P, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
    manufacturer_id: ParticipantId = tiered(P)
    manufacturer_name: str = tiered(P, min_length=1, max_length=200)
    manufacturer_address: str | None = tiered(P, None, max_length=500)
    model_name: str = tiered(P, min_length=1, max_length=200)
    category: BatteryCategory = tiered(P)
    vehicle_category: str | None = tiered(P, None, pattern=r"^(M1|N1|M2|M3|N2|N3|L)$",
                                          description="EU vehicle category the battery is made for (Annex II cycles)")
    chemistry: Chemistry = tiered(P)
    mass_kg: PositiveFloat = tiered(P, le=MAX_MASS_KG)
    rated_capacity_ah: PositiveFloat = tiered(P)
    rated_energy_kwh: PositiveFloat | None = tiered(P, None)
    nominal_voltage_v: PositiveFloat = tiered(P)
    min_voltage_v: PositiveFloat = tiered(P)
    max_voltage_v: PositiveFloat = tiered(P)
    cells_in_series: int | None = tiered(P, None, gt=0, le=10_000,
                                         description="cells (or parallel groups) in series in the pack")
    cells_in_parallel: int | None = tiered(P, None, gt=0, le=1_000,
                                           description="cells in parallel in each series group; a cell's rated "
                                                       "capacity is the pack's divided by it")
    original_power_capability_w: PositiveFloat | None = tiered(P, None)
    original_power_capability_at_soc: list[PowerAtStateOfCharge] = tiered(
        P, default_factory=list, max_length=20, description="Annex IV Part B(4): pre-use power capability at a state "
                                                             "of charge (80 % and 20 %)")
    power_energy_ratio_per_h: PositiveFloat | None = tiered(
        P, None, le=100, description="ratio of the nominal allowed power (W) to the energy (Wh), Annex IV Part A(2): "
                                     "the nominal C-rate, per hour")
    max_permitted_power_w: PositiveFloat | None = tiered(P, None)
    expected_lifetime_cycles: int | None = tiered(P, None, gt=0)
    cycle_life_test_reference: str | None = tiered(P, None, max_length=300)
    cycle_life_test_url: Url | None = tiered(P, None, description="link to the cycle-life test (report) used")
    cycle_life_c_rate: PositiveFloat | None = tiered(P, None)
    capacity_threshold_exhaustion_pct: Percent | None = tiered(P, None)
    idle_temperature_lower_c: float | None = tiered(P, None, ge=-100, le=150)
    idle_temperature_upper_c: float | None = tiered(P, None, ge=-100, le=150)
    warranty_years: float | None = tiered(P, None, gt=0, le=50)
    warranty_km: float | None = tiered(P, None, gt=0)
    # Annex XIII 4(a) via Annex IV Part A: performance and durability values, legitimate interest
    expected_lifetime_years: int | None = tiered(LI, None, gt=0, le=100, description="expected lifetime in calendar "
                                                 "years under the reference conditions it is designed for (Annex IV A(5))")
    initial_self_discharge_pct_per_month: Percent | None = tiered(LI, None, description="pre-use self-discharge rate "
                                                                  "in reference conditions (Annex IV Part A)")
    initial_round_trip_efficiency_pct: Percent | None = tiered(P, None)
    round_trip_efficiency_at_50pct_cycle_life_pct: Percent | None = tiered(P, None)
    internal_resistance_cell_mohm: PositiveFloat | None = tiered(P, None)
    internal_resistance_pack_mohm: PositiveFloat | None = tiered(P, None)
    extinguishing_agent: list[str] = tiered(P, default_factory=list, max_length=20)
    material_composition: MaterialComposition | None = tiered(P, None)
    hazardous_substances: list[HazardousSubstance] = tiered(P, default_factory=list, max_length=200)
    critical_raw_materials: list[str] = tiered(P, default_factory=list, max_length=50)
    carbon_footprint: CarbonFootprint | None = tiered(P, None)
    due_diligence_report_url: Url | None = tiered(P, None)
    recycled_content: RecycledContent | None = tiered(P, None)
    renewable_content_pct: Percent | None = tiered(P, None)
    labels: list[str] = tiered(P, default_factory=list, max_length=50)
    label_symbols: list[LabelSymbol] = tiered(P, default_factory=list, max_length=50)
    collection_information: str | None = tiered(P, None, max_length=2000)
    # Annex XIII 1 with Art. 60(1)(a)-(c): prevention and management of waste batteries, as links
    waste_prevention_url: Url | None = tiered(P, None, description="the end user's role in preventing waste batteries")
    separate_collection_url: Url | None = tiered(P, None, description="the end user's role in separate collection")
    collection_information_url: Url | None = tiered(P, None, description="the collection points and take-back offer")
    declaration_of_conformity_url: Url | None = tiered(P, None)
    # Annex XIII 2: persons with a legitimate interest and the Commission
    detailed_composition: DetailedComposition | None = tiered(LI, None)
    spare_parts: list[SparePart] = tiered(LI, default_factory=list, max_length=500)
    dismantling_information: DismantlingInformation | None = tiered(LI, None)
    safety_measures: list[str] = tiered(LI, default_factory=list, max_length=100)
    safety_instructions_url: Url | None = tiered(LI, None, description="link to the safety instructions")
    # Annex XIII 3: notified bodies, market surveillance authorities and the Commission
    test_reports: list[TestReport] = tiered(AU, default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> BatteryModelData:
        if not (self.min_voltage_v <= self.nominal_voltage_v <= self.max_voltage_v):
            raise ValueError(
                f"voltages out of order: need min_voltage_v ({self.min_voltage_v}) <= nominal_voltage_v "
                f"({self.nominal_voltage_v}) <= max_voltage_v ({self.max_voltage_v})"
            )
        lo, hi = self.idle_temperature_lower_c, self.idle_temperature_upper_c
        if lo is not None and hi is not None and not lo < hi:
            raise ValueError(
                f"idle_temperature_lower_c ({lo}) must be lower than idle_temperature_upper_c ({hi})"
            )
        _unique_socs(self.original_power_capability_at_soc, "original_power_capability_at_soc")
        known = set(self.labels)
        seen: set[str] = set()
        for s in self.label_symbols:
            if s.label not in known:
                raise ValueError(f"label_symbols: {s.label!r} is none of the labels ({', '.join(map(repr, self.labels))})"
                                 "; a symbol belongs to a label the model lists")
            if s.label in seen:
                raise ValueError(f"label_symbols: label {s.label!r} has two symbols; give one")
            seen.add(s.label)
        return self


# -------------------------------------------------------------------------------------- per battery


class StateOfHealth(_Strict):
    """Annex VII Part A: parameters determining the state of health."""

    soh_capacity_pct: Percent | None = None
    remaining_capacity_ah: float | None = Field(None, ge=0)
    remaining_energy_kwh: float | None = Field(None, ge=0)
    state_of_certified_energy_pct: Percent | None = None
    remaining_power_capability_pct: Percent | None = None
    remaining_round_trip_efficiency_pct: Percent | None = None
    self_discharge_pct_per_month: Percent | None = None
    ohmic_resistance_increase_pct: float | None = Field(None, ge=-100, le=10_000)
    remaining_power_capability_at_soc: list[PowerAtStateOfCharge] = Field(
        default_factory=list, max_length=20, description="Annex VII A(2): remaining power capability at a state of "
                                                         "charge (the same states as the model's original)")
    measured_at: datetime | None = None

    @model_validator(mode="after")
    def _one_power_per_soc(self) -> StateOfHealth:
        _unique_socs(self.remaining_power_capability_at_soc, "remaining_power_capability_at_soc")
        return self


class NegativeEvent(_Strict):
    occurred_at: datetime
    kind: str = Field(min_length=1, max_length=100, description="accident, deep discharge, thermal event…")
    description: str | None = Field(None, max_length=2000)


class UsageData(_Strict):
    """Annex VII Part B and Annex XIII 4: usage data."""

    full_equivalent_cycles: float | None = Field(None, ge=0)
    energy_throughput_kwh: float | None = Field(None, ge=0)
    capacity_throughput_ah: float | None = Field(None, ge=0)
    time_above_extreme_temperature_h: float | None = Field(None, ge=0)
    time_below_extreme_temperature_h: float | None = Field(None, ge=0)
    time_above_extreme_temperature_charging_h: float | None = Field(
        None, ge=0, description="of time_above_extreme_temperature_h, the hours spent charging")
    time_below_extreme_temperature_charging_h: float | None = Field(
        None, ge=0, description="of time_below_extreme_temperature_h, the hours spent charging")
    deep_discharge_events: int | None = Field(None, ge=0)
    min_operating_temperature_c: float | None = Field(None, ge=-100, le=150)
    max_operating_temperature_c: float | None = Field(None, ge=-100, le=150)
    state_of_charge_pct: Percent | None = None
    negative_events: list[NegativeEvent] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _charging_within_total(self) -> UsageData:
        for side in ("above", "below"):
            part = getattr(self, f"time_{side}_extreme_temperature_charging_h")
            whole = getattr(self, f"time_{side}_extreme_temperature_h")
            if part is not None and (whole is None or part > whole + 1e-9):
                raise ValueError(f"time_{side}_extreme_temperature_charging_h ({part}) is part of "
                                 f"time_{side}_extreme_temperature_h ({whole}): give the whole, at least as large")
        return self


class BatteryData(_Strict):
    """Per-battery passport data."""

    passport_id: str | None = tiered(P, None, description="the unique identifier; assigned when absent")
    serial_number: str = tiered(P, min_length=1, max_length=40, pattern=r"^[A-Z0-9\-]+$")
    model_id: str = tiered(P, min_length=1, max_length=100)
    economic_operator_id: ParticipantId = tiered(P)
    economic_operator_name: str | None = tiered(P, None, min_length=1, max_length=200)
    economic_operator_address: AddressLine | None = tiered(P, None)
    manufacture_date: date = tiered(P)
    manufacture_country: CountryCode = tiered(P)
    manufacture_site: str | None = tiered(P, None, max_length=300)
    manufacture_postal_code: PostalCode | None = tiered(P, None, description="postal code of the manufacturing site")
    mass_kg: PositiveFloat | None = tiered(P, None, le=MAX_MASS_KG,
                                           description="measured mass if it differs from the model's")
    status: BatteryStatus = tiered(LI, BatteryStatus.ORIGINAL)
    putting_into_service_date: date | None = tiered(LI, None)
    state_of_health: StateOfHealth | None = tiered(LI, None)
    usage: UsageData | None = tiered(LI, None)
    owner_id: ParticipantId | None = tiered(OP, None)
    predecessor_ids: list[str] = tiered(P, default_factory=list, description="passports this one replaces")
    successor_id: str | None = tiered(P, None, description="passport that replaced this one")
    recycled_content: RecycledContent | None = tiered(
        P, None, description="Art. 8 recycled content of this battery's model, plant and year of manufacture, "
                             "from the ledger's balance (trace apply-recycled-content); when present it is the "
                             "figure for this battery, the model's is a declaration for the model as a whole")

    @model_validator(mode="after")
    def _dates_in_order(self) -> BatteryData:
        today = datetime.now(UTC).date()
        if self.manufacture_date > today:
            raise ValueError(f"manufacture_date {self.manufacture_date} is in the future (today is {today})")
        pis = self.putting_into_service_date
        if pis is not None:
            if pis < self.manufacture_date:
                raise ValueError(
                    f"putting_into_service_date {pis} is before manufacture_date {self.manufacture_date}"
                )
            if pis > today:
                raise ValueError(f"putting_into_service_date {pis} is in the future (today is {today})")
        u = self.usage
        if u and u.min_operating_temperature_c is not None and u.max_operating_temperature_c is not None:
            if u.min_operating_temperature_c > u.max_operating_temperature_c:
                raise ValueError("usage.min_operating_temperature_c is above usage.max_operating_temperature_c")
        return self
