"""Second-life storage hubs and a virtual power plant: PV + storage from repurposed packs + EV charging
and battery swapping behind one grid connection.

Read it like a chapter: the packs and their ageing (:mod:`.storage`), the hub and its demand
(:mod:`.hub`, :mod:`.pv`), which packs go where (:mod:`.assembly`), the day-ahead dispatch
(:mod:`.dispatch`: an LP solved by HiGHS and a rule-based fallback), a simulated year
(:mod:`.simulate`), several hubs as a virtual power plant (:mod:`.vpp`), and the money and CO2
(:mod:`.economics`). Pure domain code: the service that writes packs' new states of health into their
passports is :mod:`.service` (not imported here). See docs/hubs.md.
"""

from .assembly import Assembly, BuiltString, HubSlot, assemble, hub_configs
from .dispatch import DayInputs, DayOptimiser, Schedule, check_schedule, optimise_day, rule_based_day, schedule_cost
from .economics import HubEconomics, LcosResult, hub_economics, route_overrides
from .errors import DispatchError, HubInputError
from .hub import (
    EvChargingDemand,
    GridConfig,
    HubConfig,
    HubPrepared,
    HubState,
    SwapDemand,
    day_inputs,
    horizon_inputs,
    load_hub_config,
    parse_hub,
    prepare_hub,
)
from .pv import clear_sky_ghi_w_per_m2, pv_day_kw, read_pv_csv, weather_factors
from ..reference import HUB_SETS, hub_references
from .year import METHODS, YearResult, simulate_year
from .storage import AgeingModel, Pack, StorageString, fade_from_history, pack_from_passport, pack_from_soh, string_figures
from .vpp import GridSignal, VppResult, offer_flexibility, vpp_day

__all__ = [
    "HUB_SETS", "METHODS",
    "AgeingModel", "Assembly", "BuiltString", "GridSignal", "HubEconomics", "HubSlot", "LcosResult", "VppResult",
    "assemble", "fade_from_history", "hub_configs", "horizon_inputs", "hub_economics", "offer_flexibility", "route_overrides", "vpp_day",
    "DayInputs", "DayOptimiser", "DispatchError", "EvChargingDemand", "GridConfig", "HubConfig",
    "HubInputError", "HubPrepared", "HubState", "Pack", "Schedule", "StorageString", "SwapDemand", "YearResult",
    "check_schedule", "clear_sky_ghi_w_per_m2", "day_inputs", "hub_references", "load_hub_config", "optimise_day",
    "pack_from_passport", "pack_from_soh", "parse_hub", "prepare_hub", "pv_day_kw", "read_pv_csv", "rule_based_day",
    "schedule_cost", "simulate_year", "string_figures", "weather_factors",
]
