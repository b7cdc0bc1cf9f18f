"""Exchange rates: ECB euro foreign exchange reference rates, annual average 2024.

Source: European Central Bank, Euro foreign exchange reference rates, US dollar, 2024 average
(1 EUR = 1.0824 USD) — https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/
Used to convert euro-denominated literature costs (e.g. repurposing cost) into the dollar basis of the
EverBatt prices, and a storage hub's tariff currency into US dollars (``currency_per_eur``: the 2024
annual averages of the ECB reference rates for the US dollar, the Chinese renminbi, the Korean won and the
Japanese yen; USD per unit of currency = usd_per_eur / currency_per_eur).
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="ecb_fx",
    citation=Citation(
        title="Euro foreign exchange reference rates, annual average 2024",
        publisher="European Central Bank",
        date="2024",
        url="https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/",
    ),
    values={"usd_per_eur": 1.0824,
            "currency_per_eur": {"USD": 1.0824, "CNY": 7.7875, "KRW": 1475.40, "JPY": 163.85}},
    extensible=frozenset({"currency_per_eur"}),
)
