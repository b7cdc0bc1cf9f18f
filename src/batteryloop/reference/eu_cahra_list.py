"""Conflict-affected and high-risk areas (CAHRAs) whose origins the ledger's sourcing check flags.

Source: the indicative, non-exhaustive list of conflict-affected and high-risk areas kept by RAND Europe
for the European Commission under Regulation (EU) 2017/821 (https://www.cahraslist.net), which Regulation
(EU) 2023/1542 Art. 48–52 (battery due diligence) points to. Only the Democratic Republic of the Congo is
listed here, as a demo default for cobalt: batteryloop does not copy the list; an operator supplies its
own (``TraceSettings.risk_flags`` / :class:`batteryloop.trace.RiskFlag`).

``FLAGGED_COUNTRIES`` maps an ISO 3166-1 alpha-2 country code to the reason shown with a flag.
"""

from __future__ import annotations

from ._core import Citation

CITATION = Citation(
    title="Indicative, non-exhaustive list of conflict-affected and high-risk areas under Regulation (EU) 2017/821",
    publisher="RAND Europe for the European Commission",
    date="2024",
    url="https://www.cahraslist.net",
    verified=False,
    note="demo default (one country); supply your own list",
)

FLAGGED_COUNTRIES: dict[str, str] = {
    "CD": "conflict-affected and high-risk area (cobalt: artisanal mining, armed groups)",
}
