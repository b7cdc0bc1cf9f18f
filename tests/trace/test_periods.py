"""Mass-balance accounting periods (:func:`batteryloop.trace.massbalance.period_key`) by hand.

A production account is one producer's site over one period: a year (``"2026"``), a quarter
(``"2026-Q1"`` … ``"2026-Q4"``: Jan–Mar, Apr–Jun, Jul–Sep, Oct–Dec) or a month (``"2026-01"`` …
``"2026-12"``). Times are the ledger's UTC text (``%Y-%m-%dT%H:%M:%S.%fZ``): an event given with
another offset is stored in UTC first, so its period is the UTC one.
"""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from batteryloop.trace.events import UtcTime
from batteryloop.trace.massbalance import AccountLedger, Edge, Lot, MaterialGraph, mass_balance, period_key

# month → quarter, written out by hand (not (m - 1) // 3 + 1)
QUARTER_OF_MONTH = {1: "Q1", 2: "Q1", 3: "Q1", 4: "Q2", 5: "Q2", 6: "Q2",
                    7: "Q3", 8: "Q3", 9: "Q3", 10: "Q4", 11: "Q4", 12: "Q4"}


@pytest.mark.parametrize("month", range(1, 13))
def test_every_month_of_the_year(month: int) -> None:
    """Mid-month (the 15th, noon UTC) of each month of 2026: year "2026", month "2026-MM", quarter
    from the hand table (Jan–Mar Q1, Apr–Jun Q2, Jul–Sep Q3, Oct–Dec Q4; never Q0 or Q5)."""
    t = f"2026-{month:02d}-15T12:00:00.000000Z"
    assert period_key(t, "year") == "2026"
    assert period_key(t, "month") == f"2026-{month:02d}"
    assert period_key(t, "quarter") == f"2026-{QUARTER_OF_MONTH[month]}"


def test_the_year_has_four_quarters_and_twelve_months() -> None:
    """Over the 12 months: 4 distinct quarters, each holding 3 months, and 12 distinct months."""
    quarters = [period_key(f"2026-{m:02d}-01T00:00:00Z", "quarter") for m in range(1, 13)]
    assert sorted(set(quarters)) == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert all(quarters.count(q) == 3 for q in set(quarters))
    assert len({period_key(f"2026-{m:02d}-01T00:00:00Z", "month") for m in range(1, 13)}) == 12


@pytest.mark.parametrize(
    ("time", "year", "quarter", "month"),
    [
        ("2025-12-31T23:59:59.999999Z", "2025", "2025-Q4", "2025-12"),  # last instant of 2025
        ("2026-01-01T00:00:00.000000Z", "2026", "2026-Q1", "2026-01"),  # UTC midnight of 1 Jan
        ("2026-03-31T23:59:59.999999Z", "2026", "2026-Q1", "2026-03"),  # end of Q1
        ("2026-04-01T00:00:00.000000Z", "2026", "2026-Q2", "2026-04"),  # start of Q2
        ("2026-06-30T23:59:59Z", "2026", "2026-Q2", "2026-06"),
        ("2026-07-01T00:00:00Z", "2026", "2026-Q3", "2026-07"),
        ("2026-09-30T23:59:59Z", "2026", "2026-Q3", "2026-09"),
        ("2026-10-01T00:00:00Z", "2026", "2026-Q4", "2026-10"),
        ("2026-12-31T23:59:59Z", "2026", "2026-Q4", "2026-12"),  # 31 Dec 23:59:59: still 2026, Q4
        ("2028-02-29T12:00:00Z", "2028", "2028-Q1", "2028-02"),  # leap day
    ],
)
def test_boundaries(time: str, year: str, quarter: str, month: str) -> None:
    """Each quarter's first and last instant, and the year boundary, on both sides."""
    assert (period_key(time, "year"), period_key(time, "quarter"), period_key(time, "month")) == (year, quarter, month)


@pytest.mark.parametrize(
    ("given", "stored", "quarter", "month"),
    [
        # 00:30 on 1 Jan in Paris (+01:00) is 23:30 UTC on 31 Dec: the 2025 Q4 account
        ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000000Z", "2025-Q4", "2025-12"),
        # 20:00 on 31 Dec in New York (−05:00) is 01:00 UTC on 1 Jan: the 2026 Q1 account
        ("2025-12-31T20:00:00-05:00", "2026-01-01T01:00:00.000000Z", "2026-Q1", "2026-01"),
        # 09:00 on 1 Apr in Shanghai (+08:00) is 01:00 UTC the same day: Q2
        ("2026-04-01T09:00:00+08:00", "2026-04-01T01:00:00.000000Z", "2026-Q2", "2026-04"),
        # 07:59 on 1 Jul in Shanghai is 23:59 UTC on 30 Jun: still Q2
        ("2026-07-01T07:59:00+08:00", "2026-06-30T23:59:00.000000Z", "2026-Q2", "2026-06"),
    ],
)
def test_offsets_become_utc_before_the_period(given: str, stored: str, quarter: str, month: str) -> None:
    """An event time with an offset is stored as UTC text (the hand conversion in each case); the
    account period is taken from that UTC text."""
    adapter = TypeAdapter(UtcTime)
    text = adapter.dump_python(adapter.validate_python(given), mode="json")
    assert text == stored
    assert period_key(text, "quarter") == quarter and period_key(text, "month") == month


def test_unknown_period_is_refused() -> None:
    """Only year, quarter and month exist; "quarterly" or "week" must not silently become monthly."""
    for bad in ("quarterly", "week", "Q", ""):
        with pytest.raises(ValueError, match="period"):
            period_key("2026-05-01T00:00:00Z", bad)  # type: ignore[arg-type]
    g = MaterialGraph.build([Lot("P", 10, {"Li": 1.0}, "primary")], [])
    with pytest.raises(ValueError, match="period"):
        mass_balance(g, period="quarterly")  # type: ignore[arg-type]


def test_accounts_split_at_the_year_boundary() -> None:
    """Two lots of one plant, made 1 s apart across New Year (31 Dec 23:59:59 and 1 Jan 00:00:00 UTC):
    with quarters they land in the accounts "2025-Q4" and "2026-Q1"; with months "2025-12" and
    "2026-01"; with years "2025" and "2026" — two accounts each time, never "2025-Q5" or "2026-Q0"."""
    lots = [Lot("P", 20, {"Li": 2.0}, "post_consumer", "rec", "r", "2025-06-01T00:00:00Z"),
            Lot("a", 10, {"Li": 1.0}, None, "cam", "plant", "2025-12-31T23:59:59.000000Z"),
            Lot("b", 10, {"Li": 1.0}, None, "cam", "plant", "2026-01-01T00:00:00.000000Z")]
    g = MaterialGraph.build(lots, [Edge("a", "P", 10), Edge("b", "P", 10)])
    for period, keys in (("quarter", {"2025-Q4", "2026-Q1"}), ("month", {"2025-12", "2026-01"}),
                         ("year", {"2025", "2026"})):
        books: dict[tuple[str, str, str], AccountLedger] = {}
        r = mass_balance(g, period=period, accounts=books)  # type: ignore[arg-type]
        assert {k[2] for k in books} == keys
        # each account consumed 10 kg of the recycled lot (1 kg Li) and gives it to its own output
        assert r["a"].post_consumer["Li"] == pytest.approx(1.0) and r["b"].post_consumer["Li"] == pytest.approx(1.0)
