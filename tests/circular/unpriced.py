"""References with no recovered-material price at all, for the tests of what recycling and the routes do
without prices."""

from __future__ import annotations

import dataclasses

from batteryloop.reference import References


def unpriced_references() -> References:
    """The default references with EverBatt's price tables emptied (``References.override`` merges into a
    table and cannot empty one)."""
    base = References.default()
    sets = {n: base.set(n) for n in base.names()}
    eb = sets["everbatt_2023"]
    sets["everbatt_2023"] = dataclasses.replace(eb, values={**eb.values, "price_usd_per_kg": {}, "cathode_price_usd_per_kg": {}})
    return References(sets)
