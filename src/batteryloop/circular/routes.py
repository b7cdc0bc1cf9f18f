"""Route decision for a retired pack: the net present value of each end-of-life route, ranked.

Routes: ``reuse`` (into another vehicle as is), ``remanufacture`` (weak cells replaced, back to a
vehicle), ``repurpose`` (stationary storage), and ``recycle_pyro`` / ``recycle_hydro`` /
``recycle_direct``. Values are the pack's value to the loop, in 2020-basis US dollars, from the moment
of the decision (C = capacity kWh, s = state of health, P = new-pack price $/kWh, r = discount rate,
R = the best recycling value of the pack, df(n) = (1 + r)^-n, a(n) = (1 - df(n)) / r):

- recycle_p  = material net value of process p (:mod:`.recycling`; revenue − process inputs; the gate
  fee is a transfer between owner and recycler and is left out), of the pack its passport declares: its
  cells from BatPaC at C in a pack of the declared mass (``pack_mass_kg``), the hardware the rest — the basis
  of the compliance report (:func:`.chemistry.declared_pack_composition`); BatPaC's pack mass only when no
  mass is declared, and the decision says which (``pack_mass_basis``); a declared mass below the cells' or above
  ``chemistry.max_pack_mass_kg_per_kwh()`` per kWh (25 by default, a sourced reference bound) is refused;
- reuse      = C·s·P·f_reuse − C·test_cost + df(n_reuse)·R,            if s ≥ reuse_min;
- remanufacture = C·s*·P·f_reman − C·labour − C·max(0, s* − s)·P·f_cell + df(n_reman)·R, if s ≥ reman_min
  (s* the target state of health after remanufacture);
- repurpose  = the second-life NPV of :mod:`.second_life` (one model with the storage hubs), if s ≥ repurpose_min:
  −C·repurposing − C·s·BOS + Σ_k df(t_k)·w_k·[C·s̄_k·cycles·2η/(1+η)·value − C·s·O&M] + df(n)·R, the
  state of health projected year by year under the duty (cycles a year, depth, temperature) by the
  second-life fade model until s_end = 60 % (``batteryloop_assumptions.second_life_end_soh_fraction``, a project
  assumption; n years, at most max_years = ``nrel_2015_second_use.second_use_years``, 10; or the health model's estimate,
  with a linear fall to s_end).

A safety flag or a grade that forbids a route makes it infeasible (a rejected pack is recycled); a pack
with no feasible route at all is an error that gives each route's reason, never a decision. The
recommendation lists every route's cash flows and assumptions, and its sensitivity: the state of health
and each price at which the recommendation flips. The same formulas run vectorised over a fleet in
:func:`decide_routes_batch`.

The route options are a registry (:mod:`.route_options`: each option's value, condition, explanation,
grades and label); this module compares whatever is registered. That module's docstring says how to
add a route.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..reference import References, ReferenceValue, Tracker
from . import route_options
from .chemistry import CHEMISTRIES, MassBasis, declared_pack_composition, parse_chemistry
from .errors import CircularInputError, require_fraction, require_positive
from .recycling import PROCESSES, recycle
from .route_options import CashFlow, Fleet, Pack
from .second_life import SecondLifeDegradation, SecondLifeDuty, SecondLifeValue

#: a route option's name (:func:`.route_options.names`: the registered ones)
Route = str
#: the built-in route options, in column order (the live list: :func:`.route_options.names`)
ROUTES: tuple[Route, ...] = route_options.names()
RECYCLE_ROUTES = route_options.recycling_names()

#: which routes each grade allows; the keys are :mod:`batteryloop.health.grading`'s grades (A: re-use or
#: demanding second life, B: second-life storage, C: low-demand second life after repair or derating,
#: recycle), plus "D" and "rejected" as synonyms of recycle. Override with ``grade_routes``. Built from
#: the ``grades`` of the built-in route options (:func:`.route_options.grade_routes` is the live table).
DEFAULT_GRADE_ROUTES: dict[str, tuple[str, ...]] = route_options.grade_routes()


class RouteEconomics(BaseModel):
    """The economic assumptions of the route decision, from the reference sets unless overridden."""

    # extra fields: the ``parameters`` of registered route options (.route_options)
    model_config = ConfigDict(frozen=True, extra="allow")

    new_pack_price_usd_per_kwh: float
    discount_rate_fraction: float
    reuse_min_soh_fraction: float
    reuse_price_fraction_of_new: float
    reuse_test_cost_usd_per_kwh: float
    reuse_years: float
    remanufacture_min_soh_fraction: float
    remanufacture_target_soh_fraction: float
    remanufacture_price_fraction_of_new: float
    remanufacture_labour_usd_per_kwh: float
    remanufacture_cell_cost_fraction_of_new: float
    remanufacture_years: float
    repurpose_min_soh_fraction: float
    repurpose_cost_usd_per_kwh: float
    repurpose_end_soh_fraction: float
    repurpose_max_years: float
    repurpose_cycles_per_year: float
    repurpose_dod_fraction: float
    repurpose_temperature_c: float
    repurpose_round_trip_efficiency_fraction: float
    repurpose_value_usd_per_kwh_delivered: float  # storage value per kWh discharged (the hub's dispatch, site tariff)
    repurpose_bos_usd_per_kwh: float  # balance of system per usable kWh
    repurpose_opex_usd_per_kwh_year: float  # O&M per usable kWh a year

    def second_life_duty(self) -> SecondLifeDuty:
        """The duty the repurpose route assumes (:mod:`.second_life`)."""
        return SecondLifeDuty(fec_per_year=self.repurpose_cycles_per_year, dod_fraction=self.repurpose_dod_fraction,
                              temperature_c=self.repurpose_temperature_c,
                              round_trip_efficiency_fraction=self.repurpose_round_trip_efficiency_fraction)

    def second_life_value(self) -> SecondLifeValue:
        """The value model the repurpose route assumes (:mod:`.second_life`)."""
        return SecondLifeValue(value_usd_per_kwh_discharged=self.repurpose_value_usd_per_kwh_delivered,
                               repurposing_usd_per_kwh=self.repurpose_cost_usd_per_kwh,
                               bos_usd_per_kwh=self.repurpose_bos_usd_per_kwh,
                               om_usd_per_kwh_year=self.repurpose_opex_usd_per_kwh_year,
                               discount_rate_fraction=self.discount_rate_fraction)

    @classmethod
    def from_references(
        cls, references: References | None = None, tracker: Tracker | None = None, **overrides: float
    ) -> RouteEconomics:
        """Defaults: ``batteryloop_assumptions.route``, new-pack price from ``second_life_literature``, the end of
        second life (``batteryloop_assumptions.second_life_end_soh_fraction``, a project assumption) and the longest
        second life (``nrel_2015_second_use.second_use_years``); repurposing cost (mid-point of Lieskoski et al., 27.2–38.3 EUR/kWh at the
        ECB 2024 rate), balance of system and O&M from :meth:`.second_life.SecondLifeValue.capital_usd_per_kwh`
        (the figures the hubs use). Keyword arguments replace any field."""
        t = tracker or (references or References.default()).tracker()
        route = t.table("batteryloop_assumptions", "route")
        capital = SecondLifeValue.capital_usd_per_kwh(t)
        values: dict[str, float] = {
            "new_pack_price_usd_per_kwh": float(t.get("second_life_literature", "new_pack_price_usd_per_kwh")),
            "repurpose_end_soh_fraction": float(t.get("batteryloop_assumptions", "second_life_end_soh_fraction")),
            "repurpose_max_years": float(t.get("nrel_2015_second_use", "second_use_years")),
            "repurpose_cost_usd_per_kwh": capital["repurposing"],
            "repurpose_bos_usd_per_kwh": capital["bos"],
            "repurpose_opex_usd_per_kwh_year": capital["om_per_year"],
        }
        for k, v in route.items():
            values[k] = float(v)
        extra = route_options.parameters()
        for k, d in extra.items():
            values.setdefault(k, d)
        known = [*cls.model_fields, *(k for k in extra if k not in cls.model_fields)]
        unknown = set(overrides) - set(known)
        if unknown:
            raise CircularInputError(
                "economics." + sorted(unknown)[0], overrides[sorted(unknown)[0]],
                f"unknown economics field; known: {', '.join(known)}",
            )
        for k, v in overrides.items():
            if k.endswith("_fraction") or k.endswith("_fraction_of_new"):
                require_fraction(f"economics.{k}", v)
            elif not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise CircularInputError(f"economics.{k}", v, "must be a finite number, 0 or more")
            values[k] = float(v)
            t.record_input(f"economics.{k}", v)
        return cls(**{k: v for k, v in values.items() if k in known})


class RouteOption(BaseModel):
    model_config = ConfigDict(frozen=True)

    route: Route
    feasible: bool
    npv_usd: float | None
    reason: str  # why infeasible, or a one-line summary
    cash_flows: list[CashFlow]


class Sensitivity(BaseModel):
    model_config = ConfigDict(frozen=True)

    parameter: str
    current: float | None  # None: a price neither the references nor the caller give (not searched)
    flips_at: float | None  # None: no flip within the searched range
    new_best: Route | None  # None with ``flips_at`` set: beyond ``flips_at`` no route is possible
    searched: str


class RouteDecision(BaseModel):
    """The ranked routes of one pack, with every figure and assumption."""

    model_config = ConfigDict(frozen=True)

    chemistry: str
    capacity_kwh: float
    soh_fraction: float
    grade: str | None
    safety_flags: list[str]
    recommended: Route
    ranking: list[RouteOption]  # feasible first, by NPV descending
    economics: RouteEconomics
    recycle_value_usd_per_kwh: dict[str, float | None]
    sensitivity: list[Sensitivity]
    references: list[ReferenceValue]
    #: the pack mass the recycling values are of (kg), and where it came from: ``declared`` (the passport's
    #: mass_kg) or ``batpac`` (none declared: BatPaC's pack)
    pack_mass_kg: float | None = None
    pack_mass_basis: MassBasis = "batpac"

    def option(self, route: str) -> RouteOption:
        return next(o for o in self.ranking if o.route == route)


# ---------------------------------------------------------------------------------------------------
# the formulas, on arrays (shared by the single-pack and the fleet paths)


_df = route_options.discount
_annuity = route_options.annuity
_second_life_years = route_options.second_life_years


def _npv_matrix(
    soh: np.ndarray,
    cap: np.ndarray,
    recycle_per_kwh: np.ndarray,  # (n, 3): pyro, hydro, direct; NaN where not priced
    allowed: np.ndarray,  # (n, k) bool, one column per registered route
    e: RouteEconomics,
    second_life_years: np.ndarray | None = None,
    fade_ref: np.ndarray | None = None,  # (n,) second-life fade per cycle at the reference (by chemistry family)
    resistance_pct: np.ndarray | None = None,  # (n,) resistance increase, %
    degradation: SecondLifeDegradation | None = None,
) -> np.ndarray:
    """(n, k) NPVs of the k registered routes, NaN where infeasible. Computed route by route in
    contiguous rows, returned transposed."""
    rec = (recycle_per_kwh * cap[:, None]).T  # (3, n)
    best_rec = np.fmax(np.fmax(rec[0], rec[1]), rec[2])  # fmax ignores NaN
    best_rec = np.nan_to_num(best_rec, nan=0.0)
    deg = degradation or SecondLifeDegradation.from_references()
    fleet = Fleet(soh=soh, cap=cap, recycle_usd=dict(zip(PROCESSES, rec, strict=True)), best_recycle_usd=best_rec,
                  economics=e, second_life_years=second_life_years,
                  fade_ref=np.full(soh.shape, deg.fade_per_fec_at_ref["NMC"]) if fade_ref is None else fade_ref,
                  resistance_pct=np.zeros(soh.shape) if resistance_pct is None else resistance_pct, degradation=deg)
    specs = route_options.specs()
    out = np.empty((len(specs), soh.shape[0]))
    infeasible = ~allowed.T
    for j, spec in enumerate(specs):
        out[j] = spec.npv(fleet)
        if spec.condition is not None:
            infeasible[j] |= ~np.asarray(spec.condition(fleet), dtype=bool)
    out[infeasible] = np.nan
    return out.T


# ---------------------------------------------------------------------------------------------------
# inputs


def recycle_value_usd_per_kwh(
    chemistry: str,
    references: References | None = None,
    prices_usd_per_kg: Mapping[str, float] | None = None,
    tracker: Tracker | None = None,
    *,
    pack_mass_kg_per_kwh: float | None = None,
) -> dict[str, float | None]:
    """Material net value of recycling one kWh of packs, per process; None where a price is missing. The packs
    weigh ``pack_mass_kg_per_kwh`` (a declared pack mass over its rated energy) or, when None, BatPaC's pack
    mass (:func:`.chemistry.declared_pack_composition`, the compliance report's basis)."""
    refs = references or References.default()
    comp, _ = declared_pack_composition(chemistry, 1.0, pack_mass_kg_per_kwh, refs, field="pack_mass_kg_per_kwh")
    out: dict[str, float | None] = {}
    for p in PROCESSES:
        try:
            res = recycle(comp, p, prices_usd_per_kg=prices_usd_per_kg, references=refs)
        except CircularInputError as exc:
            if not exc.field.startswith("prices_usd_per_kg."):
                raise
            out[f"recycle_{p}"] = None
            continue
        out[f"recycle_{p}"] = res.material_net_value_usd
        if tracker is not None:
            tracker.merge(res.references)
    return out


def _allowed_routes(grade: str | None, safety_flags: Sequence[str], grade_routes: Mapping[str, Sequence[str]]) -> list[bool]:
    routes = route_options.names()
    if safety_flags:
        allowed = set(route_options.recycling_names())
    elif grade is None:
        allowed = set(routes)
    else:
        if grade not in grade_routes:
            raise CircularInputError("grade", grade, f"unknown grade; known: {', '.join(grade_routes)}")
        allowed = set(grade_routes[grade])
    return [r in allowed for r in routes]


def _no_route(chem: str, soh: float, allowed: Sequence[bool], priced: Mapping[str, bool], why_not_allowed: str) -> tuple[str, str]:
    """Why a pack has no feasible route: the input at fault (the prices if a recycling route lacks one, else
    the state of health if a route is not possible at it, else the grade) and each registered route's
    reason, grouped (unpriced recycling, not possible at this state of health, not allowed)."""
    unpriced, impossible, forbidden = [], [], []
    for spec, ok in zip(route_options.specs(), allowed, strict=True):
        if not ok:
            forbidden.append(spec.name)
        elif spec.process is not None and not priced[spec.process]:
            unpriced.append(spec.name)
        else:
            impossible.append(spec.name)
    parts = []
    if unpriced:
        parts.append(f"no price for a material that {', '.join(unpriced)} recover{'s' if len(unpriced) == 1 else ''} from {chem}")
    if impossible:
        parts.append(f"{', '.join(impossible)} not possible at SoH {soh:.2f}")
    if forbidden:
        parts.append(f"{', '.join(forbidden)} not allowed ({why_not_allowed})")
    field = "prices_usd_per_kg" if unpriced else "soh_fraction" if impossible else "grade"
    return field, "no feasible route: " + "; ".join(parts)


def _validate_pack(soh: float, capacity_kwh: float) -> tuple[float, float]:
    return require_fraction("soh_fraction", soh), require_positive("capacity_kwh", capacity_kwh)


# ---------------------------------------------------------------------------------------------------
# one pack


def decide_route(
    chemistry: str,
    capacity_kwh: float,
    soh_fraction: float,
    *,
    grade: str | None = None,
    safety_flags: Sequence[str] = (),
    second_life_years: float | None = None,
    resistance_increase_pct: float = 0.0,
    prices_usd_per_kg: Mapping[str, float] | None = None,
    economics: Mapping[str, float] | None = None,
    grade_routes: Mapping[str, Sequence[str]] | None = None,
    sensitivity: bool = True,
    pack_mass_kg: float | None = None,
    references: References | None = None,
) -> RouteDecision:
    """Rank the routes of one retired pack by NPV, explain each, and find where the choice flips.

    ``economics`` replaces any :class:`RouteEconomics` field (e.g. ``{"discount_rate_fraction": 0.05}``);
    ``second_life_years`` replaces the second-life projection (e.g. from the health package's lifetime
    model); ``resistance_increase_pct`` (the passport's) steepens the second-life fade (:mod:`.second_life`);
    ``pack_mass_kg``: the pack mass its passport declares (the recycling values are of that pack; None: BatPaC's).
    """
    chem = parse_chemistry(chemistry)
    soh, cap = _validate_pack(soh_fraction, capacity_kwh)
    if second_life_years is not None:
        require_positive("second_life_years", second_life_years)
    refs = references or References.default()
    t = refs.tracker()
    if not (isinstance(resistance_increase_pct, (int, float)) and math.isfinite(resistance_increase_pct)
            and resistance_increase_pct >= 0):
        raise CircularInputError("resistance_increase_pct", resistance_increase_pct, "must be a finite number, 0 or more")
    econ = RouteEconomics.from_references(refs, t, **dict(economics or {}))
    deg = SecondLifeDegradation.from_references(refs, t)
    f_ref = deg.fade_ref(chem)
    mass_comp, mass_basis = declared_pack_composition(chem, cap, pack_mass_kg, refs)  # checks the mass
    mass_per_kwh = mass_comp.pack_mass_kg / cap
    rec = recycle_value_usd_per_kwh(chem, refs, prices_usd_per_kg, t, pack_mass_kg_per_kwh=mass_per_kwh)
    gr = grade_routes or route_options.grade_routes()
    allowed = _allowed_routes(grade, list(safety_flags), gr)

    def evaluate(s: float, e: RouteEconomics, rec_vals: Mapping[str, float | None]) -> np.ndarray:
        rec_arr = np.array([[np.nan if rec_vals[f"recycle_{p}"] is None else rec_vals[f"recycle_{p}"] for p in PROCESSES]])
        sl = None if second_life_years is None else np.array([second_life_years])
        return _npv_matrix(np.array([s]), np.array([cap]), rec_arr, np.array([allowed]), e, sl,
                           np.array([f_ref]), np.array([float(resistance_increase_pct)]), deg)[0]

    npv = evaluate(soh, econ, rec)
    if np.all(np.isnan(npv)):
        why = f"safety flags {list(safety_flags)}" if safety_flags else f"grade {grade}"
        field, reason = _no_route(chem, soh, allowed, {p: rec[f"recycle_{p}"] is not None for p in PROCESSES}, why)
        given = {"prices_usd_per_kg": dict(prices_usd_per_kg or {}), "soh_fraction": soh, "grade": grade}
        raise CircularInputError(field, given[field], reason)
    routes = route_options.names()
    best = routes[int(np.nanargmax(npv))]
    options = [_explain(route, npv[i], soh, cap, econ, rec, allowed[i], grade, safety_flags, second_life_years,
                        f_ref, float(resistance_increase_pct), deg)
               for i, route in enumerate(routes)]
    options.sort(key=lambda o: (not o.feasible, -(o.npv_usd or 0.0)))
    sens: list[Sensitivity] = []
    if sensitivity:
        sens = _sensitivity(chem, soh, econ, rec, best, evaluate, refs, prices_usd_per_kg, mass_per_kwh)
    return RouteDecision(
        chemistry=chem, capacity_kwh=cap, soh_fraction=soh, grade=grade, safety_flags=list(safety_flags),
        recommended=best, ranking=options, economics=econ, recycle_value_usd_per_kwh=rec,
        sensitivity=sens, references=t.used(), pack_mass_kg=mass_comp.pack_mass_kg, pack_mass_basis=mass_basis,
    )


def _explain(
    route: Route, npv: float, soh: float, cap: float, e: RouteEconomics, rec: Mapping[str, float | None],
    allowed: bool, grade: str | None, safety_flags: Sequence[str], sl_years: float | None,
    fade_ref: float, resistance_pct: float, degradation: SecondLifeDegradation,
) -> RouteOption:
    if not allowed:
        why = f"safety flags {list(safety_flags)}: recycle only" if safety_flags else f"grade {grade} does not allow {route}"
        return RouteOption(route=route, feasible=False, npv_usd=None, reason=why, cash_flows=[])
    spec = route_options.get(route)
    assert spec is not None  # decide_route explains the registered routes only
    flows, why = spec.explain(Pack(soh=soh, cap=cap, economics=e, recycle_usd_per_kwh=rec, second_life_years=sl_years,
                                   fade_ref=fade_ref, resistance_pct=resistance_pct, degradation=degradation))
    feasible = not math.isnan(npv)
    return RouteOption(route=route, feasible=feasible, npv_usd=None if not feasible else float(npv),
                       reason=why, cash_flows=flows if feasible else [])


def _find_flip(best_at: Any, x0: float, lo: float, hi: float, current_best: Route, steps: int = 60) -> tuple[float | None, Route | None]:
    """The x nearest x0 in [lo, hi] where ``best_at(x)`` stops being ``current_best`` (grid + bisection);
    ``best_at`` gives None where no route is possible, and the flip's route is then None."""
    grid = np.unique(np.concatenate([np.linspace(lo, hi, steps), [x0]]))
    below = [x for x in grid if x < x0][::-1]
    above = [x for x in grid if x > x0]
    candidates: list[tuple[float, float, Route]] = []
    for side in (below, above):
        prev = x0
        for x in side:
            b = best_at(x)
            if b != current_best:
                a, c = prev, x  # a: still current, c: flipped
                for _ in range(50):
                    m = (a + c) / 2
                    if best_at(m) == current_best:
                        a = m
                    else:
                        c = m
                candidates.append((abs(c - x0), c, best_at(c)))
                break
            prev = x
    if not candidates:
        return None, None
    _, x, route = min(candidates)
    return float(x), route


def _sensitivity(
    chem: str, soh: float, econ: RouteEconomics, rec: Mapping[str, float | None], best: Route,
    evaluate: Any, refs: References, prices: Mapping[str, float] | None, mass_per_kwh: float | None = None,
) -> list[Sensitivity]:
    routes = route_options.names()

    def best_of(v: np.ndarray) -> Route | None:  # None: no route is possible there (a flip too)
        return routes[int(np.nanargmax(v))] if not np.all(np.isnan(v)) else None

    out: list[Sensitivity] = []
    x, nb = _find_flip(lambda s: best_of(evaluate(s, econ, rec)), soh, 0.0, 1.0, best, steps=101)
    out.append(Sensitivity(parameter="soh_fraction", current=soh, flips_at=x, new_best=nb, searched="0–1"))
    for field in ("new_pack_price_usd_per_kwh", "repurpose_value_usd_per_kwh_delivered"):
        x0 = getattr(econ, field)
        hi = max(1.0, x0 * 5)

        def at(x: float, f: str = field) -> Route | None:
            return best_of(evaluate(soh, econ.model_copy(update={f: x}), rec))

        x, nb = _find_flip(at, x0, 0.0, hi, best)
        out.append(Sensitivity(parameter=f"economics.{field}", current=x0, flips_at=x, new_best=nb, searched=f"0–{hi:g}"))
    # recycled-material prices: recycling values are linear in each price, so two evaluations give the slope
    base_prices = dict(refs.set("everbatt_2023").get("price_usd_per_kg"))
    base_prices.update(prices or {})
    comp_rec = {k: (np.nan if v is None else v) for k, v in rec.items()}
    for key in ("Li2CO3", "Co", "Ni"):
        if key not in base_prices:  # neither the references nor the caller price it: nothing to search from
            out.append(Sensitivity(parameter=f"prices_usd_per_kg.{key}", current=None, flips_at=None, new_best=None,
                                   searched=f"not searched: no price for {key}"))
            continue
        p0 = float(base_prices[key])
        bumped = recycle_value_usd_per_kwh(chem, refs, {**(prices or {}), key: p0 + 1.0}, pack_mass_kg_per_kwh=mass_per_kwh)
        slope = {k: (0.0 if bumped[k] is None or rec[k] is None else bumped[k] - rec[k]) for k in rec}

        def at_price(x: float, s: dict[str, float] = slope, base: float = p0) -> Route | None:
            vals = {k: (None if np.isnan(comp_rec[k]) else comp_rec[k] + s[k] * (x - base)) for k in rec}
            return best_of(evaluate(soh, econ, vals))

        hi = max(1.0, p0 * 10)
        x, nb = _find_flip(at_price, p0, 0.0, hi, best)
        out.append(Sensitivity(parameter=f"prices_usd_per_kg.{key}", current=p0, flips_at=x, new_best=nb, searched=f"0–{hi:g}"))
    return out


# ---------------------------------------------------------------------------------------------------
# a fleet, vectorised


class BatchDecision(BaseModel):
    """Route decisions of many packs: the best route index per pack and the NPV matrix (NaN: infeasible)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    routes: tuple[str, ...]
    best_index: Any  # np.ndarray[int]
    npv_usd: Any  # np.ndarray (n, k): one column per route in ``routes``
    economics: RouteEconomics
    references: list[ReferenceValue]
    #: (n,) the pack mass each pack's recycling values are of (kg) and (n,) its basis (``RouteDecision``'s)
    pack_mass_kg: Any = None
    pack_mass_basis: Any = None

    def best_routes(self) -> list[str]:
        return [self.routes[i] for i in self.best_index]

    def counts(self) -> dict[str, int]:
        idx, n = np.unique(self.best_index, return_counts=True)
        return {self.routes[int(i)]: int(c) for i, c in zip(idx, n)}


def decide_routes_batch(
    chemistry: Sequence[str] | np.ndarray,
    capacity_kwh: np.ndarray,
    soh_fraction: np.ndarray,
    *,
    grade: Sequence[str | None] | np.ndarray | None = None,
    safety_flagged: np.ndarray | None = None,
    second_life_years: np.ndarray | None = None,
    resistance_increase_pct: np.ndarray | None = None,
    prices_usd_per_kg: Mapping[str, float] | None = None,
    economics: Mapping[str, float] | None = None,
    grade_routes: Mapping[str, Sequence[str]] | None = None,
    chemistry_index: np.ndarray | None = None,
    grade_index: np.ndarray | None = None,
    pack_mass_kg: np.ndarray | None = None,
    references: References | None = None,
) -> BatchDecision:
    """The same decision as :func:`decide_route` for a whole fleet at once (no explanations).

    Categorical columns may come encoded, as in a Parquet/Arrow dictionary column: with
    ``chemistry_index``, ``chemistry`` is the list of distinct names and ``chemistry_index[i]`` the
    position of pack i's chemistry in it (likewise ``grade`` and ``grade_index``; -1: no grade).

    A pack with no possible route (say, references that price no recovered material and a safety flag) gets
    no made-up decision: the batch raises :class:`CircularInputError` naming the first such pack, how many
    there are and why each route is not possible, as :func:`decide_route` does for one pack.

    ``pack_mass_kg``: each pack's declared mass (NaN: none declared), as :func:`decide_route`'s; the recycling
    values are computed once per chemistry and mass per kWh.
    """
    soh = np.asarray(soh_fraction, dtype=float)
    cap = np.asarray(capacity_kwh, dtype=float)
    n = soh.shape[0]
    if cap.shape != (n,):
        raise CircularInputError("capacity_kwh", f"shape {cap.shape}", f"must have one value per pack ({n})")
    bad = ~np.isfinite(soh) | (soh < 0) | (soh > 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise CircularInputError(f"soh_fraction[{i}]", float(soh[i]), "must be a fraction between 0 and 1")
    bad = ~np.isfinite(cap) | (cap <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise CircularInputError(f"capacity_kwh[{i}]", float(cap[i]), "must be a finite number greater than 0")
    refs = references or References.default()
    t = refs.tracker()
    econ = RouteEconomics.from_references(refs, t, **dict(economics or {}))
    deg = SecondLifeDegradation.from_references(refs, t)
    res = np.zeros(n) if resistance_increase_pct is None else np.asarray(resistance_increase_pct, dtype=float)
    if res.shape != (n,) or not np.all(np.isfinite(res)) or np.any(res < 0):
        raise CircularInputError("resistance_increase_pct", f"shape {res.shape}", f"one finite value, 0 or more, per pack ({n})")
    if chemistry_index is None:
        names, codes = np.unique(np.asarray(chemistry), return_inverse=True)
    else:
        names, codes = np.asarray(chemistry), np.asarray(chemistry_index)
        if codes.shape != (n,) or codes.min() < 0 or codes.max() >= len(names):
            raise CircularInputError("chemistry_index", f"shape {codes.shape}", f"one index per pack ({n}), each in 0..{len(names) - 1}")
    declared = np.full(n, np.nan) if pack_mass_kg is None else np.asarray(pack_mass_kg, dtype=float)
    if declared.shape != (n,):
        raise CircularInputError("pack_mass_kg", f"shape {declared.shape}", f"must have one mass (or NaN) per pack ({n})")
    bad = np.isinf(declared) | (declared <= 0)  # NaN: none declared (BatPaC's pack)
    if bad.any():
        i = int(np.argmax(bad))
        raise CircularInputError(f"pack_mass_kg[{i}]", float(declared[i]),
                                 "must be a finite number greater than 0 (NaN: none declared)")
    fade_table = np.empty(len(names))
    chems = []
    for j, name in enumerate(names):
        chems.append(parse_chemistry(str(name), f"chemistry ({str(name)!r})"))
        fade_table[j] = deg.fade_ref(chems[-1])
    # the recycling values per kWh of each (chemistry, declared kg per kWh) present: one basis with the
    # compliance report (chemistry.declared_pack_composition); NaN kg per kWh: none declared (BatPaC's pack)
    per_kwh = declared / cap
    keys = np.column_stack([codes.astype(float), np.where(np.isfinite(per_kwh), per_kwh, -1.0)])
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    table = np.full((len(uniq), 3), np.nan)
    mass_table = np.empty(len(uniq))
    basis_table: list[str] = []
    inverse = np.asarray(inverse).reshape(-1)
    for u, (code, m_kwh) in enumerate(uniq):
        try:
            comp, basis = declared_pack_composition(chems[int(code)], 1.0, None if m_kwh < 0 else float(m_kwh), refs)
        except CircularInputError:  # below the cells' mass or above the bound: name the first such pack, in its kg
            i = int(np.argmax(inverse == u))
            try:
                declared_pack_composition(chems[int(code)], float(cap[i]), float(declared[i]), refs,
                                          field=f"pack_mass_kg[{i}]")
            except CircularInputError as exc:
                raise CircularInputError(exc.field, exc.value,
                                         f"pack {i}: {exc.rule} ({int(np.isin(inverse, u).sum())} of {n} packs)") from None
            raise
        vals = recycle_value_usd_per_kwh(chems[int(code)], refs, prices_usd_per_kg, t,
                                         pack_mass_kg_per_kwh=comp.pack_mass_kg)
        table[u] = [np.nan if vals[f"recycle_{p}"] is None else vals[f"recycle_{p}"] for p in PROCESSES]
        mass_table[u] = comp.pack_mass_kg
        basis_table.append(basis)
    rec = table[inverse]
    gr = grade_routes or route_options.grade_routes()
    routes = route_options.names()
    k = len(routes)
    allowed = np.ones((n, k), dtype=bool)
    gi = np.full(n, -1)
    if grade_index is not None and grade is None:
        raise CircularInputError("grade", None, "grade_index needs grade, the list of grade names it indexes")
    if grade is not None and grade_index is None:
        g = np.asarray(grade, dtype=object)
        if g.shape != (n,):
            raise CircularInputError("grade", f"shape {g.shape}", f"must have one grade (or None) per pack ({n})")
        present = sorted({x for x in g.tolist() if x is not None})
        lookup = {name: k for k, name in enumerate(present)}
        grade_index = np.fromiter((lookup.get(x, -1) if x is not None else -1 for x in g.tolist()), dtype=np.int64, count=n)
        grade = present
    if grade is not None and grade_index is not None:
        gi = np.asarray(grade_index)
        if gi.shape != (n,) or (n and (gi.min() < -1 or gi.max() >= len(grade))):
            raise CircularInputError("grade_index", f"shape {gi.shape}",
                                     f"one index per pack ({n}), each in -1..{len(grade) - 1} (-1: no grade)")
        masks = np.array([[True] * k] + [_allowed_routes(str(name), (), gr) for name in grade], dtype=bool)
        allowed = masks[gi + 1]
    flagged = np.zeros(n, dtype=bool) if safety_flagged is None else np.asarray(safety_flagged, dtype=bool)
    allowed[flagged] &= route_options.recycling_mask()  # recycle only
    sl = None if second_life_years is None else np.asarray(second_life_years, dtype=float)
    npv = _npv_matrix(soh, cap, rec, allowed, econ, sl, fade_table[codes], res, deg)
    none = np.all(np.isnan(npv), axis=1)
    if none.any():  # a pack with no possible route gets no decision: say which and why
        i = int(np.argmax(none))
        chem = str(names[codes[i]])
        why = "safety flagged" if flagged[i] else f"grade {grade[int(gi[i])]}" if gi[i] >= 0 else "no grade"  # type: ignore[index]
        field, reason = _no_route(chem, float(soh[i]), allowed[i].tolist(), dict(zip(PROCESSES, ~np.isnan(rec[i]), strict=True)), why)
        given = {"prices_usd_per_kg": dict(prices_usd_per_kg or {}), "soh_fraction": float(soh[i]),
                 "grade": grade[int(gi[i])] if gi[i] >= 0 else None}  # type: ignore[index]
        raise CircularInputError(field if field == "prices_usd_per_kg" else f"{field}[{i}]", given[field],
                                 f"pack {i}: {reason} ({int(none.sum())} of {n} packs have none)")
    best = np.argmax(np.where(np.isnan(npv), -np.inf, npv), axis=1)
    return BatchDecision(routes=routes, best_index=best, npv_usd=npv, economics=econ, references=t.used(),
                         pack_mass_kg=mass_table[inverse] * cap, pack_mass_basis=np.asarray(basis_table, dtype=object)[inverse])


# ---------------------------------------------------------------------------------------------------
# residual value


class ResidualValuePoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    year: float
    soh_fraction: float
    best_route: Route
    value_usd: float  # best route NPV at that time, in that year's money
    present_value_usd: float  # discounted to year 0


def residual_value(
    chemistry: str,
    capacity_kwh: float,
    soh_by_year: Sequence[tuple[float, float]],
    *,
    economics: Mapping[str, float] | None = None,
    prices_usd_per_kg: Mapping[str, float] | None = None,
    pack_mass_kg: float | None = None,
    references: References | None = None,
) -> list[ResidualValuePoint]:
    """A pack's residual value over its life: at each (year, state of health), the best route's value
    (``pack_mass_kg``: its declared mass, as :func:`decide_route`'s)."""
    if not soh_by_year:
        raise CircularInputError("soh_by_year", [], "give at least one (year, soh_fraction) point")
    years = np.array([float(y) for y, _ in soh_by_year])
    soh = np.array([float(s) for _, s in soh_by_year])
    if np.any(years < 0) or np.any(np.diff(years) < 0):
        raise CircularInputError("soh_by_year", list(soh_by_year), "years must be 0 or more and increasing")
    chem = parse_chemistry(chemistry)
    batch = decide_routes_batch([chem] * len(soh), np.full(len(soh), float(capacity_kwh)), soh,
                                economics=economics, prices_usd_per_kg=prices_usd_per_kg, references=references,
                                pack_mass_kg=np.full(len(soh), np.nan if pack_mass_kg is None else float(pack_mass_kg)))
    r = batch.economics.discount_rate_fraction
    out = []
    for i in range(len(soh)):
        v = float(batch.npv_usd[i, batch.best_index[i]])
        out.append(ResidualValuePoint(year=float(years[i]), soh_fraction=float(soh[i]), best_route=batch.routes[int(batch.best_index[i])],
                                      value_usd=v, present_value_usd=v * float(_df(r, years[i]))))
    return out


__all__ = [
    "CHEMISTRIES", "DEFAULT_GRADE_ROUTES", "ROUTES", "BatchDecision", "CashFlow", "ResidualValuePoint",
    "RouteDecision", "RouteEconomics", "RouteOption", "Sensitivity", "decide_route", "decide_routes_batch",
    "recycle_value_usd_per_kwh", "residual_value",
]
