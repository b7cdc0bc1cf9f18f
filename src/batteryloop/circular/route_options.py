"""The registry of end-of-life route options: what a retired pack's route decision compares.

Each option is one :class:`RouteSpec`: its name and label, its family (``kind``: reuse, remanufacture,
repurpose, recycle), the grades that allow it, whether a safety-flagged pack may take it (only
recycling), its value (a vectorised NPV over a fleet, :class:`Fleet`), its own feasibility condition,
and its explanation for one pack (cash flows and a one-line reason, :class:`Pack`). The route decision
(:mod:`.routes`: :func:`~.routes.decide_route`, :func:`~.routes.decide_routes_batch`, the sensitivity and
the residual value), the default grade table, the pilot pages' labels and colours and the simulator's
route operators all read this registry; nothing else lists the routes.

The built-in options are registered at the end of this module, in the order of the decision's columns:
``reuse``, ``remanufacture``, ``repurpose``, ``recycle_pyro``, ``recycle_hydro``, ``recycle_direct``.
Their formulas are in the docstring of :mod:`.routes`.

How to add a route option (say, ``module_resale``: the pack dismantled and its good modules sold):

1. Write its value over a fleet, ``npv(f: Fleet) -> np.ndarray`` (one USD value per pack, from
   ``f.soh``, ``f.cap``, ``f.economics``, ``f.recycle_usd`` / ``f.best_recycle_usd``; helpers
   :func:`discount` and :func:`annuity`), optionally ``condition(f: Fleet) -> np.ndarray`` (True where the
   route is possible, e.g. above a minimum state of health), and ``explain(p: Pack) -> (cash_flows,
   reason)`` for one pack, with the same figures (``p.eol(n)`` is the recycling at the end of a new life).
2. Register it (in its own module, imported by whoever enables it, or at the end of this one)::

       register(RouteSpec("module_resale", kind="module_resale", label="module resale",
                          grades=("A", "B"), npv=_npv, condition=_ok, explain=_explain,
                          operator="module trader", color="#9467bd",
                          summary="modules sold", parameters={"module_resale_price_usd_per_kwh": 40.0}))

   ``parameters`` are new :class:`~.routes.RouteEconomics` fields with their defaults (a value in the
   ``batteryloop_assumptions.route`` reference table wins; callers override them like any other
   ``economics`` field); ``recycling=True`` opens it to safety-flagged packs. Registration order is
   the column order of the decision (and the tie-break between equal NPVs).
3. The decision, its ranking, sensitivity and batch form, the API (``/circular/route``, the pack
   route), the CLI (``circular route``), the web pages and the grade table pick it up. The pilot
   simulator (``sim/loop.py``) acts on a route by its ``kind``: a new kind needs its action there
   before the pilot may choose it (the pilot's grade tables are built from the built-in options),
   and the ledger's ``retirement_test`` event (``trace/events.py``) accepts only the four built-in
   kinds as its ``decision``.
4. Tests: a hand-computed NPV and its reason in ``tests/circular/test_routes.py`` (as the built-ins
   have), the grade that forbids it, and that the batch decision equals the single-pack one.

Tests register a throwaway option with :func:`registered` (it is removed on exit).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..registry import Registry
from .recycling import PROCESSES

#: the grades of :mod:`batteryloop.health.grading` (A: re-use or demanding second life, B: second-life
#: storage, C: low-demand second life after repair or derating, recycle), plus "D" and "rejected" as
#: synonyms of recycle — the keys of the default grade table, in this order
GRADES: tuple[str, ...] = ("A", "B", "C", "recycle", "D", "rejected")


class CashFlow(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    years: str  # "0", "5", "0–7.5 (annuity)"
    amount_usd: float
    present_value_usd: float


def discount(r: float, n: Any) -> Any:
    """df(n) = (1 + r)^-n, element-wise."""
    return np.exp(-np.asarray(n, dtype=float) * math.log1p(r))


def annuity(r: float, n: Any) -> Any:
    """a(n) = (1 − df(n)) / r (n when r = 0), element-wise."""
    n = np.asarray(n, dtype=float)
    return n if r == 0 else (1.0 - discount(r, n)) / r


@dataclass(frozen=True)
class Fleet:
    """What a route's NPV is computed from, one array element per pack."""

    soh: np.ndarray  #: state of health, fraction
    cap: np.ndarray  #: capacity, kWh
    recycle_usd: Mapping[str, np.ndarray]  #: process → material net value of recycling the pack, USD (NaN: unpriced)
    best_recycle_usd: np.ndarray  #: the best of those (0 where none is priced)
    economics: Any  #: the :class:`~.routes.RouteEconomics` of the decision
    second_life_years: np.ndarray | None = None  #: given (the health model's estimate), else None
    fade_ref: np.ndarray | None = None  #: second-life fade per cycle at the reference (chemistry family), per pack
    resistance_pct: np.ndarray | None = None  #: resistance increase, %, per pack
    degradation: Any = None  #: the :class:`~.second_life.SecondLifeDegradation` of the decision

    @cached_property
    def repurpose_parts(self) -> dict[str, np.ndarray]:
        """Second-life NPV and years per pack (see :func:`_repurpose_parts`), computed on first use."""
        return _compute_repurpose_parts(self)


@dataclass(frozen=True)
class Pack:
    """What one pack's explanation is written from."""

    soh: float
    cap: float
    economics: Any  #: the :class:`~.routes.RouteEconomics` of the decision
    recycle_usd_per_kwh: Mapping[str, float | None]  #: ``recycle_<process>`` → material net value per kWh
    second_life_years: float | None = None  #: given (the health model's estimate), else None
    fade_ref: float | None = None  #: second-life fade per cycle at the reference (chemistry family)
    resistance_pct: float = 0.0  #: resistance increase, %
    degradation: Any = None  #: the :class:`~.second_life.SecondLifeDegradation` of the decision

    @property
    def best_recycle_usd(self) -> float:
        return max((v for v in self.recycle_usd_per_kwh.values() if v is not None), default=0.0) * self.cap

    def eol(self, n: float) -> CashFlow:
        """Recycling at the end of a new life of ``n`` years (best process, today's prices)."""
        best = self.best_recycle_usd
        return CashFlow(label="recycling at the end of this life (best process, today's prices)", years=f"{n:g}",
                        amount_usd=best, present_value_usd=best * float(discount(self.economics.discount_rate_fraction, n)))


@dataclass(frozen=True)
class RouteSpec:
    """One end-of-life route option of the decision."""

    name: str  #: the route's id in decisions (``RouteOption.route``, ``npv_usd`` keys)
    kind: str  #: its family: what the pack becomes (reuse, remanufacture, repurpose, recycle)
    label: str  #: how pages name it ("recycle (hydro)")
    grades: Sequence[str]  #: the grades that allow it (default grade table)
    npv: Callable[[Fleet], np.ndarray]  #: its value per pack, USD
    explain: Callable[[Pack], tuple[list[CashFlow], str]]  #: one pack's cash flows and reason
    condition: Callable[[Fleet], np.ndarray] | None = None  #: True where possible (None: always)
    recycling: bool = False  #: the only routes open to a safety-flagged pack
    process: str | None = None  #: recycling process of :mod:`.recycling` (recycling routes)
    operator: str = ""  #: who takes the pack on this route (the simulator's cash-flow actor)
    color: str | None = None  #: chart colour of its kind
    summary: str = ""  #: a one-line description
    parameters: Mapping[str, float] = field(default_factory=dict)  #: extra RouteEconomics fields → defaults


_REGISTRY: Registry[RouteSpec] = Registry("route")
register = _REGISTRY.register
unregister = _REGISTRY.unregister
registered = _REGISTRY.registered


def get(name: str) -> RouteSpec | None:
    return _REGISTRY.get(name)


def names() -> tuple[str, ...]:
    """Every route option, in registration (column) order."""
    return tuple(_REGISTRY)


def specs() -> list[RouteSpec]:
    return list(_REGISTRY.values())


def recycling_names() -> tuple[str, ...]:
    """The routes a safety-flagged pack may take."""
    return tuple(s.name for s in _REGISTRY.values() if s.recycling)


def recycling_mask() -> np.ndarray:
    """One bool per route (column order): True for the recycling routes."""
    return np.array([s.recycling for s in _REGISTRY.values()], dtype=bool)


def grade_routes() -> dict[str, tuple[str, ...]]:
    """The default grade table: grade → the routes it allows, in column order."""
    return {g: tuple(s.name for s in _REGISTRY.values() if g in s.grades) for g in GRADES}


def kinds() -> tuple[str, ...]:
    """The route families, in the order of their first option."""
    return tuple(dict.fromkeys(s.kind for s in _REGISTRY.values()))


def kind_of(route: str) -> str:
    """The family of a route (a route that is not registered is its own family)."""
    spec = _REGISTRY.get(route)
    return spec.kind if spec is not None else route


def operators() -> dict[str, str]:
    """Family → who takes the packs of that family."""
    return {s.kind: s.operator for s in _REGISTRY.values() if s.operator}


def colors() -> dict[str, str]:
    """Family → chart colour."""
    return {s.kind: s.color for s in _REGISTRY.values() if s.color}


def parameters() -> dict[str, float]:
    """Economics fields the registered options add to :class:`~.routes.RouteEconomics`, with defaults."""
    return {k: float(v) for s in _REGISTRY.values() for k, v in s.parameters.items()}


# ---------------------------------------------------------------------------------------------------
# the built-in options (formulas: the docstring of .routes)


def _second_life(soh: Any, cap: Any, recycle_usd: Any, e: Any, fade_ref: Any, resistance_pct: Any, degradation: Any,
                 years: Any) -> dict[str, np.ndarray]:
    """The second-life NPV and its parts (:func:`.second_life.second_life_npv`: the model the hubs share)."""
    from .second_life import SecondLifeDegradation, second_life_npv

    deg = degradation or SecondLifeDegradation.from_references()
    f_ref = deg.fade_per_fec_at_ref["NMC"] if fade_ref is None else fade_ref
    return second_life_npv(soh, cap, f_ref, 0.0 if resistance_pct is None else resistance_pct, recycle_usd,
                           duty=e.second_life_duty(), value=e.second_life_value(), degradation=deg,
                           end_soh=e.repurpose_end_soh_fraction, max_years=e.repurpose_max_years, years=years)


def second_life_years(soh: Any, e: Any, fade_ref: Any = None, resistance_pct: Any = 0.0, degradation: Any = None) -> Any:
    """n: the years of second life until the end SoH under the route's duty (at most ``repurpose_max_years``;
    0 below the end), from the second-life fade model (:mod:`.second_life`)."""
    from .second_life import SecondLifeDegradation

    deg = degradation or SecondLifeDegradation.from_references()
    f_ref = deg.fade_per_fec_at_ref["NMC"] if fade_ref is None else fade_ref
    return deg.project(soh, f_ref, resistance_pct, e.second_life_duty(), end_soh=e.repurpose_end_soh_fraction,
                       max_years=e.repurpose_max_years).years


def _reuse_npv(f: Fleet) -> np.ndarray:
    e = f.economics
    P = e.new_pack_price_usd_per_kwh
    return (f.cap * (f.soh * (P * e.reuse_price_fraction_of_new) - e.reuse_test_cost_usd_per_kwh)
            + float(discount(e.discount_rate_fraction, e.reuse_years)) * f.best_recycle_usd)


def _reuse_explain(p: Pack) -> tuple[list[CashFlow], str]:
    e, cap, soh = p.economics, p.cap, p.soh
    sale = cap * soh * e.new_pack_price_usd_per_kwh * e.reuse_price_fraction_of_new
    test = cap * e.reuse_test_cost_usd_per_kwh
    flows = [CashFlow(label=f"sale for re-use: {cap:g} kWh × SoH {soh:.2f} × {e.new_pack_price_usd_per_kwh:g} $/kWh × {e.reuse_price_fraction_of_new:g}",
                      years="0", amount_usd=sale, present_value_usd=sale),
             CashFlow(label="testing and grading", years="0", amount_usd=-test, present_value_usd=-test),
             p.eol(e.reuse_years)]
    why = f"SoH {soh:.2f} below re-use minimum {e.reuse_min_soh_fraction:g}" if soh < e.reuse_min_soh_fraction else "sold for re-use in a vehicle"
    return flows, why


def _remanufacture_npv(f: Fleet) -> np.ndarray:
    e = f.economics
    P = e.new_pack_price_usd_per_kwh
    s_t = e.remanufacture_target_soh_fraction
    return (
        f.cap * (s_t * P * e.remanufacture_price_fraction_of_new - e.remanufacture_labour_usd_per_kwh
                 - np.maximum(0.0, s_t - f.soh) * (P * e.remanufacture_cell_cost_fraction_of_new))
        + float(discount(e.discount_rate_fraction, e.remanufacture_years)) * f.best_recycle_usd
    )


def _remanufacture_explain(p: Pack) -> tuple[list[CashFlow], str]:
    e, cap, soh = p.economics, p.cap, p.soh
    s_t = e.remanufacture_target_soh_fraction
    sale = cap * s_t * e.new_pack_price_usd_per_kwh * e.remanufacture_price_fraction_of_new
    labour = cap * e.remanufacture_labour_usd_per_kwh
    cells = cap * max(0.0, s_t - soh) * e.new_pack_price_usd_per_kwh * e.remanufacture_cell_cost_fraction_of_new
    flows = [CashFlow(label=f"sale of the remanufactured pack (SoH {s_t:g})", years="0", amount_usd=sale, present_value_usd=sale),
             CashFlow(label="remanufacturing labour", years="0", amount_usd=-labour, present_value_usd=-labour),
             CashFlow(label=f"replacement cells to restore SoH {soh:.2f} → {s_t:g}", years="0", amount_usd=-cells, present_value_usd=-cells),
             p.eol(e.remanufacture_years)]
    why = (f"SoH {soh:.2f} below remanufacture minimum {e.remanufacture_min_soh_fraction:g}"
           if soh < e.remanufacture_min_soh_fraction else "remanufactured and sold for a vehicle")
    return flows, why


def _repurpose_parts(f: Fleet) -> dict[str, np.ndarray]:
    """The second-life NPV and years of the packs that may be repurposed (SoH at the minimum or above; NaN NPV and
    0 years for the others, which the route's condition rules out anyway). Computed once per fleet (its NPV and
    its condition both need them) and kept on the fleet itself: a module-level "last fleet" cache handed one
    thread's figures to another deciding a different fleet at the same time."""
    return f.repurpose_parts


def _compute_repurpose_parts(f: Fleet) -> dict[str, np.ndarray]:
    ok = np.flatnonzero(np.asarray(f.soh) >= f.economics.repurpose_min_soh_fraction)
    n = np.asarray(f.soh).shape[0]
    out = {"npv": np.full(n, np.nan), "years": np.zeros(n)}
    if ok.size:
        def pick(x: Any) -> Any:
            return None if x is None else np.broadcast_to(np.asarray(x, dtype=float), (n,))[ok]

        part = _second_life(f.soh[ok], f.cap[ok], f.best_recycle_usd[ok], f.economics, pick(f.fade_ref),
                            pick(f.resistance_pct), f.degradation, pick(f.second_life_years))
        out["npv"][ok] = part["npv"]
        out["years"][ok] = part["years"]
    return out


def _repurpose_npv(f: Fleet) -> np.ndarray:
    return _repurpose_parts(f)["npv"]


def _repurpose_ok(f: Fleet) -> np.ndarray:
    n = _repurpose_parts(f)["years"] if f.second_life_years is None else f.second_life_years
    return ~((f.soh < f.economics.repurpose_min_soh_fraction) | (n <= 0))


def _repurpose_explain(p: Pack) -> tuple[list[CashFlow], str]:
    e, cap, soh, sl_years = p.economics, p.cap, p.soh, p.second_life_years
    parts = _second_life(np.array([soh]), np.array([cap]), np.array([p.best_recycle_usd]), e, p.fade_ref,
                         p.resistance_pct, p.degradation, None if sl_years is None else np.array([sl_years]))
    n = float(parts["years"][0])
    duty = e.second_life_duty()
    cost = cap * e.repurpose_cost_usd_per_kwh
    bos = cap * soh * e.repurpose_bos_usd_per_kwh
    op = float(parts["operating"][0])
    kwh = float(parts["discharged_kwh"][0])
    flows = [CashFlow(label="repurposing (Lieskoski et al. 2024 mid-point)", years="0", amount_usd=-cost, present_value_usd=-cost),
             CashFlow(label=f"balance of system: {cap:g} kWh × SoH {soh:.2f} × {e.repurpose_bos_usd_per_kwh:g} $/kWh",
                      years="0", amount_usd=-bos, present_value_usd=-bos),
             CashFlow(label=f"storage net income: {kwh:,.0f} kWh discharged ({duty.fec_per_year:g} cycles/yr, depth "
                            f"{duty.dod_fraction:g}, {duty.temperature_c:g} °C) × {e.repurpose_value_usd_per_kwh_delivered:g} $/kWh "
                            f"− O&M {e.repurpose_opex_usd_per_kwh_year:.2f} $/kWh·yr",
                      years=f"1–{n:.2f} (yearly)", amount_usd=kwh * e.repurpose_value_usd_per_kwh_delivered
                      - n * cap * soh * e.repurpose_opex_usd_per_kwh_year, present_value_usd=op),
             p.eol(n)]
    if soh < e.repurpose_min_soh_fraction or n <= 0:
        why = f"SoH {soh:.2f} below repurpose minimum {e.repurpose_min_soh_fraction:g}"
    else:
        why = f"{n:.2f} years of second life {'(health model)' if sl_years is not None else f'until SoH {e.repurpose_end_soh_fraction:g}'}"
    return flows, why


def _recycle_spec(process: str) -> RouteSpec:
    name = f"recycle_{process}"

    def npv(f: Fleet) -> np.ndarray:
        return f.recycle_usd[process]

    def explain(p: Pack) -> tuple[list[CashFlow], str]:
        v = p.recycle_usd_per_kwh[name]
        if v is None:  # the NPV is NaN: infeasible, with this reason
            return [], f"no price for a material {process} recycling recovers from this chemistry"
        flows = [CashFlow(label=f"{process} recycling: material revenue − process inputs ({v:.2f} $/kWh)", years="0",
                          amount_usd=v * p.cap, present_value_usd=v * p.cap)]
        return flows, f"{process}metallurgical recycling" if process != "direct" else "direct recycling (cathode recovered whole)"

    return RouteSpec(name, kind="recycle", label=f"recycle ({process})", grades=GRADES, npv=npv, explain=explain,
                     recycling=True, process=process, operator="recycler", color="#8c564b",
                     summary=f"{process} recycling: the material net value of the recovered materials")


register(RouteSpec(
    "reuse", kind="reuse", label="reuse", grades=("A",), npv=_reuse_npv, explain=_reuse_explain,
    condition=lambda f: f.soh >= f.economics.reuse_min_soh_fraction,
    operator="re-use dealer", color="#17becf", summary="sold as is for another vehicle"))
register(RouteSpec(
    "remanufacture", kind="remanufacture", label="remanufacture", grades=("A", "B"), npv=_remanufacture_npv,
    explain=_remanufacture_explain, condition=lambda f: f.soh >= f.economics.remanufacture_min_soh_fraction,
    operator="remanufacturer", color="#1f77b4", summary="weak cells replaced, sold for a vehicle"))
register(RouteSpec(
    "repurpose", kind="repurpose", label="repurpose", grades=("A", "B", "C"), npv=_repurpose_npv,
    explain=_repurpose_explain,
    condition=_repurpose_ok,
    operator="second-life integrator", color="#2ca02c", summary="second life in stationary storage"))
for _p in PROCESSES:
    register(_recycle_spec(_p))
del _p


__all__ = [
    "GRADES", "CashFlow", "Fleet", "Pack", "RouteSpec", "annuity", "colors", "discount", "get", "grade_routes",
    "kind_of", "kinds", "names", "operators", "parameters", "recycling_mask", "recycling_names", "register",
    "registered", "second_life_years", "specs", "unregister",
]
