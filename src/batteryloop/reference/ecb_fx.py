"""Exchange rates: ECB euro foreign exchange reference rates, annual average 2024.

Source: European Central Bank, Euro foreign exchange reference rates, US dollar, 2024 average
(1 EUR = 1.0824 USD) — https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/
Used only to convert euro-denominated literature costs (e.g. repurposing cost) into the dollar basis of
the EverBatt prices.
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
    values={"usd_per_eur": 1.0824},
)
