"""A virtual power plant of hubs: offer flexibility per step, follow a grid signal, report delivery.

1. **Baseline.** Each hub's optimised day (:class:`~.dispatch.DayOptimiser`) gives its net grid
   position ``net = import − export`` per step.
2. **Offer.** Per hub and step, how far the net position can move while every other step stays at
   baseline: *up* (less import / more export) = charging that can stop + extra discharge the string
   holds energy for + swap charging the stock can defer; *down* (more import) = extra charging the
   strings have room for + discharge that can stop + swap charging that can be pulled forward — each
   capped by the connection (import and export limits). These are step-by-step offers: they are not
   all available at once (energy moved in one step is missing in another), which is why *delivered*
   can fall short of *offered*.
3. **Follow.** One LP for all hubs together (block-diagonal hub LPs plus one coupling row per step
   with a request): in those steps the hubs' total deviation from baseline must equal the requested
   ``request_kw`` (positive = up), with a shortfall or overshoot at ``penalty_per_kwh``; in the other
   steps the hubs are free (they recover the energy they moved: the rebound). Each hub keeps all its
   own limits, and the objective carries every hub's own costs, so the cheapest flexibility is used.
   Unserved energy may not exceed the baseline's: flexibility is storage and swap charging, never load shed
   (the first version let the LP cut EV charging at the value of lost load, below the penalty, and the page
   then priced flexibility at about 1 EUR/kWh).
4. **Report.** Requested, offered (in the requested direction), delivered, per hub, and what following
   the signal cost the hubs compared with their baseline, by cause (``cost_parts``: energy bought and sold,
   wear, the day ending emptier — refilled at the day's highest price). That cost over the energy delivered is
   the storage owner's opportunity cost of flexibility, the least an aggregator must pay per kWh: on a flat
   price p with one-way efficiency η and wear w per kWh of throughput ((c + d)/2), a kWh delivered up costs
   p·(1/η² − 1) + w/2 (docs/hubs.md works it by hand); on a time-of-use tariff the arbitrage the hub gives up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .dispatch import DayInputs, DayOptimiser, DispatchError, Schedule
from .errors import HubInputError, finite_array
from .hub import HubConfig, HubPrepared, HubState, day_inputs, prepare_hub

_INF = 1e30


class GridSignal(BaseModel):
    """A request to the aggregated hubs, per step: + up (reduce net import), − down (increase it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_kw: list[float] = Field(min_length=1)
    penalty_per_kwh: float = Field(3.0, gt=0, description="per kWh of shortfall or overshoot against the request")


def offer_flexibility(inp: DayInputs, base: Schedule) -> tuple[np.ndarray, np.ndarray]:
    """(up_kw, down_kw) per step that the hub could move from ``base``, one step at a time."""
    dt = inp.dt_h
    prev = np.concatenate([inp.e_init_kwh[:, None], base.soc_kwh[:, :-1]], axis=1)
    eta = inp.eta[:, None]
    P = inp.power_kw[:, None]
    # up: stop charging, discharge more (within power and the energy held before the step)
    more_d = np.clip(np.minimum(P - base.discharge_kw, (prev - inp.e_min[:, None]) * eta / dt - base.discharge_kw), 0, None)
    up = (base.charge_kw + more_d).sum(0)
    # down: charge more (within power and room), stop discharging
    more_c = np.clip(np.minimum(P - base.charge_kw, (inp.e_max[:, None] - prev) / (eta * dt) - base.charge_kw), 0, None)
    down = (base.discharge_kw + more_c).sum(0)
    if inp.swap_cum_kwh is not None and inp.swap_cum_kwh[-1] > 0:
        cum = np.cumsum(base.swap_kw) * dt
        lower = np.maximum(0.0, inp.swap_cum_kwh - inp.swap_buffer_kwh)
        up = up + np.clip(np.minimum(base.swap_kw, (cum - lower) / dt), 0, None)
        down = down + np.clip(np.minimum(inp.swap_max_kw - base.swap_kw, (inp.swap_cum_kwh - cum) / dt), 0, None)
    up = np.minimum(up, base.grid_import_kw + (inp.export_limit_kw - base.grid_export_kw))
    down = np.minimum(down, (inp.import_limit_kw - base.grid_import_kw) + base.grid_export_kw)
    return np.maximum(up, 0.0), np.maximum(down, 0.0)


@dataclass
class VppResult:
    dt_h: float
    requested_kw: np.ndarray
    offered_up_kw: np.ndarray
    offered_down_kw: np.ndarray
    delivered_kw: np.ndarray
    hubs: dict[str, dict[str, Any]]
    schedules: dict[str, Schedule] = field(default_factory=dict)
    baselines: dict[str, Schedule] = field(default_factory=dict)
    solve_s: float = 0.0

    @property
    def offered_kw(self) -> np.ndarray:
        """The offer in the direction of each step's request (0 where nothing is requested)."""
        r = self.requested_kw
        return np.where(r > 0, self.offered_up_kw, np.where(r < 0, self.offered_down_kw, 0.0))

    def summary(self) -> dict[str, Any]:
        dt = self.dt_h
        req = float(np.abs(self.requested_kw).sum() * dt)
        off = float(np.minimum(self.offered_kw, np.abs(self.requested_kw)).sum() * dt)
        # delivered counts only movement in the requested direction, up to the request
        toward = np.clip(np.sign(self.requested_kw) * self.delivered_kw, 0, np.abs(self.requested_kw))
        dlv = float(toward.sum() * dt)
        return {
            "requested_kwh": round(req, 3), "offered_kwh": round(off, 3), "delivered_kwh": round(dlv, 3),
            "delivered_fraction_of_requested": round(dlv / req, 4) if req else 1.0,
            "delivered_fraction_of_offered": round(dlv / off, 4) if off else 1.0,
            "steps": [
                {"step": i, "requested_kw": round(float(r), 3), "offered_up_kw": round(float(u), 3),
                 "offered_down_kw": round(float(d), 3), "delivered_kw": round(float(x), 3)}
                for i, (r, u, d, x) in enumerate(zip(self.requested_kw, self.offered_up_kw, self.offered_down_kw,
                                                     self.delivered_kw, strict=True))
            ],
            "hubs": {k: {kk: (round(vv, 3) if isinstance(vv, float) else vv) for kk, vv in v.items() if kk not in ("net_kw", "baseline_net_kw")}
                     for k, v in self.hubs.items()},
            "solve_s": round(self.solve_s, 4),
        }


def vpp_day(hubs: Sequence[HubPrepared | HubConfig | dict[str, Any]], signal: GridSignal | dict[str, Any], *,
            day: int = 180, states: Sequence[HubState] | None = None, weather_factor: float = 1.0) -> VppResult:
    """Aggregate ``hubs`` on day ``day``: baseline, offers, and a joint dispatch following ``signal``."""
    import time

    import highspy
    from scipy import sparse

    t0 = time.perf_counter()
    sig = signal if isinstance(signal, GridSignal) else GridSignal.model_validate(signal)
    prepared = [h if isinstance(h, HubPrepared) else prepare_hub(h) for h in hubs]
    if not prepared:
        raise HubInputError("hubs", [], "a virtual power plant needs at least one hub")
    names = [h.config.name for h in prepared]
    if len(set(names)) != len(names):
        raise HubInputError("hubs.name", names, "hub names must be unique in a virtual power plant")
    steps = {h.steps for h in prepared}
    if len(steps) != 1:
        raise HubInputError("hubs.steps_per_hour", sorted(steps), "all hubs of a VPP must use the same step")
    T = steps.pop()
    req = finite_array("signal.request_kw", sig.request_kw, T, min_value=None)
    dt = prepared[0].dt_h
    inps: list[DayInputs] = []
    opts: list[DayOptimiser] = []
    bases: list[Schedule] = []
    for i, h in enumerate(prepared):
        st = states[i] if states else h.initial_state()
        inp = day_inputs(h, st, day, weather_factor=weather_factor)
        opt = DayOptimiser(inp.units, inp.steps, inp.dt_h, inp.eta)
        inps.append(inp)
        opts.append(opt)
        bases.append(opt.solve(inp))
    offers = [offer_flexibility(inp, b) for inp, b in zip(inps, bases, strict=True)]
    up = np.sum([o[0] for o in offers], axis=0)
    down = np.sum([o[1] for o in offers], axis=0)
    # the joint LP
    rows, cols, vals, costs, los, his, rlos, rhis = [], [], [], [], [], [], [], []
    col_off = row_off = 0
    offsets = []
    for inp, opt in zip(inps, opts, strict=True):
        r, c, v = opt._triplets(inp.eta)
        rows.append(r + row_off)
        cols.append(c + col_off)
        vals.append(v)
        cost, lo, hi, rlo, rhi = opt.arrays(inp)
        # flexibility comes from storage and swap charging, never from cutting the hub's customers: unserved
        # energy may not exceed the hub's own optimum's (else, with the penalty above the value of lost load, the
        # LP would shed EV charging to follow the signal and book the lost load as the cost of flexibility)
        b_un = bases[len(costs)].unserved_kw
        hi = hi.copy()
        hi[opt.iUN:opt.iUN + opt.T] = np.asarray(b_un, dtype=float)
        costs.append(cost)
        los.append(lo)
        his.append(hi)
        rlos.append(rlo)
        rhis.append(rhi)
        offsets.append(col_off)
        col_off += opt.ncol
        row_off += opt.nrow
    # one coupling row per step with a request (elsewhere the hubs are free to rebound), with
    # deviation columns short (≥ 0) and over (≥ 0)
    t = np.flatnonzero(req != 0)
    k = t.size
    j = np.arange(k)
    i_short, i_over = col_off, col_off + k
    ncol = col_off + 2 * k
    for opt, off in zip(opts, offsets, strict=True):
        rows += [row_off + j, row_off + j]
        cols += [off + opt.iGI + t, off + opt.iGO + t]
        vals += [np.ones(k), -np.ones(k)]
    rows += [row_off + j, row_off + j]
    cols += [i_short + j, i_over + j]
    vals += [-np.ones(k), np.ones(k)]
    base_net = np.sum([b.grid_import_kw - b.grid_export_kw for b in bases], axis=0)
    costs.append(np.full(2 * k, sig.penalty_per_kwh * dt))
    los.append(np.zeros(2 * k))
    his.append(np.full(2 * k, _INF))
    rlos.append((base_net - req)[t])
    rhis.append((base_net - req)[t])
    nrow = row_off + k
    A = sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nrow, ncol))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = ncol, nrow
    lp.col_cost_ = np.concatenate(costs)
    lp.col_lower_, lp.col_upper_ = np.concatenate(los), np.concatenate(his)
    lp.row_lower_, lp.row_upper_ = np.concatenate(rlos), np.concatenate(rhis)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise DispatchError(f"HiGHS returned {h.modelStatusToString(h.getModelStatus())} for the VPP dispatch")
    x = np.asarray(h.getSolution().col_value)
    out_h: dict[str, dict[str, Any]] = {}
    scheds: dict[str, Schedule] = {}
    delivered = np.zeros(T)
    for name, inp, opt, off, b, (u, d) in zip(names, inps, opts, offsets, bases, offers, strict=True):
        s = opt.schedule_from(x[off:off + opt.ncol], inp, method="vpp")
        scheds[name] = s
        net = s.grid_import_kw - s.grid_export_kw
        bnet = b.grid_import_kw - b.grid_export_kw
        delivered += bnet - net
        out_h[name] = {
            "baseline_net_kw": bnet, "net_kw": net,
            "offered_up_kwh": float(u.sum() * dt), "offered_down_kwh": float(d.sum() * dt),
            "delivered_up_kwh": float(np.clip(bnet - net, 0, None).sum() * dt),
            "delivered_down_kwh": float(np.clip(net - bnet, 0, None).sum() * dt),
            "baseline_cost": b.cost["total_cost"], "vpp_cost": s.cost["total_cost"],
            "cost_of_flexibility": s.cost["total_cost"] - b.cost["total_cost"],
            # what following the signal cost, by cause: energy bought and sold, wear, the day ending emptier
            "cost_parts": {"energy": (s.cost["import_cost"] - s.cost["export_revenue"])
                                     - (b.cost["import_cost"] - b.cost["export_revenue"]),
                           "wear": s.cost["degradation_cost"] - b.cost["degradation_cost"],
                           "refill": s.cost["terminal_shortfall_cost"] - b.cost["terminal_shortfall_cost"],
                           "unserved": s.cost["unserved_penalty"] - b.cost["unserved_penalty"]},
        }
    return VppResult(dt_h=dt, requested_kw=req, offered_up_kw=up, offered_down_kw=down, delivered_kw=delivered,
                     hubs=out_h, schedules=scheds, baselines=dict(zip(names, bases, strict=True)),
                     solve_s=time.perf_counter() - t0)
