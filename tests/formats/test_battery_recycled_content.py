"""A battery's own recycled content (Art. 8: its model, plant and year, from the ledger) is what every standard
export declares for it; the model's catalogue figure is only the fallback."""

from __future__ import annotations

import pytest

from batteryloop import formats
from batteryloop.formats.base import PassportParts
from batteryloop.passport.tiers import ALL_TIERS
from batteryloop.sim import pilot

OWN = {"cobalt_pct": 10.91, "lithium_pct": 7.93, "nickel_pct": 11.2, "allocation_rule": "mass_balance"}
FORMATS = ("catenax", "idta-samm", "aas-json", "batterypass")


def _parts(own: dict[str, object] | None) -> PassportParts:
    m = pilot.battery_models()[0]  # the catalogue declares Co 8 / Li 3 / Ni 4 %
    assert m["recycled_content"]["cobalt_pct"] == 8.0
    b = dict(next(pilot.generate_batteries(1, seed=1)), model_id=m["model_id"])
    if own is not None:
        b["recycled_content"] = own
    return PassportParts.from_data(m, b, ALL_TIERS)


def _round_trip(fmt: str, own: dict[str, object] | None) -> dict[str, float]:
    """Export in ``fmt``, import the payload back: the recycled content the standard declared."""
    ex = formats.get(fmt).export(_parts(own), validate=True)
    res = formats.import_passport(ex.payload if hasattr(ex, "payload") else ex.content, fmt, lenient=True)
    rc = res.model.recycled_content if res.model else None
    return rc.model_dump() if rc else res.model_fields.get("recycled_content")


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_batterys_own_figure_is_exported_and_comes_back(fmt: str) -> None:
    got = _round_trip(fmt, OWN)
    for metal in ("cobalt", "lithium", "nickel"):
        assert got[f"{metal}_pct"] == pytest.approx(OWN[f"{metal}_pct"]), (fmt, got)


@pytest.mark.parametrize("fmt", FORMATS)
def test_without_its_own_figure_the_models_declaration_is_exported(fmt: str) -> None:
    got = _round_trip(fmt, None)
    assert got["cobalt_pct"] == pytest.approx(8.0) and got["lithium_pct"] == pytest.approx(3.0)
