"""Day-ahead dispatch of a hub: a linear programme solved by HiGHS, and a rule-based fallback.

Why HiGHS through ``highspy`` (not linopy/PyPSA): the hub's day is a small LP (a few hundred to a few
thousand variables) solved tens of thousands of times in a year of 100 hubs. ``highspy`` lets us build
the sparse matrix once per hub with NumPy and then change only costs and bounds from day to day,
re-solving from the previous basis (warm start); linopy would rebuild an xarray model and write it to
the solver every day, and brings pandas/xarray/dask into the runtime. HiGHS is the MIT-licensed solver
SciPy and PyPSA use themselves.

Per step t (length Δt h) and string u (AC-side charge c, discharge d in kW; stored energy e in kWh at
the end of the step; one-way efficiency η; degradation cost w per kWh of throughput (c + d)/2):

    min Σ_t Δt·[p_in·g_in − p_out·g_out + VoLL·unserved + Σ_u w_u·(c + d)/2]
    s.t. pv_used + g_in − g_out + Σ_u (d − c) − swap + unserved = load              (AC bus balance)
         e_t = e_{t−1} + η·c·Δt − d·Δt/η                                            (each string)
         e_min ≤ e ≤ e_max, e_T + z ≥ e_0, z ≥ 0 priced at max(p_in)/η (the day should end no
         emptier than it began; a shortfall costs what refilling it at the day's highest price would)
         0 ≤ c, d ≤ P_u,  Σ_u c, Σ_u d ≤ P_converter,  0 ≤ g_in ≤ import limit,
         0 ≤ g_out ≤ export limit,  0 ≤ pv_used ≤ pv,  0 ≤ swap ≤ swap chargers' power
         D_t − B ≤ Σ_{τ≤t} swap·Δt ≤ D_t, and = D_T at the end                        (swap stock)

D_t is the swap energy returned by the end of step t plus the backlog of earlier days (the station must
re-charge it; it may lag by at most the ready stock B, and may not run ahead of the packs that came
back). Where even charging flat out cannot keep that pace, the lower bound is capped at what the
chargers can do and the rest is carried over as backlog. Losses are
(1 − η)·c + (1/η − 1)·d. Unserved energy is a slack at VoLL, so that an import limit that cannot be
met shows up as a number rather than a crash.

The rule-based fallback is what a simple energy-management system does: PV first to the load, surplus
into storage then export; discharge to the load whenever the price is above the day's minimum; charge
from the grid in the day's cheapest steps (only when the tariff is not flat); swap packs charged as
they come back; strings shared in proportion to what each can take.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .errors import DispatchError, HubInputError, finite_array

_INF = 1e30


@dataclass
class DayInputs:
    """One horizon of a hub, as arrays (T steps, U strings)."""

    dt_h: float
    price_in: np.ndarray
    price_out: np.ndarray
    pv_kw: np.ndarray
    load_kw: np.ndarray
    energy_kwh: np.ndarray
    power_kw: np.ndarray
    eta: np.ndarray
    deg_cost_per_kwh: np.ndarray
    e_init_kwh: np.ndarray
    import_limit_kw: float = _INF
    export_limit_kw: float = _INF
    converter_kw: float = _INF
    swap_cum_kwh: np.ndarray | None = None
    swap_buffer_kwh: float = 0.0
    swap_max_kw: float = 0.0
    swap_backlog_kwh: float = 0.0
    swap_finish: bool = True
    soc_min_fraction: float = 0.1
    soc_max_fraction: float = 0.95
    voll_per_kwh: float = 10.0
    validate: bool = field(default=True, repr=False, compare=False)  # False: arrays already checked (internal)

    def __post_init__(self) -> None:
        if not self.validate:
            if self.swap_cum_kwh is None:
                self.swap_cum_kwh = np.zeros(np.asarray(self.price_in).size)
            return
        T = np.asarray(self.price_in).size
        if T < 1:
            raise HubInputError("price_in", [], "must hold at least one step")
        self.price_in = finite_array("price_in", self.price_in, T, min_value=None)
        self.price_out = finite_array("price_out", self.price_out, T, min_value=None)
        self.pv_kw = finite_array("pv_kw", self.pv_kw, T)
        self.load_kw = finite_array("load_kw", self.load_kw, T)
        U = np.asarray(self.energy_kwh).size
        self.energy_kwh = finite_array("energy_kwh", self.energy_kwh, U)
        self.power_kw = finite_array("power_kw", self.power_kw, U)
        self.eta = finite_array("eta", self.eta, U)
        self.deg_cost_per_kwh = finite_array("deg_cost_per_kwh", self.deg_cost_per_kwh, U)
        self.e_init_kwh = finite_array("e_init_kwh", self.e_init_kwh, U)
        if self.swap_cum_kwh is None:
            self.swap_cum_kwh = np.zeros(T)
        self.swap_cum_kwh = finite_array("swap_cum_kwh", self.swap_cum_kwh, T)
        if np.any(np.diff(self.swap_cum_kwh) < -1e-9):
            raise HubInputError("swap_cum_kwh", "<decreasing>", "cumulative swap energy must not decrease")
        if not 0 < self.dt_h <= 24:
            raise HubInputError("dt_h", self.dt_h, "must lie in (0, 24] hours")
        bad = np.flatnonzero((self.eta <= 0.5) | (self.eta > 1))
        if bad.size:
            raise HubInputError(f"eta[{bad[0]}]", float(self.eta[bad[0]]), "one-way efficiency must lie in (0.5, 1]")
        over = np.flatnonzero(self.price_out > self.price_in + 1e-12)
        if over.size:
            t = over[0]
            raise HubInputError(f"price_out[{t}]", float(self.price_out[t]),
                                f"export price above the import price {self.price_in[t]:g} of the same step: "
                                "the hub would import to export; lower the export price")
        for name in ("import_limit_kw", "export_limit_kw", "converter_kw", "swap_buffer_kwh", "swap_max_kw", "voll_per_kwh",
                     "swap_backlog_kwh"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v >= 0 and v == v):
                raise HubInputError(name, v, "must be a number, 0 or more")
        if not 0 <= self.soc_min_fraction < self.soc_max_fraction <= 1:
            raise HubInputError("soc_min_fraction", self.soc_min_fraction, "need 0 ≤ soc_min < soc_max ≤ 1")
        lo, hi = self.e_min, self.e_max
        out = np.flatnonzero((self.e_init_kwh < lo - 1e-6) | (self.e_init_kwh > hi + 1e-6))
        if out.size:
            u = out[0]
            raise HubInputError(f"e_init_kwh[{u}]", float(self.e_init_kwh[u]),
                                f"initial stored energy must lie in the state-of-charge window [{lo[u]:.3f}, {hi[u]:.3f}] kWh")
        self.e_init_kwh = np.clip(self.e_init_kwh, lo, hi)

    @property
    def steps(self) -> int:
        return int(self.price_in.size)

    @property
    def units(self) -> int:
        return int(self.energy_kwh.size)

    @property
    def e_min(self) -> np.ndarray:
        return self.energy_kwh * self.soc_min_fraction

    @property
    def e_max(self) -> np.ndarray:
        return self.energy_kwh * self.soc_max_fraction

    @property
    def swap_step_kwh(self) -> np.ndarray:
        return np.diff(self.swap_cum_kwh, prepend=0.0)

    @property
    def swap_due_kwh(self) -> np.ndarray:
        """Swap energy returned and not yet re-charged by the end of each step if none were charged."""
        return self.swap_cum_kwh + self.swap_backlog_kwh

    @property
    def swap_min_cum_kwh(self) -> np.ndarray:
        """The most the swap chargers can have re-charged by the end of each step (flat out whenever packs
        are waiting): where the stock's reserve or the end-of-horizon re-charge needs more, the chargers
        fall behind and the rest is carried over as backlog, rather than making the day infeasible."""
        out = np.empty(self.steps)
        c = 0.0
        step = self.swap_max_kw * self.dt_h
        for t, due in enumerate(self.swap_due_kwh):
            c = min(due, c + step)
            out[t] = c
        return out

    def first(self, steps: int) -> DayInputs:
        """The first ``steps`` of this horizon (for the account of the part of a look-ahead that is kept)."""
        k = slice(0, steps)
        return DayInputs(
            dt_h=self.dt_h, price_in=self.price_in[k], price_out=self.price_out[k], pv_kw=self.pv_kw[k],
            load_kw=self.load_kw[k], energy_kwh=self.energy_kwh, power_kw=self.power_kw, eta=self.eta,
            deg_cost_per_kwh=self.deg_cost_per_kwh, e_init_kwh=self.e_init_kwh, import_limit_kw=self.import_limit_kw,
            export_limit_kw=self.export_limit_kw, converter_kw=self.converter_kw, swap_cum_kwh=self.swap_cum_kwh[k],
            swap_buffer_kwh=self.swap_buffer_kwh, swap_max_kw=self.swap_max_kw, swap_backlog_kwh=self.swap_backlog_kwh,
            swap_finish=False, soc_min_fraction=self.soc_min_fraction, soc_max_fraction=self.soc_max_fraction,
            voll_per_kwh=self.voll_per_kwh, validate=False,
        )


@dataclass
class Schedule:
    """A dispatch over one horizon. Per-string arrays are (U, T); powers in kW, energies in kWh."""

    method: str
    charge_kw: np.ndarray
    discharge_kw: np.ndarray
    soc_kwh: np.ndarray
    pv_used_kw: np.ndarray
    grid_import_kw: np.ndarray
    grid_export_kw: np.ndarray
    swap_kw: np.ndarray
    unserved_kw: np.ndarray
    cost: dict[str, float] = field(default_factory=dict)
    solve_s: float = 0.0

    def first(self, steps: int, inp: DayInputs) -> Schedule:
        """The first ``steps`` of this schedule, costed on ``inp`` (the matching :meth:`DayInputs.first`)."""
        k = slice(0, steps)
        s = Schedule(self.method, self.charge_kw[:, k], self.discharge_kw[:, k], self.soc_kwh[:, k], self.pv_used_kw[k],
                     self.grid_import_kw[k], self.grid_export_kw[k], self.swap_kw[k], self.unserved_kw[k], solve_s=self.solve_s)
        s.cost = schedule_cost(inp, s)
        return s

    def throughput_kwh(self, dt_h: float) -> np.ndarray:
        """Per string, (charge + discharge)/2 over the horizon (AC kWh)."""
        return (self.charge_kw.sum(axis=1) + self.discharge_kw.sum(axis=1)) * dt_h / 2

    def losses_kw(self, inp: DayInputs) -> np.ndarray:
        eta = inp.eta[:, None]
        return ((1 - eta) * self.charge_kw + (1 / eta - 1) * self.discharge_kw).sum(axis=0)


def schedule_cost(inp: DayInputs, s: Schedule) -> dict[str, float]:
    """The objective's parts, in the tariff's currency. A string that ends the day emptier than it began
    is charged for the shortfall at the day's highest import price (what putting it back could cost)."""
    dt = inp.dt_h
    energy = float(np.sum(inp.price_in * s.grid_import_kw) * dt)
    export = float(np.sum(inp.price_out * s.grid_export_kw) * dt)
    deg = float(np.sum(inp.deg_cost_per_kwh * s.throughput_kwh(dt)))
    unserved = float(np.sum(s.unserved_kw) * dt * inp.voll_per_kwh)
    short = np.maximum(0.0, inp.e_init_kwh - s.soc_kwh[:, -1]) if inp.units else np.zeros(0)
    terminal = float(np.sum(short / inp.eta) * inp.price_in.max())
    return {
        "import_cost": energy, "export_revenue": export, "degradation_cost": deg, "unserved_penalty": unserved,
        "terminal_shortfall_cost": terminal,
        "operating_cost": energy - export + deg + unserved,
        "total_cost": energy - export + deg + unserved + terminal,
    }


class DayOptimiser:
    """The day's LP for a hub of ``units`` strings over ``steps`` steps, built once and re-solved.

    ``solve(inputs)`` changes costs, bounds and (if efficiencies moved) coefficients, and re-runs HiGHS
    from the previous basis.
    """

    def __init__(self, units: int, steps: int, dt_h: float, eta: np.ndarray, *, threads: int = 1) -> None:
        import highspy

        self.U, self.T, self.dt = units, steps, dt_h
        U, T = units, steps
        UT = U * T
        self.iC, self.iD, self.iE = 0, UT, 2 * UT
        self.iPV, self.iGI, self.iGO, self.iSW, self.iUN = 3 * UT, 3 * UT + T, 3 * UT + 2 * T, 3 * UT + 3 * T, 3 * UT + 4 * T
        self.iZ = 3 * UT + 5 * T  # per string: stored energy short of the start at the end of the horizon
        self.ncol = 3 * UT + 5 * T + U
        self.rBAL, self.rSOC, self.rSWC, self.rCC, self.rCD = 0, T, T + UT, 2 * T + UT, 3 * T + UT
        self.rTERM = 4 * T + UT
        self.nrow = 4 * T + UT + U
        self.eta = np.asarray(eta, dtype=float).copy()
        rows, cols, vals = self._triplets(self.eta)
        order = np.lexsort((rows, cols))
        rows, cols, vals = rows[order], cols[order], vals[order]
        start = np.zeros(self.ncol + 1, dtype=np.int32)
        np.cumsum(np.bincount(cols, minlength=self.ncol), out=start[1:])
        lp = highspy.HighsLp()
        lp.num_col_ = self.ncol
        lp.num_row_ = self.nrow
        lp.col_cost_ = np.zeros(self.ncol)
        lp.col_lower_ = np.zeros(self.ncol)
        lp.col_upper_ = np.full(self.ncol, _INF)
        lp.row_lower_ = np.zeros(self.nrow)
        lp.row_upper_ = np.zeros(self.nrow)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = start
        lp.a_matrix_.index_ = rows.astype(np.int32)
        lp.a_matrix_.value_ = vals
        self._highspy = highspy
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("threads", threads)
        self.h.passModel(lp)
        self._soc_entries = None
        self._all_cols = np.arange(self.ncol, dtype=np.int32)
        self._all_rows = np.arange(self.nrow, dtype=np.int32)

    def _triplets(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        U, T, dt = self.U, self.T, self.dt
        r: list[np.ndarray] = []
        c: list[np.ndarray] = []
        v: list[np.ndarray] = []

        def add(rr: np.ndarray, cc: np.ndarray, vv: np.ndarray | float) -> None:
            r.append(np.asarray(rr).ravel())
            c.append(np.asarray(cc).ravel())
            v.append(np.broadcast_to(np.asarray(vv, dtype=float), np.asarray(rr).shape).ravel())

        t = np.arange(T)
        bal = self.rBAL + t
        for col, sign in ((self.iPV, 1.0), (self.iGI, 1.0), (self.iGO, -1.0), (self.iSW, -1.0), (self.iUN, 1.0)):
            add(bal, col + t, sign)
        uu, tt = np.meshgrid(np.arange(U), t, indexing="ij")
        k = uu * T + tt
        add(self.rBAL + tt, self.iD + k, 1.0)
        add(self.rBAL + tt, self.iC + k, -1.0)
        soc = self.rSOC + k
        add(soc, self.iE + k, 1.0)
        prev = tt > 0
        add(soc[prev], self.iE + k[prev] - 1, -1.0)
        add(soc, self.iC + k, -eta[uu] * dt)
        add(soc, self.iD + k, dt / eta[uu])
        ti, tj = np.tril_indices(T)
        add(self.rSWC + ti, self.iSW + tj, dt)
        add(self.rCC + tt, self.iC + k, 1.0)
        add(self.rCD + tt, self.iD + k, 1.0)
        u = np.arange(U)
        add(self.rTERM + u, self.iE + u * T + T - 1, 1.0)
        add(self.rTERM + u, self.iZ + u, 1.0)
        return np.concatenate(r).astype(np.int64), np.concatenate(c).astype(np.int64), np.concatenate(v)

    def arrays(self, inp: DayInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Column costs, column bounds and row bounds of the LP for ``inp``."""
        U, T, dt = self.U, self.T, self.dt
        if inp.units != U or inp.steps != T or abs(inp.dt_h - dt) > 1e-12:
            raise HubInputError("inputs", f"{inp.units} strings × {inp.steps} steps", f"this optimiser was built for {U} × {T}")
        cost = np.zeros(self.ncol)
        lo = np.zeros(self.ncol)
        hi = np.full(self.ncol, _INF)
        w = np.repeat(inp.deg_cost_per_kwh * dt / 2, T)
        cost[self.iC:self.iC + U * T] = w
        cost[self.iD:self.iD + U * T] = w
        cost[self.iGI:self.iGI + T] = inp.price_in * dt
        cost[self.iGO:self.iGO + T] = -inp.price_out * dt
        cost[self.iUN:self.iUN + T] = inp.voll_per_kwh * dt
        cost[self.iPV:self.iPV + T] = -1e-9  # use PV rather than curtail when indifferent
        p = np.repeat(inp.power_kw, T)
        hi[self.iC:self.iC + U * T] = p
        hi[self.iD:self.iD + U * T] = p
        emin, emax = np.repeat(inp.e_min, T), np.repeat(inp.e_max, T)
        lo[self.iE:self.iE + U * T] = emin
        hi[self.iE:self.iE + U * T] = emax
        # the horizon should end no emptier than it began; a shortfall is priced as refilling it at the
        # horizon's highest import price (as schedule_cost prices it), so the optimiser can only be cheaper
        cost[self.iZ:self.iZ + U] = float(inp.price_in.max()) / inp.eta
        hi[self.iPV:self.iPV + T] = inp.pv_kw
        hi[self.iGI:self.iGI + T] = min(inp.import_limit_kw, _INF)
        hi[self.iGO:self.iGO + T] = min(inp.export_limit_kw, _INF)
        hi[self.iSW:self.iSW + T] = inp.swap_max_kw
        rlo = np.zeros(self.nrow)
        rhi = np.zeros(self.nrow)
        rlo[self.rBAL:self.rBAL + T] = inp.load_kw
        rhi[self.rBAL:self.rBAL + T] = inp.load_kw
        first = self.rSOC + np.arange(U) * T
        rlo[first] = inp.e_init_kwh
        rhi[first] = inp.e_init_kwh
        cum = inp.swap_due_kwh
        rlo[self.rSWC:self.rSWC + T] = np.minimum(inp.swap_min_cum_kwh, np.maximum(0.0, cum - inp.swap_buffer_kwh))
        rhi[self.rSWC:self.rSWC + T] = cum
        if inp.swap_finish:
            rlo[self.rSWC + T - 1] = min(cum[-1], inp.swap_min_cum_kwh[-1])
        rlo[self.rCC:self.rCC + 2 * T] = -_INF
        rhi[self.rCC:self.rCC + 2 * T] = min(inp.converter_kw, _INF)
        rlo[self.rTERM:self.rTERM + U] = np.minimum(inp.e_max, np.maximum(inp.e_min, inp.e_init_kwh))
        rhi[self.rTERM:self.rTERM + U] = _INF
        return cost, lo, hi, rlo, rhi

    def schedule_from(self, x: np.ndarray, inp: DayInputs, method: str = "optimised") -> Schedule:
        """The schedule of a solution vector ``x`` of this LP's columns."""
        U, T = self.U, self.T
        UT = U * T
        s = Schedule(
            method=method,
            charge_kw=np.maximum(x[self.iC:self.iC + UT].reshape(U, T), 0.0),
            discharge_kw=np.maximum(x[self.iD:self.iD + UT].reshape(U, T), 0.0),
            soc_kwh=x[self.iE:self.iE + UT].reshape(U, T),
            pv_used_kw=np.maximum(x[self.iPV:self.iPV + T], 0.0),
            grid_import_kw=np.maximum(x[self.iGI:self.iGI + T], 0.0),
            grid_export_kw=np.maximum(x[self.iGO:self.iGO + T], 0.0),
            swap_kw=np.maximum(x[self.iSW:self.iSW + T], 0.0),
            unserved_kw=np.maximum(x[self.iUN:self.iUN + T], 0.0),
        )
        s.cost = schedule_cost(inp, s)
        return s

    def solve(self, inp: DayInputs) -> Schedule:
        T, dt = self.T, self.dt
        t0 = time.perf_counter()
        cost, lo, hi, rlo, rhi = self.arrays(inp)
        h = self.h
        if not np.allclose(inp.eta, self.eta):
            for u in np.flatnonzero(~np.isclose(inp.eta, self.eta)):
                for tt in range(T):
                    h.changeCoeff(int(self.rSOC + u * T + tt), int(self.iC + u * T + tt), float(-inp.eta[u] * dt))
                    h.changeCoeff(int(self.rSOC + u * T + tt), int(self.iD + u * T + tt), float(dt / inp.eta[u]))
            self.eta = inp.eta.copy()
        h.changeColsCost(self.ncol, self._all_cols, cost)
        h.changeColsBounds(self.ncol, self._all_cols, lo, hi)
        h.changeRowsBounds(self.nrow, self._all_rows, rlo, rhi)
        h.run()
        status = h.getModelStatus()
        if status != self._highspy.HighsModelStatus.kOptimal:
            # a warm start can stall after large changes: retry from scratch once
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
            if status != self._highspy.HighsModelStatus.kOptimal:
                raise DispatchError(f"HiGHS returned {h.modelStatusToString(status)} for the day's dispatch")
        s = self.schedule_from(np.asarray(h.getSolution().col_value), inp)
        s.solve_s = time.perf_counter() - t0
        return s


def optimise_day(inp: DayInputs) -> Schedule:
    """Solve one horizon from scratch (for many days of one hub, keep a :class:`DayOptimiser`)."""
    return DayOptimiser(inp.units, inp.steps, inp.dt_h, inp.eta).solve(inp)


def rule_based_day(inp: DayInputs) -> Schedule:
    """The rule-based fallback (see the module docstring) on the same inputs."""
    t0 = time.perf_counter()
    U, T, dt = inp.units, inp.steps, inp.dt_h
    eta, P = inp.eta, inp.power_kw
    emin, emax = inp.e_min, inp.e_max
    e = inp.e_init_kwh.copy()
    c = np.zeros((U, T))
    d = np.zeros((U, T))
    soc = np.zeros((U, T))
    pv_used, gi, go, sw, un = (np.zeros(T) for _ in range(5))
    pmin, pmax = float(inp.price_in.min()), float(inp.price_in.max())
    tou = pmax > pmin + 1e-12
    backlog = inp.swap_backlog_kwh
    step_swap = inp.swap_step_kwh

    def can_charge() -> np.ndarray:
        return np.maximum(0.0, np.minimum(P, (emax - e) / (eta * dt)))

    def can_discharge() -> np.ndarray:
        return np.maximum(0.0, np.minimum(P, (e - emin) * eta / dt))

    def share(avail: np.ndarray, want: float, limit: float) -> np.ndarray:
        tot = float(avail.sum())
        want = min(want, limit, tot)
        return avail * (want / tot) if tot > 0 and want > 0 else np.zeros_like(avail)

    conv = inp.converter_kw
    for t in range(T):
        backlog += step_swap[t]
        sw[t] = min(inp.swap_max_kw, backlog / dt)
        backlog -= sw[t] * dt
        net = inp.load_kw[t] + sw[t] - inp.pv_kw[t]
        ch = np.zeros(U)
        dis = np.zeros(U)
        if net < 0:  # PV surplus: store, export, curtail
            ch = share(can_charge(), -net, conv)
            rest = -net - ch.sum()
            go[t] = min(rest, inp.export_limit_kw)
            pv_used[t] = inp.pv_kw[t] - (rest - go[t])
        else:
            pv_used[t] = inp.pv_kw[t]
            if inp.price_in[t] > pmin + 1e-12:
                dis = share(can_discharge(), net, conv)
            need = net - dis.sum()
            if tou and inp.price_in[t] <= pmin + 1e-12:
                ch = share(can_charge(), max(0.0, inp.import_limit_kw - need), conv)
            gi[t] = need + ch.sum()
            if gi[t] > inp.import_limit_kw:  # over the limit: storage first, then shed
                extra = share(np.maximum(0.0, can_discharge() - dis), gi[t] - inp.import_limit_kw, conv - dis.sum())
                dis = dis + extra
                gi[t] -= extra.sum()
                if gi[t] > inp.import_limit_kw:
                    un[t] = gi[t] - inp.import_limit_kw
                    gi[t] = inp.import_limit_kw
        e = e + eta * ch * dt - dis / eta * dt
        c[:, t], d[:, t], soc[:, t] = ch, dis, e
    if backlog > 1e-9 and inp.swap_finish:  # swap energy the chargers could not put back: unserved
        un[-1] += backlog / dt
        sw[-1] += backlog / dt
    s = Schedule("rule_based", c, d, soc, pv_used, gi, go, sw, un)
    s.solve_s = time.perf_counter() - t0
    s.cost = schedule_cost(inp, s)
    return s


def check_schedule(inp: DayInputs, s: Schedule, tol: float = 1e-5) -> list[str]:
    """Every limit of every step that ``s`` breaks, as readable lines (empty: all hold)."""
    out: list[str] = []
    dt = inp.dt_h
    a = tol * max(1.0, float(np.max(inp.power_kw, initial=0.0)), float(np.max(inp.load_kw, initial=0.0)))

    def bad(mask: np.ndarray, what: str) -> None:
        idx = np.argwhere(np.atleast_1d(mask))
        if idx.size:
            out.append(f"{what}: {len(idx)} step(s), first at {tuple(int(i) for i in idx[0])}")

    P = inp.power_kw[:, None]
    bad(s.charge_kw < -a, "charge below 0")
    bad(s.discharge_kw < -a, "discharge below 0")
    bad(s.charge_kw > P + a, "charge above the string's power")
    bad(s.discharge_kw > P + a, "discharge above the string's power")
    bad(s.soc_kwh < inp.e_min[:, None] - a, "stored energy below the minimum state of charge")
    bad(s.soc_kwh > inp.e_max[:, None] + a, "stored energy above the maximum state of charge")
    prev = np.concatenate([inp.e_init_kwh[:, None], s.soc_kwh[:, :-1]], axis=1)
    eta = inp.eta[:, None]
    bad(np.abs(s.soc_kwh - prev - eta * s.charge_kw * dt + s.discharge_kw * dt / eta) > a, "stored energy does not follow charge and discharge")
    bad(s.grid_import_kw > inp.import_limit_kw + a, "grid import above the import limit")
    bad(s.grid_import_kw < -a, "grid import below 0")
    bad(s.grid_export_kw > inp.export_limit_kw + a, "grid export above the export limit")
    bad(s.grid_export_kw < -a, "grid export below 0")
    bad((s.pv_used_kw > inp.pv_kw + a) | (s.pv_used_kw < -a), "PV used outside [0, PV available]")
    bad(s.charge_kw.sum(axis=0) > inp.converter_kw + a, "charge above the converter's power")
    bad(s.discharge_kw.sum(axis=0) > inp.converter_kw + a, "discharge above the converter's power")
    balance = s.pv_used_kw + s.grid_import_kw + s.discharge_kw.sum(axis=0) + s.unserved_kw - (
        inp.load_kw + s.swap_kw + s.charge_kw.sum(axis=0) + s.grid_export_kw)
    bad(np.abs(balance) > a, "AC bus out of balance (PV + import + discharge + unserved ≠ load + swap + charge + export)")
    bad(s.swap_kw > inp.swap_max_kw + a, "swap charging above the chargers' power")
    cum = np.cumsum(s.swap_kw) * dt
    due = inp.swap_due_kwh
    if due[-1] > 0:
        bad(cum > due + a * dt * inp.steps, "swap packs charged before they came back")
        lower = np.minimum(inp.swap_min_cum_kwh, np.maximum(0.0, due - inp.swap_buffer_kwh))
        bad(cum < lower - a * dt * inp.steps, "swap stock drawn below its reserve")
        if inp.swap_finish:
            bad(cum[-1] < min(due[-1], inp.swap_min_cum_kwh[-1]) - a * dt * inp.steps,
                "swap stock not re-charged by the end of the horizon")
    return out
