"""Circular decisions: chemistry, recycling processes, carbon footprint, compliance, routes, BaaS.

A pure domain layer: typed functions returning pydantic results, no I/O. Every number comes from
:mod:`batteryloop.reference` (overridable from a dict, TOML or YAML) and every result lists the
reference values it used (``references``). Bad input raises :class:`CircularInputError` naming the
field, the value and the rule. See docs/circular.md.
"""

from .baas import (
    buyout_schedule,
    implied_annual_rate,
    nio_buyout_price,
    subscription_for_pack,
    subscription_price,
    swap_price,
    warranty_provision,
)
from .chemistry import (
    CHEMISTRIES,
    PackComposition,
    composition_for_mass,
    composition_from_materials,
    pack_composition,
    parse_chemistry,
)
from .compliance import (
    ComplianceReport,
    MetalInput,
    check_recycled_content,
    check_recycling_targets,
    compliance_report,
)
from .errors import CircularInputError
from .footprint import CarbonFootprintResult, MaterialFootprint, carbon_footprint, functional_unit, performance_class
from .recycling import PROCESSES, RecyclingResult, recycle, recycle_mass, recycle_pack
from .routes import ROUTES, RouteDecision, RouteEconomics, decide_route, decide_routes_batch, residual_value
from .swap_station import SwapStationConfig, SwapStationKPIs, simulate_swap_station

__all__ = [
    "CHEMISTRIES", "PROCESSES", "ROUTES",
    "CarbonFootprintResult", "CircularInputError", "ComplianceReport", "MaterialFootprint", "MetalInput",
    "PackComposition", "RecyclingResult", "RouteDecision", "RouteEconomics", "SwapStationConfig", "SwapStationKPIs",
    "buyout_schedule", "carbon_footprint", "check_recycled_content", "check_recycling_targets", "compliance_report",
    "composition_for_mass", "composition_from_materials", "decide_route", "decide_routes_batch", "functional_unit",
    "implied_annual_rate", "nio_buyout_price", "pack_composition", "parse_chemistry", "performance_class", "recycle",
    "recycle_mass", "recycle_pack", "residual_value", "simulate_swap_station", "subscription_for_pack", "subscription_price", "swap_price",
    "warranty_provision",
]
