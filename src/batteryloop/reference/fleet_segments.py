"""Vehicle segments of a battery fleet: pack designs and daily use of cars, taxis, city buses, trucks and
two-wheelers, for the fleet telemetry generator (:mod:`batteryloop.fleet.simulate`).

Sources (orders of magnitude, rounded; each figure checked against what could be read in December 2026 is marked
below — the rest stays UNVERIFIED; the car and taxi rows follow ``vehicle_usage``):
- Cars and taxis: annual distance, energy use at the pack and fast-charging share as in
  :mod:`batteryloop.reference.vehicle_usage` (Eurostat/ODYSSEE, ICCT ride-hailing study 2019, EV Database);
  their packs are the pilot's models (``batteryloop.sim.pilot.battery_models``: 82 kWh NMC at 355 V,
  60 kWh LFP at 320 V).
- 12 m city buses: 250–450 kWh LFP packs at 600–700 V, 50,000–70,000 km a year, 1.0–1.4 kWh/km, depot
  charging at 100–150 kW. Checked (issue 18): BYD's K9 (12 m) runs on LFP, about 250 km a charge in city service,
  and battery-electric buses use about 1.2 kWh/km (Wikipedia, "BYD K series" and "Battery electric bus", read
  2024) — the 300 kWh and 1.3 kWh/km rows fit; the annual distance and the 614.4 V (192 LFP cells in series) are
  UNVERIFIED (no source at hand; Solaris and ICCT figures not re-read).
- Heavy trucks (regional distribution): 500–620 kWh packs at 650–800 V, 80,000–100,000 km a year, 1.1–1.3 kWh/km
  at 40 t, DC charging at 350–1,000 kW (CCS and the Megawatt Charging System). Checked (issue 18): the
  Mercedes-Benz eActros 600 carries three 207 kWh packs (621 kWh) of **LFP** cells, charges at up to 400 kW (CCS),
  later 1 MW (MCS), for about 500 km (Transport Engineer, "In it for the long haul", 2024;
  https://www.transportengineer.org.uk/content/features/in-it-for-the-long-haul); the Volvo FH Electric's 540 kWh
  are NMC (Volvo data sheet, UNVERIFIED here). The row keeps a 540 kWh NMC811 pack (Volvo-like); an LFP truck
  (eActros 600, CATL's swap blocks: ``lanzhou_fleets``) differs in chemistry, mass and resistance.
  The kWh/km row (1.2) is below the 1.71 kWh/km of a Chinese swap truck on three 171 kWh blocks for 300 km
  (``lanzhou_fleets``, TechNode 2023): a 40 t European tractor on a motorway, UNVERIFIED.
- Electric two-wheelers (scooters): 2–4 kWh packs at 48–72 V, 4,000–6,000 km a year, 0.03–0.05 kWh/km,
  1 kW chargers (manufacturers' data sheets, e.g. NIU, Gogoro: two swappable batteries, about 100 km —
  UNVERIFIED orders of magnitude).
- Cell resistance per chemistry family (``cell_resistance_ohm_ah_by_chemistry``): about 0.06 Ω·Ah is a
  **layered-oxide (NMC) figure** — the pilot's NMC model's 0.9 mΩ at about 70 Ah
  (``sim.pilot.battery_models``, itself a plausible value, UNVERIFIED). LFP
  cells are higher per ampere-hour: an LFP 26650 data sheet gives ≤ 30 mΩ at 3.3 Ah (AC 1 kHz), ≤ 0.099 Ω·Ah
  (``lanzhou_fleets.cell_resistance_ohm_ah``, 0.10). The table holds both (the single NMC value it replaced was applied to LFP
  buses and taxis too), and the fleet generator (``batteryloop.fleet.simulate``) reads it per segment's chemistry family. Interconnects add about half
  again. Thermal mass of a pack about 6 kg/kWh × 1 kJ/(kg·K); liquid cooling removes about 30 W/K per kWh of pack
  above its 25 °C set point (batteryloop's estimates from BatPaC 5.0 pack masses; not a published figure).
- batteryloop's assumptions, with no source (``notes`` says so per key): the mean speeds, duty hours and maximum
  ages of the generated vehicles, the bus, truck and two-wheeler cycle lives, the car and taxi chargers (11 kW AC;
  150 and 100 kW DC) and the passive cooling.

The generator reads these values through a tracker; every figure is overridable like any reference set.
"""

from __future__ import annotations

from . import vehicle_usage
from ._core import Citation, ReferenceSet

_USAGE = vehicle_usage.SET.values  # the car and taxi rows are vehicle_usage's private_car and taxi, not copies


def _car_taxi(key: str) -> dict[str, float]:
    return {"car": _USAGE[key]["private_car"], "taxi": _USAGE[key]["taxi"]}


SEGMENTS = ("car", "taxi", "bus", "truck", "two_wheeler")

SET = ReferenceSet(
    name="fleet_segments",
    citation=Citation(
        title="EV fleet segments: pack designs and usage (vehicle_usage; bus, truck and two-wheeler data sheets; ICCT)",
        publisher="Eurostat; ICCT; vehicle manufacturers' data sheets",
        date="2024",
        url="https://theicct.org/publication/race-to-zero-ev-heavy-duty-market-2023/",
        verified=False,
        note="rounded orders of magnitude; bus and truck rows checked in part (2026-12); cell resistance per "
             "chemistry family; the cooling and thermal-mass figures are batteryloop's estimates",
    ),
    values={
        "pack_energy_kwh": {"car": 82.0, "taxi": 60.0, "bus": 300.0, "truck": 540.0, "two_wheeler": 3.0},
        "nominal_voltage_v": {"car": 355.2, "taxi": 320.0, "bus": 614.4, "truck": 700.8, "two_wheeler": 72.0},
        "chemistry": {"car": "NMC811", "taxi": "LFP", "bus": "LFP", "truck": "NMC811", "two_wheeler": "NMC811"},
        "expected_lifetime_cycles": {"car": 2000.0, "taxi": 4000.0, "bus": 5000.0, "truck": 3000.0, "two_wheeler": 1000.0},
        "annual_km": {**_car_taxi("annual_km"), "bus": 70_000.0, "truck": 90_000.0, "two_wheeler": 5_000.0},
        "kwh_per_km": {**_car_taxi("kwh_per_km"), "bus": 1.3, "truck": 1.2, "two_wheeler": 0.04},
        "mean_speed_kmh": {"car": 35.0, "taxi": 25.0, "bus": 18.0, "truck": 50.0, "two_wheeler": 25.0},
        "fast_charge_share": {**_car_taxi("fast_charge_share"), "bus": 0.0, "truck": 0.5, "two_wheeler": 0.0},
        "slow_charge_kw": {"car": 11.0, "taxi": 11.0, "bus": 150.0, "truck": 43.0, "two_wheeler": 1.0},
        "fast_charge_kw": {"car": 150.0, "taxi": 100.0, "bus": 150.0, "truck": 600.0, "two_wheeler": 1.0},
        # when the day's driving happens (hours, UTC-free local clock): start of the first trip, length of the duty
        "duty_start_h": {"car": 7.5, "taxi": 6.0, "bus": 5.5, "truck": 6.0, "two_wheeler": 8.0},
        "duty_length_h": {"car": 11.0, "taxi": 14.0, "bus": 17.0, "truck": 11.0, "two_wheeler": 10.0},
        "age_years_max": {"car": 6.0, "taxi": 4.0, "bus": 8.0, "truck": 4.0, "two_wheeler": 3.0},
        "cell_resistance_ohm_ah_by_chemistry": {"NMC": 0.06, "LFP": 0.10},
        "interconnect_resistance_factor": 1.5,
        "thermal_mass_kj_per_k_per_kwh": 6.0,
        "cooling_w_per_k_per_kwh": 30.0,
        "passive_cooling_w_per_k_per_kwh": 1.0,
        "cooling_setpoint_c": 25.0,
    },
    notes={k: "batteryloop's assumption, no source" for k in (
        "mean_speed_kmh", "duty_start_h", "duty_length_h", "age_years_max", "passive_cooling_w_per_k_per_kwh",
        "expected_lifetime_cycles.bus", "expected_lifetime_cycles.truck", "expected_lifetime_cycles.two_wheeler",
        "slow_charge_kw.car", "slow_charge_kw.taxi", "fast_charge_kw.car", "fast_charge_kw.taxi")} | {
        "cell_resistance_ohm_ah_by_chemistry.NMC": "0.9 mΩ at ~70 Ah (the pilot's NMC model), UNVERIFIED",
        "cell_resistance_ohm_ah_by_chemistry.LFP": "LFP-26650-3300 data sheet: ≤ 30 mΩ at 3.3 Ah (AC 1 kHz), UNVERIFIED "
                                                   "for large prismatic cells",
        "chemistry.truck": "Volvo FH Electric-like NMC; the eActros 600 and CATL's swap blocks are LFP"},
)
