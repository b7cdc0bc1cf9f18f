"""Time-of-use electricity tariff for a Dutch commercial connection (illustrative, UNVERIFIED values).

Source of the structure: the Dutch two-rate ("normaal" / "dal") tariff — the high rate 07:00–23:00 on working days, the
low rate at night (23:00–07:00) and at weekends (the hub model has one tariff for every day: the weekday one).
Level: Eurostat's non-household electricity prices for the Netherlands (nrg_pc_205, consumption band ID,
2024, excluding VAT and recoverable taxes: about 0.17–0.22 EUR/kWh, unverified), with the energy tax of a
small business connection; the day/night split of 0.27 / 0.21 EUR/kWh is batteryloop's illustrative choice
in that range. The export price stands for what a business is paid for surplus solar under a market-based
feed-in contract (a few cents, unverified: 0.05); it lies below the night price, as the dispatch requires.
The EV charging service fee is the margin a public charge point adds to the energy price (unverified), the
swap service fee what a NIO Power Swap user pays per kWh above the energy (unverified). Override them with
the hub's own contract.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

_LOW, _HIGH = 0.21, 0.27
_PERIODS = ["low"] * 7 + ["high"] * 16 + ["low"]

SET = ReferenceSet(
    name="tou_tariffs_nl",
    citation=Citation(
        title="Dutch two-rate (normaal/dal) commercial tariff; level after Eurostat nrg_pc_205 (2024); prices illustrative",
        publisher="Eurostat (level); batteryloop (values)",
        date="2024",
        url="https://ec.europa.eu/eurostat/databrowser/view/nrg_pc_205/default/table",
        verified=False,
        note="two-rate structure 07–23 / 23–07; prices, export price and fees are illustrative defaults",
    ),
    values={
        "currency": "EUR",
        "period_price_per_kwh": {"low": _LOW, "high": _HIGH},
        "hour_period": {str(h): p for h, p in enumerate(_PERIODS)},
        "export_price_per_kwh": 0.05,
        "ev_charging_service_fee_per_kwh": 0.30,
        "swap_service_fee_per_kwh": 0.30,
    },
    extensible=frozenset({"period_price_per_kwh"}),
)
