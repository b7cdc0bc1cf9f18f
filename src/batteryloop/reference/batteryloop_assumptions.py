"""Project assumptions: numbers no cited source above gives, needed to close a calculation.

Source: batteryloop's own order-of-magnitude estimates (2026), UNVERIFIED. Each is a default to be
overridden by the user's own data (a TOML/YAML file or API input); every result lists the ones it used,
flagged ``verified: false``.

- ``process_input_price_usd``: what a recycler pays for the EverBatt process inputs (US industrial
  prices of the early 2020s, rounded).
- ``process_input_kgco2e``: cradle-to-gate GHG of process chemicals per kg (rounded estimates of the kind
  LCA databases give; replace with your database's factors).
- ``distribution``: transport of a pack from plant to vehicle assembly (distance and truck factor).
- ``route``: economics of the end-of-life routes (re-use, remanufacture, repurpose): thresholds on state
  of health, prices as fractions of a new pack, costs, and the second-life duty (cycles a year, depth,
  temperature, efficiency) and storage value per kWh discharged used until a hub has measured them.
- ``recycling_grid_country``: where recycling energy is drawn if the caller does not say.
- ``pack_hardware_fraction``: what a pack's hardware (its mass outside the cells: BatPaC 5.0's pack mass
  minus cell mass, ``batpac_5``) is made of, as shares of that mass, per pack design. BatPaC's default
  design (``module_pack``: prismatic or pouch cells in aluminium module housings, modules in an
  aluminium pack jacket with aluminium cooling plates and a glycol loop, copper busbars and HV cables,
  a BMS, steel fasteners, brackets and tray parts, thermal insulation) gives the components but this
  project has no citable per-material split of them, so the shares are rounded estimates: aluminium
  (housings, jacket, cooling plates) 0.60, steel 0.15, copper (busbars, cables) 0.10, plastics (covers,
  cable insulation, spacers) 0.05, electronics (BMS boards, sensors, contactors) 0.04, coolant
  (glycol-water) 0.04, insulation 0.02. REFERENCE.md: a pack's non-cell mass is "mostly aluminium,
  steel and copper". Shares may sum to less than 1 (the rest is reported as hardware of unknown
  composition, not counted as recycled), never to more. ``pack_design_by_chemistry`` picks the design
  (``default`` for a chemistry not listed); override both with a real pack's bill of materials.
- ``pack_hardware_recovery_fraction``: the recycled share of the non-metal hardware fractions by
  process. The metals (Al, steel, Cu) use EverBatt's recovery by process (``everbatt_2023``); plastics,
  electronics, coolant and insulation count as not recycled (0) on every route: a smelter burns
  plastics and boards as fuel and reductant (energy recovery, which Delegated Regulation (EU) 2025/606
  does not count as recycling); a mechanical pre-treatment line sorts them out but sends them mostly
  to incineration or to a board smelter whose output this model does not trace; the coolant is drained
  and treated as waste. Override a fraction where a plant documents recycling it, or add one for a
  material a new pack design names.
- Second-life lifetime figures that no source gives (each a project assumption, to be overridden with a
  repurposer's own warranty; every route decision and hub report lists the ones it used):
  ``second_life_end_soh_fraction`` (0.60): the state of health at which a repurposed pack leaves storage
  and is recycled — REFERENCE.md calls 60 % "common practice" and cites nothing; the route decision, the hubs'
  year and their levelised cost read it, and so does the pilot (its packs leave storage below it; its repurposers'
  models declare it as their capacity threshold, in percent: 60). ``route.reuse_years`` (5) and
  ``route.remanufacture_years`` (6): how long a re-used or remanufactured pack serves in a vehicle before it is
  recycled. The longest second life in storage is sourced: ``nrel_2015_second_use.second_use_years``.
- ``pack_mass_bound_margin_factor``: how many times the heaviest lithium-ion traction pack per kWh on record
  (``batterydesign_2023``: the 2011 Nissan Leaf, 80 Wh/kg) a declared pack mass may reach before it is
  refused as a typo (2: 25 kg per kWh). A margin chosen, not measured: wide enough for packs heavier than any
  listed (a bus pack, a swap pack with its frame), narrow enough to catch a mass in grams or a wrong exponent.
- ``pilot``: the pilot simulator's scenario figures — when packs leave a vehicle (state of health at
  which each usage retires its pack, vehicle scrapping and pack-fault rates), who buys what share of a
  retired pack's value, the take-back cost the producer pays (Art. 56-62 producer responsibility), the
  BaaS subscription share and the share of retired packs that leave the loop illegally.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="batteryloop_assumptions",
    citation=Citation(
        title="batteryloop default assumptions (estimates; override with your own data)",
        publisher="batteryloop",
        date="2026",
        verified=False,
    ),
    values={
        "process_input_price_usd": {
            "electricity_per_kwh": 0.08, "diesel_per_mj": 0.025, "natural_gas_per_mj": 0.004,
            "limestone_per_kg": 0.03, "sand_per_kg": 0.02, "HCl_per_kg": 0.20, "H2O2_per_kg": 0.60,
            "H2SO4_per_kg": 0.10, "NaOH_per_kg": 0.50, "CO2_per_kg": 0.10,
        },
        "process_input_kgco2e": {
            "limestone_per_kg": 0.02, "sand_per_kg": 0.005, "HCl_per_kg": 0.8, "H2O2_per_kg": 1.0,
            "H2SO4_per_kg": 0.1, "NaOH_per_kg": 1.2, "CO2_per_kg": 0.5,
        },
        "distribution": {"distance_km": 1000.0, "truck_kgco2e_per_tkm": 0.1},
        "recycling_grid_country": "US",
        "pack_mass_bound_margin_factor": 2.0,
        "second_life_end_soh_fraction": 0.60,
        "pack_hardware_fraction": {
            "module_pack": {
                "Al": 0.60, "steel": 0.15, "Cu": 0.10, "plastics": 0.05, "electronics": 0.04,
                "coolant": 0.04, "insulation": 0.02,
            },
        },
        "pack_design_by_chemistry": {"default": "module_pack"},
        "pack_hardware_recovery_fraction": {
            proc: {"plastics": 0.0, "electronics": 0.0, "coolant": 0.0, "insulation": 0.0}
            for proc in ("pyro", "hydro", "direct")
        },
        "route": {
            "reuse_min_soh_fraction": 0.80,
            "reuse_price_fraction_of_new": 0.60,
            "reuse_test_cost_usd_per_kwh": 5.0,
            "reuse_years": 5.0,
            "remanufacture_min_soh_fraction": 0.70,
            "remanufacture_target_soh_fraction": 0.95,
            "remanufacture_price_fraction_of_new": 0.75,
            "remanufacture_labour_usd_per_kwh": 15.0,
            "remanufacture_cell_cost_fraction_of_new": 0.75,
            "remanufacture_years": 6.0,
            "repurpose_min_soh_fraction": 0.65,
            # the second-life duty and value when no hub has measured them (a hub's year replaces them:
            # hubs.economics.route_overrides); fade, capital and O&M come from circular.second_life
            "repurpose_cycles_per_year": 300.0,
            "repurpose_dod_fraction": 0.85,
            "repurpose_temperature_c": 25.0,
            "repurpose_round_trip_efficiency_fraction": 0.90,
            "repurpose_value_usd_per_kwh_delivered": 0.06,
            "discount_rate_fraction": 0.08,
        },
        "pilot": {
            "retirement_soh_pct": {"private_car": 72.0, "taxi": 78.0, "delivery_van": 75.0},
            "vehicle_scrap_probability_per_year": 0.012,
            "vehicle_scrap_age_years": 14.0,
            "pack_fault_probability_per_year": 0.004,
            "crash_damaged_share_of_scrapped_fraction": 0.35,
            "usage_mix_fraction": {"private_car": 0.6, "taxi": 0.25, "delivery_van": 0.15},
            "baas_share_of_taxis_fraction": 0.8,
            "illegal_outflow_fraction": 0.015,
            "seller_share_of_route_value_fraction": 0.4,
            "take_back_cost_usd_per_kg": 1.2,
            "recycled_input_cap_fraction": 0.35,
            "second_life_cycles_per_year": 300.0,
            "first_year_in_service_fraction": 0.7,
            "baas_term_months": 96,
            "baas_soh_at_term_end_fraction": 0.78,
            "baas_annual_discount_rate_fraction": 0.08,
            "baas_margin_fraction": 0.1,
            "swaps_per_taxi_per_day": 0.5,
            "taxis_per_swap_station": 300,
            "taxis_per_spare_station_pack": 6,
            "max_packs_per_hub": 48,
        },
    },
    extensible=frozenset({
        "process_input_price_usd", "process_input_kgco2e", "pack_hardware_fraction",
        "pack_design_by_chemistry", "pack_hardware_recovery_fraction.pyro",
        "pack_hardware_recovery_fraction.hydro", "pack_hardware_recovery_fraction.direct",
    }),
    notes={
        "pack_hardware_fraction.module_pack": (
            "rounded estimate of BatPaC's module-and-pack design by material (Al housings, jacket and "
            "cooling plates; steel fasteners and tray; Cu busbars and cables; plastics; BMS electronics; "
            "glycol coolant; insulation); replace with the pack's bill of materials"
        ),
        "pack_hardware_recovery_fraction": (
            "plastics and electronics burnt (energy recovery) or untraced, coolant drained: not counted as "
            "recycled under Delegated Regulation (EU) 2025/606"
        ),
    },
    # keys that left this set: an override of one is refused naming its new place
    moved={
        "route.repurpose_max_years": "nrel_2015_second_use.second_use_years",
        "pilot.second_life_end_soh_pct": "batteryloop_assumptions.second_life_end_soh_fraction (a fraction: 60 % is 0.60)",
    },
)
