"""Export + official-schema validation rate for Catena-X (battery_pass, serial_part, BOM as built, traction
battery code, PCF) and AAS JSON; Battery Pass 1.2 export and import; AASX package size and time.

Run: .venv/bin/python bench/formats_bench.py [N]
"""

from __future__ import annotations

import sys
import time

from batteryloop.formats import aas, batterypass, catenax, catenax_parts, idta
from batteryloop.formats.base import PassportParts
from batteryloop.passport.model import BatteryData, BatteryModelData
from batteryloop.sim.pilot import battery_models, generate_batteries


def main(n: int = 300) -> None:
    models = {m["model_id"]: BatteryModelData.model_validate(m) for m in battery_models()}
    parts = [PassportParts.from_data(models[raw["model_id"]], BatteryData.model_validate(
        {**raw, "passport_id": f"BL.{raw['economic_operator_id']}.{raw['serial_number']}"}))
        for raw in generate_batteries(n, seed=1)]
    catenax.export(parts[0]); aas.export_json(parts[0])  # warm the schema cache
    for name, fn in (("catenax export+validate", catenax.export), ("idta-samm export+validate (8 schemas)", idta.export),
                     ("aas-json export+validate", aas.export_json),
                     ("catenax serial_part export+validate", catenax_parts.export_serial_part),
                     ("catenax bom_as_built export+validate", catenax_parts.export_bom),
                     ("catenax traction_battery_code exp+val", catenax_parts.export_tbc),
                     ("catenax pcf export+validate", catenax_parts.export_pcf),
                     ("batterypass 1.2 export (7 modules, read back)", batterypass.export)):
        t = time.perf_counter()
        for p in parts:
            fn(p)
        dt = time.perf_counter() - t
        print(f"{name:40s} {n / dt:8.1f} passports/s  ({dt:.2f} s for {n})")
    t = time.perf_counter()
    payload = catenax.export(parts[0]).payload
    for _ in range(n):
        catenax.import_payload(payload)
    dt = time.perf_counter() - t
    print(f"{'catenax import (strict, schema-checked)':40s} {n / dt:8.1f} passports/s")
    bp = {"GeneralProductInformation": {"productIdentifier": "BL.X.1", "batteryCategory": "ev",
                                        "manufacturingDate": "2025-06-03T08:30:00Z", "batteryMass": 455.5,
                                        "warrentyPeriod": "--06"},
          "CarbonFootprintForBatteries": {"batteryCarbonFootprint": 71.0, "carbonFootprintPerformanceClass": "B"}}
    raw = "\ufeff".encode("utf-16-le") + __import__("json").dumps(bp).encode("utf-16-le")
    t = time.perf_counter()
    for _ in range(n):
        batterypass.import_payload(raw, lenient=True)
    dt = time.perf_counter() - t
    print(f"{'batterypass 1.2 import (UTF-16 LE BOM)':40s} {n / dt:8.1f} payloads/s")
    full = "\ufeff".encode("utf-16-le") + __import__("json").dumps(batterypass.export(parts[0]).payload).encode("utf-16-le")
    t = time.perf_counter()
    for _ in range(n):  # lenient: strict refuses our export (the 1.2 schemas require properties we do not hold)
        batterypass.import_payload(full, lenient=True)
    dt = time.perf_counter() - t
    print(f"{'batterypass 1.2 import, 7 modules, lenient':40s} {n / dt:8.1f} payloads/s")
    t = time.perf_counter()
    sizes = [len(aas.export_aasx(p).payload) for p in parts[:100]]
    dt = time.perf_counter() - t
    print(f"{'aasx package':40s} {sum(sizes) / len(sizes) / 1024:8.1f} KiB mean, {1000 * dt / len(sizes):.1f} ms each")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
