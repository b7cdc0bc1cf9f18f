"""Time-of-use electricity tariff for a Korean commercial connection (illustrative, UNVERIFIED values).

Source of the structure: KEPCO's time-of-use rates for general service (B) and industrial (B) high-voltage customers —
light load 22:00–08:00, maximum load in the late morning and the afternoon (11:00–12:00 and 13:00–18:00
in summer), mid load otherwise (Korea Electric Power Corporation, electric rates table). The prices are
batteryloop's illustrative 2024 levels in KRW/kWh (light 95, mid 150, maximum 210: the energy charges after
the 2022–2024 increases, of that order, unverified; the seasons are not modelled). The export price stands
for what small PV is paid for surplus energy (the system marginal price, of the order of 100–150 KRW/kWh,
would exceed the light-load price; the dispatch requires export below import, so 80 is used: unverified).
The EV charging service fee is the margin public fast chargers add (unverified). Korea has no public car
battery swapping, so there is no swap fee. Override them with the hub's own contract.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

_LIGHT, _MID, _MAX = 95.0, 150.0, 210.0
_PERIODS = (["light"] * 8 + ["mid"] * 3 + ["max"] + ["mid"] + ["max"] * 5 + ["mid"] * 4 + ["light"] * 2)

SET = ReferenceSet(
    name="tou_tariffs_kr",
    citation=Citation(
        title="KEPCO time-of-use rate structure (light / mid / maximum load); prices illustrative",
        publisher="Korea Electric Power Corporation (structure); batteryloop (values)",
        date="2024",
        url="https://online.kepco.co.kr/",
        verified=False,
        note="light load 22–08, maximum load 11–12 and 13–18 (summer hours for every day); prices illustrative",
    ),
    values={
        "currency": "KRW",
        "period_price_per_kwh": {"light": _LIGHT, "mid": _MID, "max": _MAX},
        "hour_period": {str(h): p for h, p in enumerate(_PERIODS)},
        "export_price_per_kwh": 80.0,
        "ev_charging_service_fee_per_kwh": 100.0,
    },
    extensible=frozenset({"period_price_per_kwh"}),
)
