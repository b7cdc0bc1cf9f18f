"""Properties of the dispatch over generated days, edge cases included (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.hubs.dispatch import check_schedule, optimise_day, rule_based_day

from .conftest import make_day


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), units=st.integers(1, 4), flat=st.booleans(), pv=st.booleans(), swap=st.booleans(),
       import_limit=st.sampled_from([30.0, 120.0, 1e6]), retired=st.booleans(), sph=st.sampled_from([1, 2, 4]))
def test_limits_hold_and_optimiser_never_loses(seed, units, flat, pv, swap, import_limit, retired, sph) -> None:
    rng = np.random.default_rng(seed)
    over = {}
    if retired:  # a string out of service: no energy, no power
        probe = make_day(np.random.default_rng(seed), units=units, flat=flat, pv=pv, swap=swap, steps_per_hour=sph)
        e, p, e0 = probe.energy_kwh.copy(), probe.power_kw.copy(), probe.e_init_kwh.copy()
        e[0] = p[0] = e0[0] = 0.0
        over = {"energy_kwh": e, "power_kw": p, "e_init_kwh": e0}
    inp = make_day(rng, units=units, flat=flat, pv=pv, swap=swap, import_limit_kw=import_limit, steps_per_hour=sph, **over)
    opt, rule = optimise_day(inp), rule_based_day(inp)
    assert check_schedule(inp, opt) == []
    assert check_schedule(inp, rule) == []
    assert opt.cost["total_cost"] <= rule.cost["total_cost"] + 1e-6 * max(1.0, abs(rule.cost["total_cost"]))
    if retired:
        assert opt.throughput_kwh(inp.dt_h)[0] == 0.0
