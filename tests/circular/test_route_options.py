"""The route-option registry: the built-ins as the decision always had them, and a throwaway option
registered, compared in a decision (single, batch, grades, safety flags, its own economics parameter)
with a hand-computed value, and gone again afterwards."""

from __future__ import annotations

import numpy as np
import pytest

from batteryloop.circular import route_options
from batteryloop.circular.errors import CircularInputError
from batteryloop.circular.route_options import CashFlow, Fleet, Pack, RouteSpec
from batteryloop.circular.routes import (
    DEFAULT_GRADE_ROUTES,
    ROUTES,
    RouteEconomics,
    decide_route,
    decide_routes_batch,
)

BUILT_IN = ("reuse", "remanufacture", "repurpose", "recycle_pyro", "recycle_hydro", "recycle_direct")
PRICE = "module_resale_usd_per_kwh"


def _npv(f: Fleet) -> np.ndarray:
    return f.cap * f.soh * getattr(f.economics, PRICE)


def _explain(p: Pack) -> tuple[list[CashFlow], str]:
    v = p.cap * p.soh * getattr(p.economics, PRICE)
    why = "below 0.5" if p.soh < 0.5 else "modules sold"
    return [CashFlow(label="module sale", years="0", amount_usd=v, present_value_usd=v)], why


def _resale() -> RouteSpec:
    return RouteSpec("module_resale", kind="module_resale", label="module resale", grades=("A", "B"), npv=_npv,
                     explain=_explain, condition=lambda f: f.soh >= 0.5, operator="module trader", color="#9467bd",
                     parameters={PRICE: 20.0})


def test_the_built_in_options_and_grade_table() -> None:
    assert ROUTES == route_options.names() == BUILT_IN
    assert route_options.recycling_names() == BUILT_IN[3:]
    assert DEFAULT_GRADE_ROUTES == {
        "A": BUILT_IN, "B": BUILT_IN[1:], "C": BUILT_IN[2:], "recycle": BUILT_IN[3:], "D": BUILT_IN[3:],
        "rejected": BUILT_IN[3:]}
    assert [route_options.get(r).label for r in BUILT_IN] == [  # type: ignore[union-attr]
        "reuse", "remanufacture", "repurpose", "recycle (pyro)", "recycle (hydro)", "recycle (direct)"]
    assert route_options.kinds() == ("reuse", "remanufacture", "repurpose", "recycle")
    assert route_options.operators() == {"reuse": "re-use dealer", "remanufacture": "remanufacturer",
                                         "repurpose": "second-life integrator", "recycle": "recycler"}
    assert route_options.kind_of("recycle_hydro") == "recycle" and route_options.kind_of("second life") == "second life"


def test_a_registered_option_is_compared_and_then_gone() -> None:
    with route_options.registered(_resale()):
        d = decide_route("LFP", 60, 0.75, sensitivity=False)
        o = d.option("module_resale")
        assert o.feasible and o.npv_usd == pytest.approx(60 * 0.75 * 20.0)  # 900 $
        assert o.reason == "modules sold" and o.cash_flows[0].amount_usd == pytest.approx(900.0)
        assert len(d.ranking) == 7 and d.economics.model_dump()[PRICE] == 20.0
        # its own economics parameter is overridable like any field: at 100 $/kWh it wins (4500 $)
        rich = decide_route("LFP", 60, 0.75, economics={PRICE: 100.0}, sensitivity=False)
        assert rich.recommended == "module_resale" and rich.ranking[0].npv_usd == pytest.approx(4500.0)
        # its condition, the grades and safety flags apply to it as to the built-ins
        assert not decide_route("LFP", 60, 0.45, sensitivity=False).option("module_resale").feasible
        c = decide_route("LFP", 60, 0.75, grade="C", sensitivity=False).option("module_resale")
        assert not c.feasible and c.reason == "grade C does not allow module_resale"
        flagged = decide_route("LFP", 60, 0.75, safety_flags=["swelling"], sensitivity=False)
        assert not flagged.option("module_resale").feasible
        # the batch form has its column, with the same value
        b = decide_routes_batch(["LFP", "LFP"], np.array([60.0, 60.0]), np.array([0.75, 0.45]),
                                economics={PRICE: 100.0})
        assert b.routes[-1] == "module_resale" and b.best_routes()[0] == "module_resale"
        assert b.npv_usd[0, -1] == pytest.approx(4500.0) and np.isnan(b.npv_usd[1, -1])
        assert route_options.grade_routes()["B"][-1] == "module_resale"
        assert "module_resale" not in DEFAULT_GRADE_ROUTES["A"]  # the built-in snapshot stays as it was
    assert route_options.names() == BUILT_IN and route_options.get("module_resale") is None
    d = decide_route("LFP", 60, 0.75, sensitivity=False)
    assert [o.route for o in d.ranking if o.route == "module_resale"] == [] and len(d.ranking) == 6
    assert PRICE not in d.economics.model_dump()
    with pytest.raises(CircularInputError, match="unknown economics field"):
        RouteEconomics.from_references(**{PRICE: 1.0})


def test_names_are_unique() -> None:
    with pytest.raises(ValueError, match="already registered"):
        route_options.register(route_options.get("reuse"))  # type: ignore[arg-type]
    assert route_options.names() == BUILT_IN


def test_two_threads_deciding_two_fleets_each_get_their_own_second_life_figures() -> None:
    """The second-life NPV and years of a fleet are computed once per fleet (its repurpose NPV and its condition
    both need them). Kept in a module-level "last fleet" cache, they went to the wrong decision when two threads
    decided two fleets at once: thread A stored its fleet's figures, thread B stored its own over them before A
    read them back, and A's fleet was decided with B's packs (a fleet of 3 handed the figures of 5).

    The interleaving is forced, not hoped for: thread A is held (a trace hook) at the return of the computation
    of its fleet's parts — after it stored them, before it reads them — while B decides its fleet whole."""
    import inspect
    import sys
    import threading

    def fleet(soh: list[float]) -> tuple[list[str], np.ndarray, np.ndarray]:
        return ["LFP"] * len(soh), np.full(len(soh), 60.0), np.array(soh)

    a, b = fleet([0.82, 0.9, 0.75]), fleet([0.95, 0.7, 0.88, 0.81, 0.99])
    want_a, want_b = decide_routes_batch(*a), decide_routes_batch(*b)
    # both fleets have packs that may be repurposed: their second-life figures are part of the decision
    assert all(np.isfinite(w.npv_usd[:, w.routes.index("repurpose")]).any() for w in (want_a, want_b))

    code = route_options._repurpose_parts.__code__
    lines, first = inspect.getsourcelines(route_options._repurpose_parts)
    returns = {first + i for i, text in enumerate(lines) if text.strip().startswith("return")}
    held, go = threading.Event(), threading.Event()

    def tracer(frame: object, event: str, arg: object) -> object:
        if getattr(frame, "f_code", None) is not code:
            return None

        def local(fr: object, ev: str, _: object) -> object:
            if ev == "line" and getattr(fr, "f_lineno", None) in returns and not go.is_set():
                held.set()
                go.wait(10)
            return local

        return local

    got: dict[str, object] = {}

    def decide_a() -> None:
        sys.settrace(tracer)  # type: ignore[arg-type]
        try:
            got["a"] = decide_routes_batch(*a)
        except Exception as exc:  # noqa: BLE001 — reported below, in the test's thread
            got["a"] = exc
        finally:
            sys.settrace(None)

    t = threading.Thread(target=decide_a)
    t.start()
    try:
        assert held.wait(10), "thread A never reached the second-life figures"
        got["b"] = decide_routes_batch(*b)
    finally:
        go.set()
        t.join(10)
    assert not isinstance(got["a"], Exception), repr(got["a"])
    for name, want in (("a", want_a), ("b", want_b)):
        res = got[name]
        np.testing.assert_array_equal(res.npv_usd, want.npv_usd)  # type: ignore[attr-defined]
        assert res.best_routes() == want.best_routes()  # type: ignore[attr-defined]
