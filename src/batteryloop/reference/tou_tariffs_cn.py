"""Time-of-use electricity tariffs for a Chinese commercial connection (illustrative, UNVERIFIED values).

Source of the structure: National Development and Reform Commission (NDRC) of the People's Republic
of China, "Notice on further improving the time-of-use electricity price mechanism"
(发改价格〔2021〕1093号, 26 July 2021): provinces set peak, flat and valley periods; where the
system peak-valley difference exceeds 40 % the peak/valley price ratio should be at least 4:1,
elsewhere at least 3:1. Provincial tariffs differ and change every year.

The numbers below are batteryloop's illustrative defaults in that shape (2024 level, CNY/kWh), NOT a
published provincial schedule: valley 00–08 h, peak 10–12 h and 14–19 h, flat otherwise, peak/valley
= 4. The export price stands for what distributed PV is paid for surplus energy (coal-benchmark prices of
about 0.25–0.45 CNY/kWh by province, increasingly market prices, unverified); the default 0.28 lies
below the valley price, as the dispatch requires (a hub may not import to export). The EV charging service fee is the kind of fee added to the
electricity price at public chargers (unverified), the swap service fee the same kind of fee per kWh swapped (unverified). ``cny_per_usd`` is the 2024 average rate (about
7.19, unverified). Override all of them with the tariff the hub actually has.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

_VALLEY, _FLAT, _PEAK = 0.30, 0.70, 1.20
_PERIODS = ["valley"] * 8 + ["flat"] * 2 + ["peak"] * 2 + ["flat"] * 2 + ["peak"] * 5 + ["flat"] * 5

SET = ReferenceSet(
    name="tou_tariffs_cn",
    citation=Citation(
        title="Time-of-use tariff shape after NDRC notice 发改价格〔2021〕1093号; prices illustrative",
        publisher="NDRC (structure); batteryloop (values)",
        date="2024",
        url="https://www.ndrc.gov.cn/",
        verified=False,
        note="peak/valley ratio ≥ 4:1 per the notice; the prices and hours are illustrative defaults",
    ),
    values={
        "currency": "CNY",
        "period_price_per_kwh": {"valley": _VALLEY, "flat": _FLAT, "peak": _PEAK},
        "hour_period": {str(h): p for h, p in enumerate(_PERIODS)},
        "export_price_per_kwh": 0.28,
        "ev_charging_service_fee_per_kwh": 0.80,
        "swap_service_fee_per_kwh": 0.80,
        "cny_per_usd": 7.19,
        "min_peak_valley_ratio": 4.0,
    },
    extensible=frozenset({"period_price_per_kwh"}),
)
