"""Pack assembly from grades and states of health; the PV profile."""

from __future__ import annotations

import numpy as np
import pytest

from batteryloop.health import IntakeRecord, grade
from batteryloop.hubs import HubInputError, Pack, pv_day_kw, read_pv_csv
from batteryloop.hubs.assembly import HubSlot, assemble


def _packs(soh: list[float], **kw) -> list[Pack]:
    return [Pack(pack_id=f"P{i}", nominal_energy_kwh=70, soh_fraction=s, **kw) for i, s in enumerate(soh)]


def test_strings_are_balanced_and_flagged_packs_excluded() -> None:
    rng = np.random.default_rng(0)
    packs = _packs(list(rng.uniform(0.62, 0.9, 40)))
    packs[3] = packs[3].model_copy(update={"safety_flags": ("insulation",)})
    packs[7] = packs[7].model_copy(update={"grade": "recycle"})
    a = assemble(packs, [HubSlot(hub="h1", target_energy_kwh=800, packs_per_string=4),
                         HubSlot(hub="h2", target_energy_kwh=800, packs_per_string=4)], max_spread_fraction=0.03)
    assert "P3" in a.excluded and "P7" in a.excluded
    placed = [q.pack_id for bs in a.hubs.values() for b in bs for q in b.string.packs]
    assert "P3" not in placed and "P7" not in placed
    assert len(placed) == len(set(placed))
    for bs in a.hubs.values():
        for b in bs:
            e = [q.usable_energy_kwh for q in b.string.packs]
            assert (max(e) - min(e)) / max(e) <= 0.03 + 1e-12
            assert b.usable_energy_kwh == pytest.approx(4 * min(e))
    # every pack is accounted for
    assert set(placed) | set(a.excluded) | set(a.set_aside) == {p.pack_id for p in packs}
    # both hubs get storage, near their targets
    assert min(a.hub_energy_kwh.values()) > 500


def test_grades_from_the_health_grading_decide() -> None:
    packs = _packs([0.85, 0.84, 0.83, 0.82])
    grades = {p.pack_id: grade(IntakeRecord(battery_id=p.pack_id, soh_capacity_pct=p.soh_fraction * 100)) for p in packs}
    grades["P0"] = grade(IntakeRecord(battery_id="P0", soh_capacity_pct=85, visual_defects=["swelling"]))
    a = assemble(packs, [{"hub": "h", "target_energy_kwh": 500, "packs_per_string": 3}], grades=grades)
    assert "P0" in a.excluded and "visual" in a.excluded["P0"]
    assert [q.pack_id for q in a.hubs["h"][0].string.packs] == ["P1", "P2", "P3"]


def test_hub_accepting_only_grade_a_gets_no_grade_c() -> None:
    packs = _packs([0.9, 0.9, 0.66, 0.66])
    for i, g in enumerate(["A", "A", "C", "C"]):
        packs[i] = packs[i].model_copy(update={"grade": g})
    a = assemble(packs, [HubSlot(hub="a-only", target_energy_kwh=1000, packs_per_string=2, accept_grades=("A",))])
    placed = [q.pack_id for b in a.hubs["a-only"] for q in b.string.packs]
    assert placed == ["P0", "P1"]
    assert set(a.set_aside) == {"P2", "P3"}


def test_assembly_bad_input() -> None:
    with pytest.raises(HubInputError) as exc:
        assemble(_packs([0.8]), [{"hub": "h", "target_energy_kwh": 10}], max_spread_fraction=5)
    assert exc.value.field == "max_spread_fraction"


def test_pv_clear_sky_shape() -> None:
    summer = pv_day_kw(100, 31.2, 172)
    winter = pv_day_kw(100, 31.2, 355)
    assert summer.sum() > 1.5 * winter.sum()
    assert summer[:4].sum() == 0 and summer[22:].sum() == 0
    assert np.argmax(summer) in (11, 12)
    # kWh per kWp per clear summer day, horizontal, PR 0.8: a few kWh
    assert 4 < summer.sum() / 100 < 8
    assert pv_day_kw(100, 31.2, 172, steps_per_hour=4).sum() / 4 == pytest.approx(summer.sum(), rel=0.01)


def test_pv_csv(tmp_path) -> None:
    f = tmp_path / "pv.csv"
    f.write_text("time,pv_kw\n" + "\n".join(f"{h},{max(0, 10 - abs(h - 12))}" for h in range(24)))
    assert read_pv_csv(f).sum() == pytest.approx(100)
    f.write_text("time,pv_kw\n0,1\n1,x\n")
    with pytest.raises(HubInputError) as exc:
        read_pv_csv(f)
    assert exc.value.field == "pv_csv:3:pv_kw"


def test_assembled_hubs_simulate_and_form_a_vpp() -> None:
    from batteryloop.hubs import simulate_year, vpp_day
    from batteryloop.hubs.assembly import hub_configs

    rng = np.random.default_rng(3)
    packs = _packs(list(rng.uniform(0.65, 0.9, 24)))
    a = assemble(packs, [HubSlot(hub="east", target_energy_kwh=400, packs_per_string=3),
                         HubSlot(hub="west", target_energy_kwh=400, packs_per_string=3)], max_spread_fraction=0.04)
    cfgs = hub_configs(a, {"pv_kwp": 200, "swap": {"swaps_per_day": 30, "simulated_days": 2}}, {"west": {"pv_kwp": 50}})
    assert [c.name for c in cfgs] == ["east", "west"] and cfgs[1].pv_kwp == 50
    assert all(len(s.packs) == 3 for c in cfgs for s in c.strings)
    y = simulate_year(cfgs[0], days=5)
    assert set(y.pack_ids) == {q.pack_id for s in cfgs[0].strings for q in s.packs}
    v = vpp_day(cfgs, {"request_kw": [0.0] * 18 + [40.0] + [0.0] * 5})
    assert v.delivered_kw[18] == pytest.approx(40.0, abs=1e-5)
