"""Recycled content (Art. 8 of Regulation (EU) 2023/1542, REFERENCE.md §1) computed by hand, rule by rule.

Physical segregation follows the atoms; mass balance pools the recycled element mass of an account's inputs
(one producer, site and period) and allocates it to the account's outputs — post-consumer credit first,
never more than an output's element content, never more than the pool. Each test writes the arithmetic
in its docstring.
"""

from __future__ import annotations

import pytest

from batteryloop.trace.massbalance import (
    AccountLedger,
    Edge,
    Lot,
    MaterialGraph,
    Recycled,
    _cap,
    _leaf,
    aggregate,
    mass_balance,
    period_key,
    physical_segregation,
    recycled_content,
    shares,
)

approx = pytest.approx


def L(id_: str, mass: float, els: dict[str, float], origin: str | None = None, producer: str = "",
      site: str = "", at: str = "2026-01-01T00:00:00Z") -> Lot:
    return Lot(id_, mass, els, origin, producer, site, at)


# ------------------------------------------------------------------------------ building blocks


def test_recycled_total() -> None:
    r = Recycled({"Li": 1.0, "Co": 0.5}, {"Li": 2.0, "Ni": 4.0})
    assert (r.total("Li"), r.total("Co"), r.total("Ni"), r.total("Mn")) == (3.0, 0.5, 4.0, 0.0)


def test_build_leaves_out_inputs_of_sources_and_unknown_outputs() -> None:
    """A recovered (certified recycled) lot is a source: the edge from the pack it was recovered from is
    dropped, as is an edge into a lot that is not in the graph."""
    lots = [L("pack", 10, {"Li": 1}), L("rec", 5, {"Li": 0.9}, "post_consumer"), L("cam", 5, {"Li": 0.9})]
    edges = [Edge("rec", "pack", 10), Edge("cam", "rec", 5), Edge("ghost", "pack", 1)]
    g = MaterialGraph.build(lots, edges)
    assert g.inputs == {"cam": [Edge("cam", "rec", 5)]}
    assert set(g.lots) == {"pack", "rec", "cam"} and g.lots["rec"].mass_kg == 5


def test_brought_is_the_mass_fraction_of_each_element() -> None:
    """4 kg taken of a 10 kg lot holding 2 kg Li and 1 kg Co brings 0.8 kg Li and 0.4 kg Co."""
    g = MaterialGraph.build([L("src", 10, {"Li": 2, "Co": 1}), L("out", 4, {})], [Edge("out", "src", 4)])
    assert g.brought(Edge("out", "src", 4)) == {"Li": approx(0.8), "Co": approx(0.4)}
    assert g.brought(Edge("out", "src", 10)) == {"Li": approx(2), "Co": approx(1)}
    small = MaterialGraph.build([L("src", 0.5, {"Li": 0.1}), L("out", 4, {})], [Edge("out", "src", 0.25)])
    assert small.brought(Edge("out", "src", 0.25)) == {"Li": approx(0.05)}  # a lot under 1 kg brings its share
    g0 = MaterialGraph.build([L("src", 0, {"Li": 2}), L("out", 4, {})], [Edge("out", "src", 4)])
    assert g0.brought(Edge("out", "src", 4)) == {}  # a massless lot brings nothing (no division by zero)


def test_topological_order() -> None:
    """Inputs before outputs; independent lots by production time, then id."""
    lots = [L("b", 1, {}, at="2026-02"), L("a", 1, {}, at="2026-02"), L("c", 1, {}, at="2026-01"),
            L("x", 1, {}, at="2025-01"), L("y", 1, {}, at="2027-01")]
    # x (earliest) is made from y (latest) and a: y and a come before x
    g = MaterialGraph.build(lots, [Edge("x", "y", 1), Edge("x", "a", 1), Edge("x", "missing", 1)])
    assert g.topological() == ["y", "a", "x", "c", "b"]
    chain = MaterialGraph.build([L("1", 1, {}), L("2", 1, {}), L("3", 1, {})], [Edge("3", "2", 1), Edge("2", "1", 1)])
    assert chain.topological() == ["1", "2", "3"]
    # a lot reached twice is listed once
    diamond = MaterialGraph.build([L("s", 1, {}), L("m1", 1, {}), L("m2", 1, {}), L("t", 1, {})],
                                  [Edge("m1", "s", 1), Edge("m2", "s", 1), Edge("t", "m1", 1), Edge("t", "m2", 1)])
    assert diamond.topological() == ["s", "m1", "m2", "t"]


def test_topological_refuses_a_cycle_naming_a_lot() -> None:
    g = MaterialGraph.build([L("p", 1, {}), L("q", 1, {})], [Edge("p", "q", 1), Edge("q", "p", 1)])
    with pytest.raises(ValueError, match="cycle through lot (p|q)"):
        g.topological()
    for rule in ("physical_segregation", "mass_balance"):
        with pytest.raises(ValueError, match="cycle"):
            recycled_content(g, rule)  # type: ignore[arg-type]
    # a cycle deeper in the graph, reached from an earlier lot that is not part of it
    deep = MaterialGraph.build([L("r", 1, {}, at="2025-01-01"), L("p", 1, {}, at="2026-01-01"), L("q", 1, {}, at="2026-01-01")],
                               [Edge("r", "p", 1), Edge("p", "q", 1), Edge("q", "p", 1)])
    with pytest.raises(ValueError, match="cycle through lot p"):
        deep.topological()


@pytest.mark.parametrize(("origin", "pre", "post"), [
    (None, {}, {}), ("primary", {}, {}), ("pre_consumer", {"Li": 1, "Co": 2}, {}),
    ("post_consumer", {}, {"Li": 1, "Co": 2})])
def test_leaf_by_origin(origin: str | None, pre: dict, post: dict) -> None:
    r = _leaf(L("s", 10, {"Li": 1, "Co": 2}, origin))
    assert (r.pre_consumer, r.post_consumer) == (pre, post)


@pytest.mark.parametrize(("pre", "post", "want_pre", "want_post"), [
    ({"Li": 0.6}, {"Li": 0.7}, {"Li": 0.3}, {"Li": 0.7}),  # 0.3 over: taken from pre-consumer
    ({"Li": 0.1}, {"Li": 1.2}, {"Li": 0.0}, {"Li": 1.0}),  # 0.3 over: 0.1 from pre, 0.2 from post
    ({}, {"Li": 1.5}, {}, {"Li": 1.0}),  # only post-consumer credit: trimmed to the content
    ({"Li": 1.5}, {}, {"Li": 1.0}, {}),  # only pre-consumer credit
    ({"Li": 0.4}, {"Li": 0.6}, {"Li": 0.4}, {"Li": 0.6}),  # exactly the content: unchanged
    ({"Co": 9.0}, {}, {"Co": 9.0}, {}),  # an element the lot does not declare is not looked at
])
def test_cap_trims_pre_consumer_first(pre: dict, post: dict, want_pre: dict, want_post: dict) -> None:
    """The lot holds 1 kg Li: recycled Li above 1 kg is cut, pre-consumer credit first."""
    r = Recycled(dict(pre), dict(post))
    _cap(r, L("x", 10, {"Li": 1.0}))
    assert r.pre_consumer == {k: approx(v) for k, v in want_pre.items()}
    assert r.post_consumer == {k: approx(v) for k, v in want_post.items()}


# ------------------------------------------------------------------------------ physical segregation


def segregation_graph() -> MaterialGraph:
    """R post-consumer 10 kg (Li 1, Co 2); S pre-consumer 10 kg (Li 1); P primary 10 kg (Li 1, Co 1, Ni 3).

    X (25 kg) ← 5 kg R (Li 0.5, Co 1) + 10 kg S (Li 1) + 10 kg P (Li 1, Co 1, Ni 3): brought Li 2.5, Co 2, Ni 3.
    X holds Li 2.5 (share 1), Co 1 (share 0.5), Ni 3, Mn 0.5 (brought by nobody: no recycled Mn).
    Recycled in X: Li post 0.5, pre 1; Co post 1 × 0.5 = 0.5.

    Z ← 12.5 kg of X (half): brings Li 1.25, Co 0.5. Z holds Li 1.25, Co 0.5 (share 1):
    Li post 1.25 × 0.5/2.5 = 0.25, pre 1.25 × 1/2.5 = 0.5; Co post 0.5 × 0.5/1 = 0.25.

    Y ← 5 kg R (Li 0.5) declares Li 0.8 (more than brought: share capped at 1) → Li post 0.5.
    W ← 10 kg of E, a post-consumer lot that declares Li 0 kg: nothing recycled (no division by zero).
    """
    lots = [
        L("R", 10, {"Li": 1, "Co": 2}, "post_consumer"), L("S", 10, {"Li": 1}, "pre_consumer"),
        L("P", 10, {"Li": 1, "Co": 1, "Ni": 3}, "primary"), L("E", 10, {"Li": 0.0, "Co": 1.0}, "post_consumer"),
        L("X", 25, {"Li": 2.5, "Co": 1.0, "Ni": 3, "Mn": 0.5}), L("Z", 12.5, {"Li": 1.25, "Co": 0.5}),
        L("Y", 5, {"Li": 0.8}), L("W", 10, {"Li": 0.1, "Co": 0.5}),
    ]
    edges = [Edge("X", "R", 5), Edge("X", "S", 10), Edge("X", "P", 10), Edge("Z", "X", 12.5), Edge("Y", "R", 5),
             Edge("W", "E", 10)]
    return MaterialGraph.build(lots, edges)


def test_physical_segregation_by_hand() -> None:
    r = physical_segregation(segregation_graph())
    assert r["X"].post_consumer == {"Li": approx(0.5), "Co": approx(0.5)}
    assert r["X"].pre_consumer == {"Li": approx(1.0)}
    assert r["Z"].post_consumer == {"Li": approx(0.25), "Co": approx(0.25)}
    assert r["Z"].pre_consumer == {"Li": approx(0.5)}
    assert r["Y"].post_consumer == {"Li": approx(0.5)} and r["Y"].pre_consumer == {}
    assert r["W"].post_consumer == {"Co": approx(0.5)} and r["W"].pre_consumer == {}
    assert r["R"].post_consumer == {"Li": 1, "Co": 2} and r["S"].pre_consumer == {"Li": 1}
    assert (r["P"].pre_consumer, r["P"].post_consumer) == ({}, {})
    assert recycled_content(segregation_graph(), "physical_segregation")["Z"].post_consumer == r["Z"].post_consumer


# ------------------------------------------------------------------------------ periods


@pytest.mark.parametrize(("month", "quarter"), [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 2), (7, 3), (8, 3),
                                                (9, 3), (10, 4), (11, 4), (12, 4)])
def test_period_key(month: int, quarter: int) -> None:
    t = f"2031-{month:02d}-18T12:00:00Z"
    assert period_key(t, "year") == "2031"
    assert period_key(t, "quarter") == f"2031-Q{quarter}"
    assert period_key(t, "month") == f"2031-{month:02d}"


def test_period_key_of_a_bare_year_and_bad_period() -> None:
    assert period_key("2031", "month") == "2031-01" and period_key("2031", "quarter") == "2031-Q1"
    with pytest.raises(ValueError, match="period must be one of year, quarter, month, not 'week'"):
        period_key("2031-01-01", "week")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ mass balance


def account_graph(at_b: str = "2026-04-01T00:00:00Z") -> MaterialGraph:
    """One cathode plant (cam, plant) in 2026.

    Inputs: R post-consumer 10 kg with Li 5; S pre-consumer 10 kg with Li 3; P primary 10 kg with Li 2.
    A (Mar) ← all of R and P: brought Li 7, holds Li 4. B (Apr) ← all of S: brought Li 3, holds Li 2.
    Pool: post-consumer Li 5, pre-consumer Li 3; demand Li 4 + 2 = 6.
    """
    lots = [L("R", 10, {"Li": 5}, "post_consumer", "rec", "r"), L("S", 10, {"Li": 3}, "pre_consumer", "cell", "c"),
            L("P", 10, {"Li": 2}, "primary", "mine", "m"),
            L("A", 15, {"Li": 4}, None, "cam", "plant", "2026-03-01T00:00:00Z"),
            L("B", 8, {"Li": 2}, None, "cam", "plant", at_b)]
    return MaterialGraph.build(lots, [Edge("A", "R", 10), Edge("A", "P", 10), Edge("B", "S", 10)])


def test_mass_balance_proportional_post_consumer_first() -> None:
    """Post-consumer: f = 5/6; A gets 4 × 5/6 = 3.333, B 2 × 5/6 = 1.667 (the whole 5 kg).
    Pre-consumer: f = 3/6; A would get 2 but has room 4 − 3.333 = 0.667 left; B gets its room 0.333.
    Allocated pre-consumer 1 kg of 3: the 2 kg left expire."""
    books: dict = {}
    r = mass_balance(account_graph(), allocation="proportional", accounts=books)
    assert r["A"].post_consumer == {"Li": approx(10 / 3)} and r["A"].pre_consumer == {"Li": approx(2 / 3)}
    assert r["B"].post_consumer == {"Li": approx(5 / 3)} and r["B"].pre_consumer == {"Li": approx(1 / 3)}
    book = books[("cam", "plant", "2026")]
    assert isinstance(book, AccountLedger) and book.key == ("cam", "plant", "2026")
    assert book.credits_kg == {"post_consumer": {"Li": approx(5)}, "pre_consumer": {"Li": approx(3)}}
    assert book.allocated_kg == {"post_consumer": {"Li": approx(5)}, "pre_consumer": {"Li": approx(1)}}
    assert list(books) == [("cam", "plant", "2026")]  # sources keep no account
    # the sources keep their own content
    assert r["R"].post_consumer == {"Li": 5} and r["S"].pre_consumer == {"Li": 3} and r["P"].total("Li") == 0


def test_mass_balance_first_come() -> None:
    """Post-consumer 5 kg: A (first) takes its full 4, B the last 1. Pre-consumer 3 kg: A has no room,
    B takes its remaining room 1; 2 kg expire."""
    books: dict = {}
    r = mass_balance(account_graph(), allocation="first_come", accounts=books)
    assert r["A"].post_consumer == {"Li": approx(4)} and r["A"].pre_consumer == {}
    assert r["B"].post_consumer == {"Li": approx(1)} and r["B"].pre_consumer == {"Li": approx(1)}
    book = books[("cam", "plant", "2026")]
    assert book.allocated_kg == {"post_consumer": {"Li": approx(5)}, "pre_consumer": {"Li": approx(1)}}
    same = recycled_content(account_graph(), "mass_balance", allocation="first_come")
    assert same["B"].pre_consumer == r["B"].pre_consumer


def test_first_come_follows_production_order() -> None:
    """B produced before A (Feb): B takes 2 kg of post-consumer credit first, A the remaining 3."""
    r = mass_balance(account_graph(at_b="2026-02-01T00:00:00Z"), allocation="first_come")
    assert r["B"].post_consumer == {"Li": approx(2)} and r["A"].post_consumer == {"Li": approx(3)}
    assert r["A"].pre_consumer == {"Li": approx(1)} and r["B"].pre_consumer == {}


def test_period_splits_accounts() -> None:
    """B in 2027: two accounts. 2026: A alone with post 5 kg (A holds 4: gets 4, 1 expires).
    2027: B alone with pre 3 kg (B holds 2: gets 2). Quarters or months split the same way here."""
    for period, keys in (("year", ["2026", "2027"]), ("quarter", ["2026-Q1", "2027-Q2"]), ("month", ["2026-03", "2027-04"])):
        for allocation in ("proportional", "first_come"):
            books: dict = {}
            r = mass_balance(account_graph(at_b="2027-04-01T00:00:00Z"), period=period, allocation=allocation,  # type: ignore[arg-type]
                             accounts=books)
            assert r["A"].post_consumer == {"Li": approx(4)} and r["A"].pre_consumer == {}
            assert r["B"].pre_consumer == {"Li": approx(2)} and r["B"].post_consumer == {}
            assert sorted(k[2] for k in books) == keys


def test_credit_without_demand_is_not_allocated() -> None:
    """Co comes in as post-consumer credit (1 kg) but the output declares no Co: the credit is recorded and
    allocated to nobody."""
    for allocation in ("proportional", "first_come"):
        lots = [L("R", 10, {"Li": 1, "Co": 1}, "post_consumer"), L("E", 5, {"Li": 0.0}, "post_consumer"),
                L("O", 10, {"Li": 0.5}, None, "p", "s")]
        g = MaterialGraph.build(lots, [Edge("O", "R", 10), Edge("O", "E", 5)])
        books: dict = {}
        r = mass_balance(g, allocation=allocation, accounts=books)  # type: ignore[arg-type]
        assert r["O"].post_consumer == {"Li": approx(0.5)} and r["O"].pre_consumer == {}
        (book,) = books.values()
        assert book.credits_kg["post_consumer"] == {"Li": approx(1), "Co": approx(1)}
        assert book.allocated_kg["post_consumer"] == {"Li": approx(0.5)}


def test_intermediates_inside_an_account_pass_their_credit_through() -> None:
    """M (cam, plant) is made from R (post-consumer, Li 2) and consumed by N at the same plant and year:
    its credit is in the pool, and only N (the final output, Li 1.5) gets it: 1.5 kg, 0.5 kg expire."""
    for allocation in ("proportional", "first_come"):
        lots = [L("R", 10, {"Li": 2}, "post_consumer"), L("M", 10, {"Li": 2}, None, "cam", "plant", "2026-01-02"),
                L("N", 10, {"Li": 1.5}, None, "cam", "plant", "2026-01-03")]
        g = MaterialGraph.build(lots, [Edge("M", "R", 10), Edge("N", "M", 10)])
        books: dict = {}
        r = mass_balance(g, allocation=allocation, accounts=books)  # type: ignore[arg-type]
        assert (r["M"].pre_consumer, r["M"].post_consumer) == ({}, {})
        assert r["N"].post_consumer == {"Li": approx(1.5)}
        (book,) = books.values()
        assert book.credits_kg["post_consumer"] == {"Li": approx(2)}  # counted once, not again through M
        assert book.allocated_kg["post_consumer"] == {"Li": approx(1.5)}


def test_accounts_run_in_dependency_order() -> None:
    """The pack plant (oem) starts earlier (Jan, from primary material) but also consumes, in Dec, a
    cathode lot the cathode plant makes in Jun from post-consumer lithium: the cathode account is settled
    first, so the pack plant's pool holds the cathode's 1 kg of post-consumer Li.

    Cathode plant: C ← R (Li 1, post) → C holds Li 1 → 1 kg post-consumer.
    Pack plant 2026 pool: 1 kg post (via C); demand K1 (Li 1) + K2 (Li 1) = 2 → proportional 0.5 each,
    first come: K1 (Jan) takes 1, K2 none."""
    lots = [L("R", 10, {"Li": 1}, "post_consumer"), L("P", 10, {"Li": 1}, "primary"),
            L("C", 10, {"Li": 1}, None, "cam", "plant", "2026-06-01"),
            L("K1", 10, {"Li": 1}, None, "oem", "z", "2026-01-01"),
            L("K2", 10, {"Li": 1}, None, "oem", "z", "2026-12-01")]
    g = MaterialGraph.build(lots, [Edge("C", "R", 10), Edge("K1", "P", 10), Edge("K2", "C", 10)])
    r = mass_balance(g, allocation="proportional")
    assert r["C"].post_consumer == {"Li": approx(1)}
    assert r["K1"].post_consumer == {"Li": approx(0.5)} and r["K2"].post_consumer == {"Li": approx(0.5)}
    r = mass_balance(g, allocation="first_come")
    assert r["K1"].post_consumer == {"Li": approx(1)} and r["K2"].post_consumer == {}


def test_accounts_in_a_cycle_are_refused_with_advice() -> None:
    """Plant A makes X; plant B makes Y from X; plant A makes Z from Y — the same year: A's account needs
    B's and B's needs A's. Per month the cycle is gone."""
    lots = [L("s", 10, {"Li": 1}, "post_consumer"), L("X", 10, {"Li": 1}, None, "a", "1", "2026-01-01"),
            L("Y", 10, {"Li": 1}, None, "b", "2", "2026-02-01"), L("Z", 10, {"Li": 1}, None, "a", "1", "2026-03-01")]
    g = MaterialGraph.build(lots, [Edge("X", "s", 10), Edge("Y", "X", 10), Edge("Z", "Y", 10)])
    with pytest.raises(ValueError, match=r"cycle at \('a', '1', '2026'\)|cycle at \('b', '2', '2026'\)") as e:
        mass_balance(g)
    assert "; use a shorter period or physical segregation" in str(e.value)
    r = mass_balance(g, period="month")
    assert r["Z"].post_consumer == {"Li": approx(1)}


def test_mass_balance_refuses_unknown_settings() -> None:
    g = account_graph()
    with pytest.raises(ValueError, match="allocation must be 'proportional' or 'first_come', not 'random'"):
        mass_balance(g, allocation="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="period must be one of year, quarter, month, not 'week'"):
        mass_balance(g, period="week")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown allocation rule 'atoms': use one of physical_segregation, mass_balance"):
        recycled_content(g, "atoms")  # type: ignore[arg-type]


def test_recycled_content_passes_its_settings_on() -> None:
    """Default: mass balance, per year, proportional. With period month A and B (Mar, Apr) have their own
    pools: A gets 4 of the 5 kg post-consumer credit, B 2 of the 3 kg pre-consumer."""
    g = account_graph()
    assert recycled_content(g)["A"].post_consumer == {"Li": approx(10 / 3)}
    by_month = recycled_content(g, period="month")
    assert by_month["A"].post_consumer == {"Li": approx(4)} and by_month["B"].pre_consumer == {"Li": approx(2)}


# ------------------------------------------------------------------------------ shares and aggregates


def test_shares() -> None:
    """Li 2 kg in the lot, 0.5 kg pre and 1 kg post: 25 % + 50 % = 75 %; Co absent: no share."""
    lot = L("x", 10, {"Li": 2.0, "Ni": 1.0})
    s = shares(lot, Recycled({"Li": 0.5}, {"Li": 1.0}), ["Li", "Co", "Ni"])
    assert s == {"Li": {"pre_consumer": 0.25, "post_consumer": 0.5, "total": 0.75, "element_kg": 2.0},
                 "Co": {"pre_consumer": None, "post_consumer": None, "total": None, "element_kg": 0.0},
                 "Ni": {"pre_consumer": 0.0, "post_consumer": 0.0, "total": 0.0, "element_kg": 1.0}}


def test_aggregate_over_lots() -> None:
    """Two packs: Li 2 + 6 = 8 kg; pre 0.5 + 1.5 = 2; post 1 + 1 = 2 → 25 %, 25 %, 50 % with 4 kg recycled."""
    lots = [L("a", 10, {"Li": 2.0}), L("b", 10, {"Li": 6.0, "Co": 1.0})]
    recs = {"a": Recycled({"Li": 0.5}, {"Li": 1.0}), "b": Recycled({"Li": 1.5}, {"Li": 1.0, "Co": 0.25})}
    agg = aggregate(lots, recs, ["Li", "Co", "Ni"])
    assert agg == {
        "Li": {"pre_consumer": 0.25, "post_consumer": 0.25, "total": 0.5, "element_kg": 8.0, "recycled_kg": 4.0},
        "Co": {"pre_consumer": 0.0, "post_consumer": 0.25, "total": 0.25, "element_kg": 1.0, "recycled_kg": 0.25},
        "Ni": {"pre_consumer": None, "post_consumer": None, "total": None, "element_kg": 0.0, "recycled_kg": 0.0},
    }
    assert aggregate([], {}, ["Li"]) == {"Li": {"pre_consumer": None, "post_consumer": None, "total": None,
                                                "element_kg": 0.0, "recycled_kg": 0.0}}


def test_physical_segregation_sums_several_recycled_inputs() -> None:
    """X ← all of R1 (post-consumer, Li 1) + all of R2 (post-consumer, Li 2) + all of S (pre-consumer, Li 1)
    + all of P (primary, Li 1) holds all 5 kg Li: post-consumer 1 + 2 = 3, pre-consumer 1."""
    lots = [L("R1", 10, {"Li": 1}, "post_consumer"), L("R2", 10, {"Li": 2}, "post_consumer"),
            L("S", 10, {"Li": 1}, "pre_consumer"), L("P", 10, {"Li": 1}, "primary"), L("X", 40, {"Li": 5})]
    g = MaterialGraph.build(lots, [Edge("X", "R1", 10), Edge("X", "P", 10), Edge("X", "R2", 10), Edge("X", "S", 10)])
    r = physical_segregation(g)
    assert r["X"].post_consumer == {"Li": approx(3)} and r["X"].pre_consumer == {"Li": approx(1)}
    mb = mass_balance(g)
    assert mb["X"].post_consumer == {"Li": approx(3)} and mb["X"].pre_consumer == {"Li": approx(1)}


def test_accounts_are_settled_in_production_order_dependencies_first() -> None:
    """Accounts are settled (and listed in the books) by their first production, an account after the
    accounts it consumes from: z's plant (Jan) before a's plant (Feb); the pack plant (oem, Jan) consumes
    the cathode plant's (cam, Jun) lot, so cam comes first though oem produced earlier."""
    lots = [L("R", 10, {"Li": 1}, "post_consumer"), L("P", 10, {"Li": 1}, "primary"),
            L("Z1", 1, {"Li": 0.1}, None, "z", "1", "2026-01-05"), L("A1", 1, {"Li": 0.1}, None, "a", "1", "2026-02-01"),
            L("C", 5, {"Li": 0.5}, None, "cam", "plant", "2026-06-01"),
            L("K1", 1, {"Li": 0.1}, None, "oem", "z", "2026-01-01"), L("K2", 5, {"Li": 0.5}, None, "oem", "z", "2026-12-01")]
    edges = [Edge("Z1", "P", 1), Edge("A1", "P", 1), Edge("C", "R", 5), Edge("K1", "P", 1), Edge("K2", "C", 5)]
    books: dict = {}
    mass_balance(MaterialGraph.build(lots, edges), accounts=books)
    assert [k[0] for k in books] == ["cam", "oem", "z", "a"]


def test_a_lot_made_from_an_intermediate_and_a_bought_lot() -> None:
    """N (cam, plant) consumes the plant's own intermediate M (made from R, post-consumer Li 2) and a bought
    recycled lot R2 (post-consumer Li 1): the pool holds 2 + 1 = 3 kg, N holds Li 2.5 and gets 2.5 kg."""
    lots = [L("R", 10, {"Li": 2}, "post_consumer"), L("R2", 10, {"Li": 1}, "post_consumer"),
            L("M", 10, {"Li": 2}, None, "cam", "plant", "2026-01-02"),
            L("N", 20, {"Li": 2.5}, None, "cam", "plant", "2026-01-03")]
    g = MaterialGraph.build(lots, [Edge("M", "R", 10), Edge("N", "M", 10), Edge("N", "R2", 10)])
    books: dict = {}
    r = mass_balance(g, accounts=books)
    assert r["N"].post_consumer == {"Li": approx(2.5)}
    (book,) = books.values()
    assert book.credits_kg["post_consumer"] == {"Li": approx(3)}


def test_a_source_declaring_zero_of_one_element_still_brings_the_others() -> None:
    """E (post-consumer) declares Li 0 kg and Co 1 kg: its Co credit (1 kg) reaches O (Co 1 kg); no Li."""
    for rule in ("physical_segregation", "mass_balance"):
        lots = [L("E", 10, {"Li": 0.0, "Co": 1.0}, "post_consumer"), L("O", 10, {"Li": 0.5, "Co": 1.0}, None, "p", "s")]
        r = recycled_content(MaterialGraph.build(lots, [Edge("O", "E", 10)]), rule)  # type: ignore[arg-type]
        assert r["O"].post_consumer == {"Co": approx(1.0)}, rule


def test_books_passed_in_keep_their_earlier_entries() -> None:
    """An account ledger passed in (e.g. with an earlier run's entries: post-consumer Li credited 1 kg,
    allocated 0.5 kg) adds this run's: credited 1 + 5 = 6 kg, allocated 0.5 + 5 = 5.5 kg."""
    key = ("cam", "plant", "2026")
    book = AccountLedger(key)
    book.credits_kg["post_consumer"]["Li"] = 1.0
    book.allocated_kg["post_consumer"]["Li"] = 0.5
    books = {key: book}
    mass_balance(account_graph(), accounts=books)
    assert books[key] is book
    assert book.credits_kg["post_consumer"] == {"Li": approx(6)} and book.credits_kg["pre_consumer"] == {"Li": approx(3)}
    assert book.allocated_kg["post_consumer"] == {"Li": approx(5.5)}
