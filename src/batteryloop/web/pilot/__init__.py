"""The pilot's dashboard (``/pilot`` …): what the latest ``batteryloop demo`` run did, from its stored report.

:mod:`.pages` holds the router, the sections' list and :func:`~.pages.render`; each section's figures and
tables are built by its own module (:mod:`.overview`, :mod:`.health`, :mod:`.materials`, :mod:`.footprint`,
:mod:`.routes`, :mod:`.baas`, :mod:`.outflows`, :mod:`.dataspace`, :mod:`.economics`) with the plotly
helpers of :mod:`.charts` and the report readers of :mod:`.common`. Who may see the findings pack by pack
is the policy point's ``pilot.findings.read``.
"""

from __future__ import annotations

from .pages import SECTIONS, render, router

__all__ = ["SECTIONS", "render", "router"]
