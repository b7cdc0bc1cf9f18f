"""The regional fleets a CATL-style integrated station at Lanzhou serves: city buses, heavy trucks on battery
swapping, two-wheelers and a Yellow River cruise boat — pack designs, duty cycles, swap stations (the boat: its
pier charger) and the diagnosis made at every swap or charge; and the station's own PV and grid connection
(issue 18, the CATL–Lanzhou seed pilot).

Sources (each figure's status is in ``notes`` per key; every figure is overridable like any reference set):
- Heavy trucks: CATL QIJI Energy swap blocks of **171 kWh**, LFP, one to three per truck; the Deepway truck
  reaches about 300 km on three blocks (513 kWh / 300 km = **1.71 kWh/km**): TechNode, "China's CATL showcases
  battery swap technology for heavy trucks", 14 June 2023 (after Caixin),
  https://technode.com/2023/06/14/chinas-catl-showcases-battery-swap-technology-for-heavy-trucks/ . CATL
  states a block lasts **over 15,000 cycles** (launch, June 2023, as reported by Svět hardware,
  https://www.svethardware.cz/catl-predstavuje-vymenne-akumulatory-qiji-pro-trucky-s-zivotnosti-na-15-000-cyklu/59659 ;
  a maker's claim, not a test report). Block voltage: not published — 168 LFP cells in series (3.2 V) is
  batteryloop's assumption.
- City buses: BYD K9 (12 m) runs on BYD's LFP battery, about 250 km a charge in city service; battery-electric
  buses use **about 1.2 kWh/km** (Wikipedia, "BYD K series" and "Battery electric bus", read 2024). The 324 kWh
  pack is BYD's K9 data-sheet figure as commonly quoted (UNVERIFIED here; 250 km × 1.2 kWh/km = 300 kWh is
  consistent with it); 192 cells in series (614.4 V) as ``fleet_segments``' bus.
- Two-wheelers (delivery e-bikes on swap cabinets): a 57.6 V × 25 Ah LFP pack (**1.44 kWh**) and 0.03 kWh/km
  (the low end of ``fleet_segments``' 0.03–0.05 kWh/km) — batteryloop's assumptions for the swap packs of
  Chinese delivery riders (UNVERIFIED; no data sheet at hand).
- River-cruise boat: modelled on the *Yangtze River Three Gorges 1* (China Three Gorges Corp., maiden voyage
  29 March 2022): **15 battery packs, 7,500 kWh** in all (**500 kWh** a pack), CATL LFP, **about 100 km on a
  charge** (7,500 kWh / 100 km = **75 kWh/km**) at 16 km/h, charged at its home port's charger **in six hours**
  (7,500 kWh / 6 h = **1,250 kW**): Hellenic Shipping News (after Xinhua), "World's most powerful electric cruise
  ship on maiden voyage in China", 30 March 2022,
  https://www.hellenicshippingnews.com/worlds-most-powerful-electric-cruise-ship-on-maiden-voyage-in-china/ .
  Lanzhou's boat is a sightseeing boat of that design on the Yellow River; its pack voltage (224 LFP cells in
  series, 716.8 V), its route (40 km a day: two and a half hours at 16 km/h), its season (240 operating days)
  and its packs' cycle life (6,000) are batteryloop's assumptions. It is not swapped: its packs stay aboard and
  are charged at its pier, where the operator's charger diagnoses them at every charge like a swap. Under
  Regulation (EU) 2023/1542 a boat's traction battery is an *industrial* battery (Art. 3: EV batteries are those of
  road vehicles of categories L, M and N), which needs a passport above 2 kWh.
- Station: the site (Lanzhou, 36.06° N, 1,450 kWh/kWp a year) is ``hub_sites``'; the grid factor is
  ``grid_factors``' CN; the tariff ``tou_tariffs_cn``.
- batteryloop's assumptions (no source): fleet sizes, route lengths per day, operating days, spare packs per
  station, the swap window (the share of a pack's present capacity used between two swaps), bus and
  two-wheeler cycle lives, the 80 % retirement threshold, chargers, the PV size, and the diagnosis (the
  station estimates a pack's capacity at each swap from its charge, with a 1σ error of 1.0 % points; the
  passport gets the mean of the pack's last 20 diagnoses).

Cell resistance (``cell_resistance_ohm_ah``, LFP): about 0.10 Ω·Ah — an LFP 26650 cell data sheet gives ≤ 30 mΩ
at 3.3 Ah (AC 1 kHz; AA Portable Power Corp., LFP-26650-3300 specification), i.e. ≤ 0.099 Ω·Ah; large prismatic
LFP cells are of the same order (UNVERIFIED for them). ``fleet_segments``' 0.06 Ω·Ah is a layered-oxide (NMC)
figure and is not used for these LFP packs.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SEGMENTS = ("bus", "truck", "two_wheeler", "boat")
CHARGING = ("swap", "pier")  # how a segment's packs are charged: swapped at the station, or aboard at its pier

_ASSUMED = "batteryloop's assumption, no source"

SET = ReferenceSet(
    name="lanzhou_fleets",
    citation=Citation(
        title="Lanzhou regional fleets: CATL QIJI truck swap blocks, BYD K9 bus, delivery e-bike swap packs, a "
              "river-cruise boat of the Three Gorges 1 design; station duty and diagnosis assumptions",
        publisher="TechNode (after Caixin); CATL; Wikipedia; Hellenic Shipping News (after Xinhua); batteryloop",
        date="2023-06-14",
        url="https://technode.com/2023/06/14/chinas-catl-showcases-battery-swap-technology-for-heavy-trucks/",
        verified=False,
        note="the truck block and its consumption are published; the bus pack is a quoted data-sheet figure; "
             "fleet sizes, routes, station and diagnosis figures are assumptions",
    ),
    values={
        "vehicles": {"bus": 10, "truck": 4, "two_wheeler": 20, "boat": 1},
        "packs_per_vehicle": {"bus": 1, "truck": 3, "two_wheeler": 1, "boat": 15},
        "spare_packs_per_station": {"bus": 2, "truck": 3, "two_wheeler": 5, "boat": 0},
        "pack_energy_kwh": {"bus": 324.0, "truck": 171.0, "two_wheeler": 1.44, "boat": 500.0},
        "nominal_voltage_v": {"bus": 614.4, "truck": 537.6, "two_wheeler": 57.6, "boat": 716.8},
        "chemistry": {"bus": "LFP", "truck": "LFP", "two_wheeler": "LFP", "boat": "LFP"},
        "pack_kg_per_kwh": {"bus": 6.49, "truck": 6.49, "two_wheeler": 6.49, "boat": 6.49},  # BatPaC 5.0 LFP pack mass (REFERENCE.md §4)
        "route_km_per_day": {"bus": 200.0, "truck": 250.0, "two_wheeler": 120.0, "boat": 40.0},
        "kwh_per_km": {"bus": 1.2, "truck": 1.71, "two_wheeler": 0.03, "boat": 75.0},
        "operating_days_per_year": {"bus": 365, "truck": 330, "two_wheeler": 330, "boat": 240},
        "swap_window_fraction": {"bus": 0.8, "truck": 0.8, "two_wheeler": 0.8, "boat": 0.8},
        "expected_lifetime_cycles": {"bus": 5000, "truck": 15000, "two_wheeler": 3000, "boat": 6000},
        "capacity_threshold_exhaustion_pct": 80.0,
        "retirement_soh_pct": 80.0,
        "station_chargers": {"bus": 3, "truck": 4, "two_wheeler": 10, "boat": 1},
        "station_charger_kw": {"bus": 150.0, "truck": 250.0, "two_wheeler": 0.5, "boat": 1250.0},
        "diagnosis_sigma_soh_pct": 1.0,
        "diagnoses_averaged": 20,
        "charging": {"bus": "swap", "truck": "swap", "two_wheeler": "swap", "boat": "pier"},
        "cell_resistance_ohm_ah": 0.10,
        "station_pv_kwp": 500.0,
        "station_import_limit_kw": 1500.0,
        "station_export_limit_kw": 300.0,
        "mean_temperature_c": 10.0,  # Lanzhou's annual mean is about 10 °C (climate normals, UNVERIFIED)
    },
    notes={
        "vehicles": _ASSUMED, "packs_per_vehicle.boat": "Three Gorges 1: 15 packs (Hellenic Shipping News 2022)",
        "pack_energy_kwh.boat": "Three Gorges 1: 7,500 kWh in 15 packs (Hellenic Shipping News 2022)",
        "kwh_per_km.boat": "Three Gorges 1: about 100 km on 7,500 kWh (Hellenic Shipping News 2022)",
        "station_charger_kw.boat": "Three Gorges 1: a full charge in six hours at its home port, 7,500 kWh / 6 h",
        "expected_lifetime_cycles.boat": _ASSUMED, "charging": "the boat is charged aboard at its pier (not swapped)", "packs_per_vehicle.bus": _ASSUMED, "packs_per_vehicle.two_wheeler": _ASSUMED,
        "packs_per_vehicle.truck": "QIJI: one to three blocks per truck; three as Deepway's (TechNode 2023)",
        "spare_packs_per_station": _ASSUMED,
        "pack_energy_kwh.truck": "CATL QIJI block (TechNode 2023)",
        "pack_energy_kwh.bus": "BYD K9 data sheet as commonly quoted, UNVERIFIED",
        "pack_energy_kwh.two_wheeler": _ASSUMED, "nominal_voltage_v": _ASSUMED,
        "route_km_per_day": _ASSUMED, "operating_days_per_year": _ASSUMED, "swap_window_fraction": _ASSUMED,
        "kwh_per_km.bus": "Wikipedia, Battery electric bus: about 1.2 kWh/km",
        "kwh_per_km.truck": "Deepway: about 300 km on 3 × 171 kWh (TechNode 2023)",
        "kwh_per_km.two_wheeler": "low end of fleet_segments' 0.03–0.05 kWh/km, UNVERIFIED",
        "expected_lifetime_cycles.truck": "CATL's claim of over 15,000 cycles (2023)",
        "expected_lifetime_cycles.bus": _ASSUMED, "expected_lifetime_cycles.two_wheeler": _ASSUMED,
        "capacity_threshold_exhaustion_pct": _ASSUMED, "retirement_soh_pct": _ASSUMED,
        "station_chargers": _ASSUMED, "station_charger_kw": _ASSUMED,
        "diagnosis_sigma_soh_pct": _ASSUMED, "diagnoses_averaged": _ASSUMED,
        "cell_resistance_ohm_ah": "LFP-26650-3300 data sheet: ≤ 30 mΩ at 3.3 Ah (AC 1 kHz), UNVERIFIED for large cells",
        "station_pv_kwp": _ASSUMED, "station_import_limit_kw": _ASSUMED, "station_export_limit_kw": _ASSUMED,
        "mean_temperature_c": "Lanzhou's annual mean temperature, about 10 °C, UNVERIFIED",
    },
)
