"""Battery Pass 1.2: how many module payloads of pilot passports the consortium's own JSON schemas validate whole,
per reader tier, and which required properties are still missing (issue 16's figure). Validation is jsonschema's
draft-04 class with its format checker on the vendored schema files (``formats/batterypass_1_2/``), the one upstream
e-mail-pattern slip corrected (``formats/batterypass_schema.validator``, which the export's own check also uses;
tests/formats/test_batterypass_schemas.py loads the files independently of it).

Run: .venv/bin/python bench/batterypass_conformance.py [N]   (N pilot packs, seed 7; default 9)
"""

from __future__ import annotations

import re
import sys
from collections import Counter

from batteryloop.formats import batterypass
from batteryloop.formats.base import PassportParts
from batteryloop.formats.batterypass import CONTAINER
from batteryloop.formats.batterypass_schema import validator
from batteryloop.passport.model import BatteryData, BatteryModelData
from batteryloop.passport.tiers import Tier
from batteryloop.sim.pilot import battery_models, generate_batteries

TIERS = {"public": {Tier.PUBLIC}, "legitimate_interest": {Tier.PUBLIC, Tier.LEGITIMATE_INTEREST},
         "authority": {Tier.PUBLIC, Tier.AUTHORITY}, "all": set(Tier)}


def main(n: int = 9) -> None:
    checks = {key: validator(module) for key, module in CONTAINER.items()}  # payload key → its module's schema
    models = {m["model_id"]: BatteryModelData.model_validate(m) for m in battery_models()}
    packs = [BatteryData.model_validate({**raw, "passport_id": f"BL.{raw['economic_operator_id']}.{raw['serial_number']}"})
             for raw in generate_batteries(n, seed=7)]
    for tier, ts in TIERS.items():
        whole, missing = 0, Counter()
        for b in packs:
            payload = batterypass.export(PassportParts.from_data(models[b.model_id], b, ts)).payload
            for key, v in checks.items():
                errors = list(v.iter_errors(payload.get(key, {})))
                whole += not errors
                for e in errors:
                    path = key + "".join("[]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
                    what = e.message.split("'")[1] if e.validator == "required" else e.validator
                    missing[re.sub(r"\.$", "", f"{path}.{what}")] += 1
        print(f"{tier:20s} valid whole {whole}/{len(packs) * len(checks)}")
        for path, k in sorted(missing.items()):
            print(f"    {k:4d}  {path}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
