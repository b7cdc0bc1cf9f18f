"""Reference data from the outside world, one module per source, each citing its source and date.

Every calculation in :mod:`batteryloop.circular` reads its numbers from a :class:`References` object
(``References.default()`` unless the caller passes another), through a tracker that records each value
it used; results carry that list as ``references``. Override any value from a dict, a TOML or a YAML
file::

    refs = References.default().override({"everbatt_2023": {"price_usd_per_kg": {"Li2CO3": 14.0}}})
    refs = References.default().override_file("prices-2024.toml")

Sets (module = set name):

- ``eu_2023_1542`` — Regulation (EU) 2023/1542: recycled content, recycling efficiency, material
  recovery, carbon-footprint cycles per year and class limits.
- ``everbatt_2023`` — Argonne EverBatt: recovery by process, process inputs, gate fees, prices.
- ``batpac_5`` — Argonne BatPaC 5.0: material intensity per kWh.
- ``batterydesign_2023`` — pack-level Wh/kg of traction packs on the market (the heaviest pack per kWh a
  passport may declare is drawn from it).
- ``battery_ratings_literature`` — pack ratings the passport needs (self-discharge, calendar life, power at a
  state of charge, electrolyte share, recycled-content split; unverified).
- ``lmfp_estimate`` — LMFP composition estimate (unverified).
- ``greet_everbatt_ghg`` — GREET material GHG factors and cell manufacturing energy.
- ``ipcc_2006`` — fuel combustion CO2 factors.
- ``grid_factors`` — electricity GHG intensity by country (unverified defaults).
- ``ecb_fx`` — EUR/USD 2024 average.
- ``second_life_literature`` — repurposing cost, second-life LCOE and CO2 ranges, retirement state of health,
  new-pack price.
- ``nrel_2015_second_use`` — how long a repurposed pack serves in second use (the longest second life
  the route decision and the hubs count).
- ``nio_baas``, ``catl_swap`` — battery-as-a-service and swapping figures.
- ``first_life_fade`` — first-life fade of traction packs (fitted to CALCE CS2_36 and Severson 2019).
- ``vehicle_usage`` — annual distance, energy use and fast-charging share by vehicle category.
- ``fleet_segments`` — pack designs and daily use of cars, taxis, buses, trucks and two-wheelers (fleet generator).
- ``lanzhou_fleets`` — the Lanzhou station's regional fleets (buses, swap trucks, two-wheelers), swap stations
  and diagnosis (the pilot's CATL–Lanzhou part).
- ``batteryloop_assumptions`` — the project's own estimates (unverified), where no source gives a number.
- ``tou_tariffs_cn``, ``pv_clear_sky``, ``stationary_storage_costs``, ``second_life_degradation`` — the
  storage hubs' tariffs, solar resource, storage costs and second-life ageing (:data:`HUB_SETS`).

Tables that are not value sets but typed records live here too, with a ``CITATION``:
``severson_2019`` (published early-prediction results on the Severson data, for the lifetime model),
``ul_1974`` (second-life intake grading thresholds), ``eu_cahra_list`` (the conflict-affected and
high-risk areas the ledger's sourcing check flags), ``eu_2024_1252_crm`` (the Union's critical raw materials,
which the demo catalogue's passports name from each pack's composition), ``calce_cs2`` (three whole CALCE CS2 lives, the
RUL forecaster's default reference population) and ``pybamm_okane2022`` (simulated lives, PyBaMM on
O'Kane et al. 2022 parameters: the prior that calibrates the RUL interval).

To add a source: a module named after it (``publisher_year``) holding ``SET = ReferenceSet(name=…,
citation=Citation(…), values={…})`` with units in the key names, listed in :func:`default_sets`; tests in
``tests/circular/test_reference.py`` check that every set cites its source. To move or rename a key, list its old
dotted name in the set's ``moved`` table with where it lives now: an override file still using it is refused naming
the new place (the tests check that the new place exists).
"""

from __future__ import annotations

from ._core import (
    Citation,
    ReferenceDataError,
    References,
    ReferenceSet,
    ReferenceValue,
    Tracker,
    register_default_sets,
)


def default_sets() -> list[ReferenceSet]:
    from . import (
        batpac_5,
        batterydesign_2023,
        battery_ratings_literature,
        batteryloop_assumptions,
        catl_swap,
        ecb_fx,
        eu_2023_1542,
        everbatt_2023,
        first_life_fade,
        fleet_segments,
        greet_everbatt_ghg,
        grid_factors,
        hub_sites,
        ipcc_2006,
        korea_battery_rules,
        lanzhou_fleets,
        lmfp_estimate,
        nio_baas,
        nrel_2015_second_use,
        pv_clear_sky,
        second_life_degradation,
        second_life_literature,
        stationary_storage_costs,
        tou_tariffs_cn,
        tou_tariffs_kr,
        tou_tariffs_nl,
        vehicle_usage,
    )

    return [
        m.SET
        for m in (
            eu_2023_1542,
            everbatt_2023,
            batpac_5,
            batterydesign_2023,
            battery_ratings_literature,
            lmfp_estimate,
            greet_everbatt_ghg,
            ipcc_2006,
            grid_factors,
            ecb_fx,
            second_life_literature,
            nrel_2015_second_use,
            nio_baas,
            catl_swap,
            tou_tariffs_cn,
            tou_tariffs_nl,
            tou_tariffs_kr,
            hub_sites,
            pv_clear_sky,
            stationary_storage_costs,
            second_life_degradation,
            first_life_fade,
            vehicle_usage,
            korea_battery_rules,
            fleet_segments,
            lanzhou_fleets,
            batteryloop_assumptions,
        )
    ]


register_default_sets(default_sets)

__all__ = [
    "Citation",
    "ReferenceDataError",
    "ReferenceSet",
    "ReferenceValue",
    "References",
    "Tracker",
    "default_sets",
]


def _hub_sets() -> tuple[ReferenceSet, ...]:
    from . import (
        ecb_fx,
        hub_sites,
        pv_clear_sky,
        second_life_degradation,
        stationary_storage_costs,
        tou_tariffs_cn,
        tou_tariffs_kr,
        tou_tariffs_nl,
    )

    return (tou_tariffs_cn.SET, tou_tariffs_nl.SET, tou_tariffs_kr.SET, hub_sites.SET, ecb_fx.SET, pv_clear_sky.SET,
            stationary_storage_costs.SET, second_life_degradation.SET)


HUB_SETS: tuple[ReferenceSet, ...] = _hub_sets()


def hub_references(base: References | None = None) -> References:
    """``base`` (default: ``References.default()``) with the storage hubs' sets added where it lacks them
    (a caller's own :class:`References` built from fewer sets still runs a hub)."""
    refs = base or References.default()
    missing = {s.name: s for s in HUB_SETS if s.name not in refs}
    if not missing:
        return refs
    return References({**{n: refs.set(n) for n in refs.names()}, **missing})
