"""A passport that a lab cycler file can honestly belong to: a small battery model rated like the file's
cell (5 Ah, one cell: 1s1p), made before the file was recorded. The pilot's traction packs (190-231 Ah,
made in the last six years) are not what the 2019 Maccor cell in ../shared was, and the state-of-health
write refuses them (tests/health/test_soh_writes.py)."""

from __future__ import annotations

import copy
from typing import Any

from batteryloop.sim import pilot

LAB_MODEL_ID = "LAB-NMC-5AH"


def lab_model(rated_ah: float = 5.0, series: int = 1, parallel: int = 1, model_id: str = LAB_MODEL_ID) -> dict[str, Any]:
    m = copy.deepcopy(pilot.battery_models()[0])
    nominal = 3.65 * series
    m.update(model_id=model_id, model_name=f"lab module {series}s{parallel}p", rated_capacity_ah=rated_ah,
             nominal_voltage_v=round(nominal, 2), min_voltage_v=round(2.5 * series, 2), max_voltage_v=round(4.2 * series, 2),
             rated_energy_kwh=round(rated_ah * nominal / 1000, 4), mass_kg=round(0.07 * rated_ah * series * parallel, 3),
             cells_in_series=series, cells_in_parallel=parallel, original_power_capability_w=50.0 * series * parallel,
             max_permitted_power_w=60.0 * series * parallel)
    return m


def lab_battery(seed: int, made: str = "2019-06-01", model_id: str = LAB_MODEL_ID) -> dict[str, Any]:
    b = next(pilot.generate_batteries(1, seed=seed))
    b.update(model_id=model_id, manufacture_date=made, putting_into_service_date=made)
    b.pop("state_of_health", None)
    b["usage"] = {"full_equivalent_cycles": 10.0, "energy_throughput_kwh": 0.4, "capacity_throughput_ah": 100.0}
    return b


def lab_passport(client: Any, token: str, seed: int, **model: Any) -> str:
    """Register the lab model (once) and one battery of it through the API; its passport id."""
    h = {"Authorization": f"Bearer {token}"}
    m = lab_model(**model)
    r = client.post("/api/v1/models", json=m, headers=h)
    assert r.status_code in (201, 409), r.text
    r = client.post("/api/v1/passports", json=lab_battery(seed, model_id=m["model_id"]), headers=h)
    assert r.status_code == 201, r.text
    return r.json()["passport_id"]
