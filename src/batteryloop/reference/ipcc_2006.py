"""IPCC 2006 default CO2 emission factors for stationary combustion of fuels.

Source: 2006 IPCC Guidelines for National Greenhouse Gas Inventories, Volume 2 (Energy), Chapter 2,
Table 2.2 (default emission factors for stationary combustion) — https://www.ipcc-nggip.iges.or.jp/public/2006gl/
Natural gas 56,100 kg CO2/TJ; gas/diesel oil 74,100 kg CO2/TJ; expressed here per MJ of fuel (net
calorific value). CO2 only: CH4 and N2O add well under 1 % for these fuels and are left out.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="ipcc_2006",
    citation=Citation(
        title="2006 IPCC Guidelines for National GHG Inventories, Vol. 2, Ch. 2, Table 2.2",
        publisher="IPCC",
        date="2006",
        url="https://www.ipcc-nggip.iges.or.jp/public/2006gl/vol2.html",
    ),
    values={"combustion_kgco2_per_mj": {"natural_gas": 0.0561, "diesel": 0.0741}},
)
