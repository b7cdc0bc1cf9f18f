"""The demo's printed summary (sim/demo.summary_text): figures with the units and digits their pages use."""

from __future__ import annotations

from pathlib import Path

from batteryloop.config import Settings
from batteryloop.sim.demo import summary_text


def test_footprints_are_printed_with_the_passports_four_decimals() -> None:
    """The summary printed "EM-NMC811-82 0.13, EM-LFP-60 0.111, EM-NCA-75 0.1571": the passport's four-decimal
    figures through str(), so 0.1300 lost its digits and the three looked measured to different precisions."""
    sm = {"routes": {}, "recycled_content_pct_last_year": {}, "net_cash_usd_by_participant_type": {},
          "outflow_findings": {}, "packs_left_the_loop": 0, "start_year": 2016, "years": 10, "seed": 42, "packs": 1,
          "passports": 1, "passports_by_status": {}, "ledger_events": 0, "ledger_verified": True, "route_decisions": 0,
          "recovered_element_kg": {},
          "footprint_total_kgco2e_per_kwh": {"EM-NMC811-82": 0.13, "EM-LFP-60": 0.111, "EM-NCA-75": 0.1571}}
    text = summary_text({"summary": sm, "decisions_sample": []}, Settings(), Path("tokens.json"), 1.0)
    assert "EM-NMC811-82 0.1300, EM-LFP-60 0.1110, EM-NCA-75 0.1571" in text
