"""Compliance with Regulation (EU) 2023/1542: recycled content (Art. 8), recycling efficiency and
material recovery (Annex XII), carbon footprint and class (Art. 7) — per battery model, plant and year.

Recycled content is the share of each metal (Co, Li, Ni, Pb) in the active materials that was recovered
from manufacturing or post-consumer waste. The Commission's calculation method is not adopted yet, so
the allocation rule is a setting:

- ``physical_segregation``: only recycled metal physically traced into this model's cells counts
  (``recycled_physical_kg``);
- ``mass_balance``: the plant's recycled input is allocated to its models — in proportion to each
  model's metal mass, or as explicitly allocated (``allocated_recycled_kg``), never more than the plant
  received and never more than the model's own metal.

Targets apply per date (the first day they apply): a check names the target and its date, or says none
applies yet. Re-used, repurposed and remanufactured batteries are exempt (Art. 8(4)).

Recycling efficiency and material recovery (Annex XII) bind the recycling process (Art. 71), not the
battery model: a model's report checks each process it could be sent to, and says which processes meet
the targets and, for each that does not, which fractions it loses. The report passes overall when every
recycled-content check in force passes and at least one process meets every Annex XII target in force
(the model can be recycled in compliance by sending it there); ``recycling_passed_by_process`` gives the
verdict of each process.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..reference import References, ReferenceValue, Tracker
from .errors import CircularInputError
from .footprint import CarbonFootprintResult
from .recycling import ANNEX_XII_METALS, RecyclingResult

AllocationRule = Literal["mass_balance", "physical_segregation"]
ALLOCATION_RULES: tuple[AllocationRule, ...] = ("mass_balance", "physical_segregation")
RC_METALS = ("Co", "Li", "Ni", "Pb")
EXEMPT_STATUSES = ("reused", "repurposed", "remanufactured")


class MetalInput(BaseModel):
    """One metal's mass in a model's active materials over the period, and where the recycled part came from."""

    model_config = ConfigDict(frozen=True)

    metal: Literal["Co", "Li", "Ni", "Pb"]
    active_material_kg: float = Field(gt=0)
    recycled_physical_kg: float = Field(0.0, ge=0)
    plant_active_material_kg: float | None = Field(None, gt=0)
    plant_recycled_kg: float | None = Field(None, ge=0)
    allocated_recycled_kg: float | None = Field(None, ge=0)


class TargetCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str  # e.g. "Art. 8(2)(a) recycled content Co"
    metric: str
    achieved_fraction: float
    target_fraction: float | None
    applies_from: str | None
    passed: bool | None  # None: no target applies yet
    explanation: str
    process: str | None = None  # the recycling process an Annex XII check is about


class RecycledContentReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    model_id: str
    plant: str
    year: int
    as_of: date
    allocation_rule: AllocationRule
    shares_fraction: dict[str, float]
    checks: list[TargetCheck]
    references: list[ReferenceValue]

    @property
    def passed(self) -> bool | None:
        verdicts = [c.passed for c in self.checks if c.passed is not None]
        return all(verdicts) if verdicts else None


def _target_for(t: Tracker, table: tuple[str, ...], as_of: date, key: str) -> tuple[float | None, str | None]:
    """The target in force on ``as_of`` for ``key``: the latest date ≤ as_of that sets it."""
    node = t.refs.set("eu_2023_1542").get(*table)
    best: tuple[float | None, str | None] = (None, None)
    for day in sorted(node):
        if date.fromisoformat(day) <= as_of and key in node[day]:
            best = (float(t.get("eu_2023_1542", *table, day, key)), day)
    return best


def recycled_content_share(line: MetalInput, rule: AllocationRule) -> tuple[float, str]:
    """The recycled share of one metal under ``rule``, with how it was computed."""
    if rule == "physical_segregation":
        if line.recycled_physical_kg > line.active_material_kg:
            raise CircularInputError(
                f"{line.metal}.recycled_physical_kg", line.recycled_physical_kg,
                f"exceeds the model's {line.metal} in active material ({line.active_material_kg} kg)",
            )
        return (
            line.recycled_physical_kg / line.active_material_kg,
            f"{line.recycled_physical_kg:g} kg traced recycled / {line.active_material_kg:g} kg",
        )
    if line.allocated_recycled_kg is not None:
        if line.plant_recycled_kg is not None and line.allocated_recycled_kg > line.plant_recycled_kg:
            raise CircularInputError(
                f"{line.metal}.allocated_recycled_kg", line.allocated_recycled_kg,
                f"exceeds the plant's recycled input ({line.plant_recycled_kg} kg): mass balance cannot allocate more than was received",
            )
        alloc = min(line.allocated_recycled_kg, line.active_material_kg)
        how = f"{alloc:g} kg allocated (mass balance) / {line.active_material_kg:g} kg"
    else:
        if line.plant_recycled_kg is None or line.plant_active_material_kg is None:
            raise CircularInputError(
                f"{line.metal}.plant_recycled_kg", line.plant_recycled_kg,
                "mass balance needs plant_recycled_kg and plant_active_material_kg (or allocated_recycled_kg)",
            )
        if line.plant_active_material_kg < line.active_material_kg:
            raise CircularInputError(
                f"{line.metal}.plant_active_material_kg", line.plant_active_material_kg,
                f"is less than this model's own {line.metal} ({line.active_material_kg} kg)",
            )
        if line.plant_recycled_kg > line.plant_active_material_kg:
            raise CircularInputError(
                f"{line.metal}.plant_recycled_kg", line.plant_recycled_kg,
                f"exceeds the plant's {line.metal} in active material ({line.plant_active_material_kg} kg)",
            )
        alloc = line.plant_recycled_kg * line.active_material_kg / line.plant_active_material_kg
        how = (
            f"plant share {line.plant_recycled_kg:g}/{line.plant_active_material_kg:g} kg allocated in proportion "
            f"(mass balance) = {alloc:g} kg / {line.active_material_kg:g} kg"
        )
    return alloc / line.active_material_kg, how


def check_recycled_content(
    model_id: str,
    plant: str,
    year: int,
    metals: Sequence[MetalInput],
    allocation_rule: str = "mass_balance",
    *,
    as_of: date | None = None,
    battery_status: str = "original",
    references: References | None = None,
) -> RecycledContentReport:
    """Recycled content per metal of a model at a plant over a year, against the Art. 8 targets in force.

    ``as_of`` is the day the targets are read for (default: 31 Dec of ``year``).
    """
    if allocation_rule not in ALLOCATION_RULES:
        raise CircularInputError("allocation_rule", allocation_rule, f"must be one of {', '.join(ALLOCATION_RULES)}")
    if not metals:
        raise CircularInputError("metals", [], "give at least one metal (Co, Li, Ni or Pb)")
    seen = [m.metal for m in metals]
    if len(set(seen)) != len(seen):
        raise CircularInputError("metals", seen, "each metal at most once")
    day = as_of or date(year, 12, 31)
    t = (references or References.default()).tracker()
    shares: dict[str, float] = {}
    checks: list[TargetCheck] = []
    for line in metals:
        share, how = recycled_content_share(line, allocation_rule)  # type: ignore[arg-type]
        shares[line.metal] = share
        if battery_status in EXEMPT_STATUSES:
            target, since = None, None
            expl = f"{how}; {battery_status} batteries are exempt (Art. 8(4))"
        else:
            target, since = _target_for(t, ("recycled_content_min_fraction",), day, line.metal)
            expl = how if target is not None else f"{how}; no Art. 8 minimum in force on {day.isoformat()}"
        checks.append(TargetCheck(
            rule=f"Art. 8 recycled content {line.metal}", metric=f"recycled_content_{line.metal}_fraction",
            achieved_fraction=share, target_fraction=target, applies_from=since,
            passed=None if target is None else share >= target - 1e-12, explanation=expl,
        ))
    return RecycledContentReport(
        model_id=model_id, plant=plant, year=year, as_of=day, allocation_rule=allocation_rule,  # type: ignore[arg-type]
        shares_fraction=shares, checks=checks, references=t.used(),
    )


def check_recycling_targets(
    result: RecyclingResult,
    as_of: date,
    battery_type: str = "lithium_based",
    references: References | None = None,
) -> list[TargetCheck]:
    """Recycling efficiency (Annex XII B) and material recovery (Annex XII C) of a process on ``as_of``."""
    t = (references or References.default()).tracker()
    eff_table = t.refs.set("eu_2023_1542").get("recycling_efficiency_min_fraction")
    if battery_type not in eff_table:
        raise CircularInputError("battery_type", battery_type, f"must be one of {', '.join(eff_table)}")
    checks = []
    target: float | None = None
    since: str | None = None
    for day in sorted(eff_table[battery_type]):
        if date.fromisoformat(day) <= as_of:
            target, since = float(t.get("eu_2023_1542", "recycling_efficiency_min_fraction", battery_type, day)), day
    eff = result.recycling_efficiency_fraction
    checks.append(TargetCheck(
        rule=f"Annex XII B recycling efficiency ({battery_type})", metric="recycling_efficiency_fraction",
        achieved_fraction=eff, target_fraction=target, applies_from=since,
        passed=None if target is None else eff >= target - 1e-12,
        explanation=result.efficiency_explanation()
        + ("" if target is not None else f"; no target in force on {as_of.isoformat()}"),
        process=result.process,
    ))
    for metal in ANNEX_XII_METALS:
        if metal not in result.material_recovery_fraction:
            continue
        achieved = result.material_recovery_fraction[metal]
        target, since = _target_for(t, ("material_recovery_min_fraction",), as_of, metal)
        checks.append(TargetCheck(
            rule=f"Annex XII C material recovery {metal}", metric=f"material_recovery_{metal}_fraction",
            achieved_fraction=achieved, target_fraction=target, applies_from=since,
            passed=None if target is None else achieved >= target - 1e-12,
            explanation=f"{result.process}: recovered / contained {metal}",
            process=result.process,
        ))
    return checks


#: the days each Annex XII target first applies
ANNEX_XII_DATES = (date(2025, 12, 31), date(2027, 12, 31), date(2030, 12, 31), date(2031, 12, 31))


class ComplianceReport(BaseModel):
    """One model, plant and year: every check, with the reference values and allocation rule it used."""

    model_config = ConfigDict(frozen=True)

    model_id: str
    plant: str
    year: int
    allocation_rule: AllocationRule | None
    recycled_content: RecycledContentReport | None
    recycling_checks: list[TargetCheck]
    carbon_footprint_kgco2e_per_kwh: float | None
    carbon_footprint_class: str | None
    carbon_footprint_stages_kgco2e_per_kwh: dict[str, float] | None
    references: list[ReferenceValue]

    @property
    def checks(self) -> list[TargetCheck]:
        return [*(self.recycled_content.checks if self.recycled_content else []), *self.recycling_checks]

    @property
    def recycling_passed_by_process(self) -> dict[str, bool | None]:
        """Each process's Annex XII verdict: True if it meets every target in force, None if none is."""
        out: dict[str, bool | None] = {}
        for c in self.recycling_checks:
            key = c.process or ""
            if c.passed is None:
                out.setdefault(key, None)
            else:
                out[key] = c.passed and out.get(key) is not False
        return out

    @property
    def passed(self) -> bool | None:
        """Every recycled-content check in force passes and at least one process meets Annex XII (see the
        module docstring); None when no target is in force."""
        verdicts = [c.passed for c in (self.recycled_content.checks if self.recycled_content else [])
                    if c.passed is not None]
        by_process = [v for v in self.recycling_passed_by_process.values() if v is not None]
        if by_process:
            verdicts.append(any(by_process))
        return all(verdicts) if verdicts else None

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def to_csv(self) -> str:
        """One row per check (and one for the carbon footprint)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["model_id", "plant", "year", "rule", "metric", "achieved", "target", "applies_from", "passed",
                    "allocation_rule", "explanation"])
        for c in self.checks:
            w.writerow([self.model_id, self.plant, self.year, c.rule, c.metric, f"{c.achieved_fraction:.6g}",
                        "" if c.target_fraction is None else f"{c.target_fraction:.6g}", c.applies_from or "",
                        "" if c.passed is None else str(c.passed).lower(), self.allocation_rule or "", c.explanation])
        if self.carbon_footprint_kgco2e_per_kwh is not None:
            w.writerow([self.model_id, self.plant, self.year, "Art. 7 carbon footprint", "kgco2e_per_kwh",
                        f"{self.carbon_footprint_kgco2e_per_kwh:.6g}", "", "", "", "",
                        f"performance class {self.carbon_footprint_class or 'n/a'}"])
        return buf.getvalue()


def compliance_report(
    model_id: str,
    plant: str,
    year: int,
    *,
    metals: Sequence[MetalInput] = (),
    allocation_rule: str = "mass_balance",
    recycling: Sequence[RecyclingResult] = (),
    footprint: CarbonFootprintResult | None = None,
    battery_status: str = "original",
    references: References | None = None,
) -> ComplianceReport:
    """The compliance report of a model, plant and year (targets read on 31 Dec of ``year``)."""
    refs = references or References.default()
    rc = (
        check_recycled_content(model_id, plant, year, metals, allocation_rule, battery_status=battery_status,
                               references=refs)
        if metals else None
    )
    rchecks: list[TargetCheck] = []
    for r in recycling:
        rchecks.extend(check_recycling_targets(r, date(year, 12, 31), references=refs))
    used: list[ReferenceValue] = [*(rc.references if rc else [])]
    used.extend(x for r in recycling for x in r.references)
    if footprint is not None:
        used.extend(footprint.references)
    uniq = {(u.set, u.key): u for u in used}
    return ComplianceReport(
        model_id=model_id, plant=plant, year=year,
        allocation_rule=allocation_rule if metals else None,  # type: ignore[arg-type]
        recycled_content=rc, recycling_checks=rchecks,
        carbon_footprint_kgco2e_per_kwh=None if footprint is None else footprint.total_kgco2e_per_kwh,
        carbon_footprint_class=None if footprint is None else footprint.performance_class,
        carbon_footprint_stages_kgco2e_per_kwh=None if footprint is None else footprint.stages_kgco2e_per_kwh,
        references=[uniq[k] for k in sorted(uniq)],
    )
