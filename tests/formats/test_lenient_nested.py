"""Lenient import keeps the valid members of a nested object and reports each member it drops, with its path
(issue 16: ``Collector._drop`` used to drop the whole object, or the whole list element, on its first invalid
member)."""

from __future__ import annotations

import copy

import pytest

from batteryloop.errors import InvalidData
from batteryloop.formats import batterypass
from tests.formats.test_batterypass import DEFAULTS, PASSPORT


def _payload() -> dict:
    doc = copy.deepcopy(PASSPORT)
    doc["CarbonFootprintForBatteries"]["carbonFootprintPerformanceClass"] = "Z"  # our class is A … G
    h = doc["MaterialComposition"]["hazardousSubstances"][0]
    h["hazardousSubstanceConcentration"] = 150.0  # a share above 100 %
    doc["Circularity"]["sparePartSources"][0]["components"][1]["partNumber"] = "X" * 101  # longer than 100
    return doc


def test_lenient_drops_the_invalid_member_only_and_names_each() -> None:
    res = batterypass.import_payload(_payload(), lenient=True, defaults=DEFAULTS)
    model, _ = res.require()
    # the footprint keeps its total and four stages; only the class is gone
    cf = model.carbon_footprint
    assert cf is not None and cf.performance_class is None
    assert (cf.total_kgco2e_per_kwh, cf.raw_material_kgco2e_per_kwh, cf.end_of_life_kgco2e_per_kwh) == (71.0, 44.0, 4.0)
    # the substance keeps its name, CAS number, location and class; only its concentration is gone
    (h,) = model.hazardous_substances
    assert (h.name, h.cas_number, h.location, h.concentration_pct) == (
        "lithium hexafluorophosphate", "21324-40-3", "Electrolyte", None)
    # a spare part whose required part number is invalid cannot stand: that part goes, the other stays
    assert [p.part_number for p in model.spare_parts] == ["NZ-MOD-12"]
    dropped = {d["target"]: d["field"] for d in res.report.dropped if "target" in d}
    assert dropped["model.carbon_footprint.performance_class"] == "carbon_footprint.carbonFootprintPerformanceClass"
    # (the reader builds a substance from one source entity: its path names the entity, the target the member)
    assert dropped["model.hazardous_substances[0].concentration_pct"] == "material_composition.hazardousSubstances[0]"
    assert "model.spare_parts[1].part_number" in dropped
    assert all(d["message"].startswith(d["field"]) for d in res.report.dropped)


def test_strict_still_refuses_naming_every_member() -> None:
    with pytest.raises(InvalidData) as exc:
        batterypass.import_payload(_payload(), check_schema=False, defaults=DEFAULTS)
    targets = {e.get("target") for e in exc.value.errors}
    assert {"model.carbon_footprint.performance_class", "model.hazardous_substances[0].concentration_pct",
            "model.spare_parts[1].part_number"} <= targets
