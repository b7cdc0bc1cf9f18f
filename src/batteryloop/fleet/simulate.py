"""A deterministic generator of fleet BMS telemetry, with known faults, in the layout of :mod:`.layout`.

Each vehicle gets a segment (car, taxi, bus, truck, two-wheeler) and that segment's pack design and use from
:mod:`batteryloop.reference.fleet_segments`; its state of health at the start comes from the pilot's calibrated
fade model (:mod:`batteryloop.sim.fade`, :mod:`batteryloop.reference.first_life_fade`) at its age and cycles, and
fades further with the cycles it runs. Time steps over all vehicles at once (NumPy vectors over vehicles), so a
thousand vehicles for thirty days at one-minute samples takes minutes.

Per step and vehicle: a duty plan (trips in the segment's duty hours) decides whether it wants to drive; it drives
(power from speed × energy use, with noise and regenerative braking), charges (DC during duty when its state of
charge is low and the vehicle fast-charges, then parks at least :data:`DWELL_AFTER_DC_MIN` minutes; AC at the
depot or home outside its duty hours when below its plug-in level) or parks. The pack is an equivalent circuit: open-circuit
voltage of its chemistry (:func:`ocv`) × cells in series, an ohmic resistance (cells in series × the cell resistance
of its chemistry family in Ω·Ah, ``fleet_segments.cell_resistance_ohm_ah_by_chemistry``, ÷ pack Ah × the
interconnect factor) that grows with capacity loss (the fade model's ``resistance_increase_pct_per_pct_capacity_loss``), and one RC polarisation (τ = 180 s); a lumped
thermal model with liquid cooling above its set point and a charging derate above 50 °C. The highest and lowest
cells are the pack's mean plus fixed cell offsets, one cell with slightly less capacity, and the faulty cell.

Faults (one per faulty pack, :data:`FAULTS`), written to ``DIR/_truth.csv``:

- ``self_discharge``: one cell loses 3–5 % of charge a day more than the others (reset by balancing at the top
  of an AC charge); its voltage falls behind at rest.
- ``weak_cell``: one cell has 75–82 % of the others' capacity (top-balanced): it dives at low state of charge.
- ``cooling_failure``: the liquid cooling does not work; only passive losses remain.
- ``lithium_plating``: after each DC charge the voltage relaxation shows a stripping plateau (the voltage is held
  about 0.6 × the polarisation for 15 minutes before relaxing), as in the relaxation signatures of
  von Lüders et al., J. Power Sources 414 (2019) 41–47.
- ``sensor_drift``: the pack voltage sensor's gain drifts 0.08–0.15 % a day.

Cooling failures and plating are injected into taxis and trucks only (they fast-charge daily; a fault that never
shows in the window cannot be found). ``DIR/_truth_state.csv`` has each pack's true state of health and resistance
at the start and end of the window, for a weak or self-discharging cell its index, its cumulative full equivalent
cycles at the end (``fec_end``) and its true remaining life to 80 % by its own fade model if it goes on cycling at
its rate of the window (``rul_days_true``, ``rul_fec_true``; empty beyond 60 years) — for benchmarks and tests, not
read by the analysis.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..reference import References
from .layout import DEFAULT_BUCKETS, FleetLayout, bucket_of, write_partition

FAULTS = ("self_discharge", "weak_cell", "cooling_failure", "lithium_plating", "sensor_drift")
FAST_ONLY_FAULTS = ("cooling_failure", "lithium_plating")
SEGMENT_MIX = {"car": 0.45, "taxi": 0.2, "bus": 0.1, "truck": 0.15, "two_wheeler": 0.1}
TRIPS_PER_DAY = {"car": 2, "taxi": 12, "bus": 16, "truck": 4, "two_wheeler": 3}
DWELL_AFTER_DC_MIN = 35.0
POLARISATION_TAU_S = 180.0
DC_TARGET = 0.80
DERATE_ABOVE_C = 50.0
DEFAULT_START = dt.date(2026, 6, 1)
DEFAULT_ID_PREFIX = "BL.BPNL000000000EM1.FLEET-"


def ocv(chemistry_lfp: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Open-circuit voltage of one cell (V) at state of charge ``s`` (0…1): a smooth layered-oxide curve
    (3.1 → 4.2 V) or a flat LFP one (2.95 → 3.45 V, 1.5 mV per % in the middle)."""
    nmc = 3.45 + 0.72 * s - 0.35 * np.exp(-12.0 * s) + 0.05 * np.exp(20.0 * (s - 1.0))
    lfp = 3.25 + 0.15 * (s - 0.5) - 0.3 * np.exp(-15.0 * s) + 0.15 * np.exp(25.0 * (s - 1.0))
    return np.where(chemistry_lfp, lfp, nmc)


@dataclass
class Fleet:
    """The vehicles' fixed properties (arrays over vehicles) and their faults."""

    vehicle_id: list[str]
    pack_id: list[str]
    segment: np.ndarray
    params: dict[str, np.ndarray]
    fault: list[str]


def _design(refs: References, n: int, rng: np.random.Generator, id_prefix: str, seed: int,
            fault_share: float, start: dt.date) -> tuple[Fleet, dict[str, Any]]:
    from ..sim.fade import chemistry_family, default_model

    fm, tracker = default_model(refs)
    seg = refs.tracker()
    segs = np.array(list(SEGMENT_MIX))
    segment = rng.choice(segs, size=n, p=np.array(list(SEGMENT_MIX.values())))

    def per(key: str) -> np.ndarray:
        table = seg.table("fleet_segments", key)
        return np.array([table[s] for s in segment])

    def one(key: str) -> float:
        return float(seg.get("fleet_segments", key))

    chem = per("chemistry")
    lfp = np.array([chemistry_family(c) == "LFP" for c in chem])
    energy = per("pack_energy_kwh").astype(float)
    vnom = per("nominal_voltage_v").astype(float)
    ns = np.round(vnom / np.where(lfp, 3.2, 3.65)).astype(int)
    ah = energy * 1000 / vnom
    np_ = np.maximum(1, np.round(ah / np.where(lfp, 60, 70))).astype(int)
    age_y = rng.uniform(0.1, 1.0, n) * per("age_years_max")
    km_factor = rng.lognormal(0.0, 0.25, n)
    annual_km = per("annual_km") * km_factor
    kwh_km = per("kwh_per_km") * rng.uniform(0.9, 1.1, n)
    fast_share = per("fast_charge_share")
    climate_c = rng.uniform(12.0, 28.0, n)
    fec0 = age_y * annual_km * kwh_km / energy
    k = np.array([fm.cycle_k(c, 70.0) for c in per("expected_lifetime_cycles")])
    e = rng.lognormal(0.0, fm.sigma_log_k, n)
    k_eff = k * e * (1 + fm.fast_charge_factor * fast_share)
    cal = np.array([fm.calendar_b[chemistry_family(c)] for c in chem]) * fm.arrhenius(climate_c)
    soh0 = np.clip(fm.soh_pct(fec0, age_y, k_eff, cal), 60.0, 100.0)
    r_cell = seg.table("fleet_segments", "cell_resistance_ohm_ah_by_chemistry")  # Ω·Ah per chemistry family
    fam = [chemistry_family(c) for c in chem]
    missing = sorted({f for f in fam if f not in r_cell})
    if missing:
        raise ValueError(f"fleet_segments.cell_resistance_ohm_ah_by_chemistry has no value for {', '.join(missing)} "
                         f"(it has {', '.join(sorted(r_cell))})")
    r0 = ns * np.array([float(r_cell[f]) for f in fam]) / ah * one("interconnect_resistance_factor")
    # faults: a share of the packs, the kinds in turn; plating and cooling only where DC charging is daily
    fault = [""] * n
    n_faulty = int(round(fault_share * n))
    order = rng.permutation(n)
    fast_ok = np.isin(segment, ["taxi", "truck"])
    kinds = [FAULTS[i % len(FAULTS)] for i in range(n_faulty)]
    used: set[int] = set()
    for kind in kinds:
        for i in order:
            if i in used or (kind in FAST_ONLY_FAULTS and not fast_ok[i]):
                continue
            fault[int(i)] = kind
            used.add(int(i))
            break
    fault_arr = np.array(fault)
    params = {
        "lfp": lfp, "energy_kwh": energy, "vnom": vnom, "ns": ns.astype(float), "np": np_.astype(float), "ah": ah,
        "age_y": age_y, "fec0": fec0, "k_eff": k_eff, "cal": cal, "soh0": soh0, "r0": r0,
        "speed": per("mean_speed_kmh") * rng.uniform(0.85, 1.15, n), "kwh_km": kwh_km,
        "daily_km": annual_km / 365.0, "fast_share": fast_share,
        "p_slow_kw": per("slow_charge_kw"), "p_fast_kw": per("fast_charge_kw"),
        "duty_start_h": per("duty_start_h"), "duty_len_h": per("duty_length_h"),
        "trips": np.array([TRIPS_PER_DAY[s] for s in segment], dtype=float),
        "climate_c": climate_c,
        "c_th": energy * one("thermal_mass_kj_per_k_per_kwh") * 1000 * (2.0 / 3.0),
        "h_cool": np.where(fault_arr == "cooling_failure", 0.0, energy * one("cooling_w_per_k_per_kwh")),
        "h_pass": energy * one("passive_cooling_w_per_k_per_kwh"),
        "setpoint_c": np.full(n, one("cooling_setpoint_c")),
        "plug_below": np.where(segment == "bus", 1.01, np.where(fast_ok, rng.uniform(0.05, 0.12, n), rng.uniform(0.12, 0.28, n))),
        "dc_below": rng.uniform(0.10, 0.22, n),
        "ac_target": np.where(np.isin(segment, ["car", "two_wheeler"]), rng.uniform(0.85, 1.0, n), 1.0),
        "aux_a": 0.05 * energy / 60.0,
        "off_hi": rng.uniform(0.003, 0.008, n), "off_lo": rng.uniform(0.003, 0.008, n),
        "idx_hi": np.floor(rng.uniform(0, 1, n) * ns).astype(int) + 1,
        "idx_lo": np.floor(rng.uniform(0, 1, n) * ns).astype(int) + 1,
        "idx_fault": np.floor(rng.uniform(0, 1, n) * ns).astype(int) + 1,
        "healthy_weak": rng.uniform(0.985, 0.995, n),
        "weak_ratio": np.where(fault_arr == "weak_cell", rng.uniform(0.75, 0.82, n), 1.0),
        "sd_per_day": np.where(fault_arr == "self_discharge", rng.uniform(0.03, 0.05, n), 0.0),
        "drift_per_day": np.where(fault_arr == "sensor_drift", rng.uniform(0.0008, 0.0015, n) * rng.choice([-1, 1], n), 0.0),
        "plating": fault_arr == "lithium_plating",
    }
    # cells of the fault, the healthy highest and the healthy lowest are three different cells
    same = params["idx_lo"] == params["idx_hi"]
    params["idx_lo"][same] = params["idx_hi"][same] % ns[same] + 1
    clash = (params["idx_fault"] == params["idx_hi"]) | (params["idx_fault"] == params["idx_lo"])
    for i in np.flatnonzero(clash):
        c = 1
        while c in (params["idx_hi"][i], params["idx_lo"][i]):
            c += 1
        params["idx_fault"][i] = c
    width = max(6, len(str(n)))
    vehicle_id = [f"V{seed:03d}-{i:0{width}d}" for i in range(n)]
    pack_id = [f"{id_prefix}{seed:03d}-{i:0{width}d}" for i in range(n)]
    used_refs = {"fade_model": {"z": fm.z, "sigma_log_k": fm.sigma_log_k}, "start": start.isoformat()}
    return Fleet(vehicle_id, pack_id, segment, params, fault), used_refs


def simulate(out: str | Path, *, vehicles: int, days: int, seed: int = 0, interval_s: float = 60.0,
             start: dt.date = DEFAULT_START, buckets: int = DEFAULT_BUCKETS, fault_share: float = 0.1,
             id_prefix: str = DEFAULT_ID_PREFIX, references: References | None = None,
             progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write ``days`` days of telemetry of ``vehicles`` vehicles under ``out`` (see the module's docstring).

    Same arguments, same files (byte for byte). Returns a summary (rows, files, faults)."""
    if vehicles < 1 or days < 1:
        raise ValueError("--vehicles and --days must be at least 1")
    if not 1 <= interval_s <= 3600 or 86400 % interval_s:
        raise ValueError(f"--interval-s {interval_s:g}: must divide a day (86400 s) and lie within 1…3600 s")
    if not 0 <= fault_share <= 1:
        raise ValueError("fault share must be within 0…1")
    root = Path(out)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty: give a new folder (simulate never mixes two fleets)")
    refs = references or References.default()
    rng = np.random.default_rng(seed)
    fleet, used = _design(refs, vehicles, rng, id_prefix, seed, fault_share, start)
    p = fleet.params
    n = vehicles
    steps = int(86400 // interval_s)
    dts = float(interval_s)
    FleetLayout(buckets=buckets, interval_s=dts).write(root)
    bucket = np.array([bucket_of(v, buckets) for v in fleet.vehicle_id])
    from ..sim.fade import default_model

    fm, _ = default_model(refs)
    # state
    soc = rng.uniform(0.4, 0.95, n)
    state = np.zeros(n, dtype=np.int8)  # 0 park, 1 drive, 2 ac, 3 dc
    dwell = np.zeros(n)
    eta = np.zeros(n)
    temp = p["climate_c"].copy()
    odo = np.round(p["age_y"] * p["daily_km"] * 365.0, 1)
    sd = np.zeros(n)
    strip_left = np.zeros(n)
    strip_amp = np.zeros(n)
    extra_v = np.zeros(n)
    fec = p["fec0"].copy()
    speed_f = np.ones(n)
    soh = p["soh0"].copy()
    soh_start = soh.copy()
    lfp = p["lfp"]
    decay = math.exp(-dts / POLARISATION_TAU_S)
    rows = 0
    files = 0
    vid = np.array(fleet.vehicle_id)
    pid = np.array(fleet.pack_id)
    for day in range(days):
        date = start + dt.timedelta(days=day)
        t0 = dt.datetime.combine(date, dt.time(0), tzinfo=dt.UTC)
        cap = p["ah"] * soh / 100.0
        r_ohm = p["r0"] * (1 + fm.resistance_pct_per_pct_loss * (100.0 - soh) / 100.0)
        rp = 0.5 * r_ohm
        # the day's duty plan: trips of equal length spread over the duty hours
        start_s = (p["duty_start_h"] + rng.normal(0, 0.4, n)) * 3600
        duty_s = p["duty_len_h"] * 3600
        drive_s = np.minimum(p["daily_km"] / p["speed"] * 3600 * rng.lognormal(0, 0.2, n), 0.9 * duty_s)
        trip_s = drive_s / p["trips"]
        pause_s = (duty_s - drive_s) / np.maximum(p["trips"] - 1, 1)
        buf = {c: np.empty((steps, n), dtype=np.float64) for c in
               ("i", "v", "soc", "vmin", "vmax", "imin", "imax", "tmin", "tmax", "odo", "cs")}
        ambient_mean = p["climate_c"] + 3.0 * math.sin(2 * math.pi * (day / 365.0))
        throughput_ah = np.zeros(n)
        for k in range(steps):
            ts = k * dts
            into = ts - start_s
            in_duty = (into >= 0) & (into < duty_s)
            wants = in_duty & (np.mod(into, trip_s + pause_s) < trip_s)
            ambient = ambient_mean - 4.0 * np.cos(2 * math.pi * (ts / 86400.0 - 5 / 24))
            # state transitions
            dc_end = (state == 3) & (soc >= DC_TARGET)
            ac_end = (state == 2) & ((soc >= p["ac_target"]) | (wants & (soc >= 0.5)))
            sd[ac_end & (soc >= 0.85)] = 0.0  # the BMS balances at the top of a charge
            if np.any(dc_end):
                strip_amp[dc_end & p["plating"]] = 0.6 * eta[dc_end & p["plating"]]
                strip_left[dc_end & p["plating"]] = 15 * 60.0
                dwell[dc_end] = DWELL_AFTER_DC_MIN * 60.0
            state[dc_end | ac_end] = 0
            free = (state <= 1) & (dwell <= 0)
            low_dc = free & wants & (soc < p["dc_below"]) & (p["fast_share"] > 0)
            state[low_dc] = 3
            free &= ~low_dc
            plug = free & ~in_duty & (soc < np.minimum(p["plug_below"], p["ac_target"] - 0.03)) & (p["p_slow_kw"] > 0)
            state[plug] = 2
            free &= ~plug
            state[free] = np.where(wants[free] & (soc[free] > 0.05), 1, 0)
            dwell -= dts
            # currents (A, positive into the pack)
            v_est = p["ns"] * ocv(lfp, soc)
            speed_f = 0.8 * speed_f + 0.2 * rng.lognormal(0, 0.35, n)
            v_kmh = np.where(state == 1, p["speed"] * speed_f, 0.0)
            p_drive_kw = p["kwh_km"] * v_kmh * (1 + 0.25 * rng.standard_normal(n))
            regen = rng.random(n) < 0.12
            p_drive_kw = np.where(regen, -0.4 * np.abs(p_drive_kw), p_drive_kw)
            hot = temp > DERATE_ABOVE_C
            taper = np.where(state == 2, np.clip((p["ac_target"] + 0.02 - soc) / 0.1, 0.1, 1.0), 1.0)
            p_charge_kw = np.where(state == 3, p["p_fast_kw"], np.where(state == 2, p["p_slow_kw"], 0.0)) * taper
            p_charge_kw = np.where(hot, 0.5 * p_charge_kw, p_charge_kw)
            current = np.where(state == 1, -p_drive_kw * 1000 / v_est,
                               np.where(state >= 2, p_charge_kw * 1000 / v_est, -p["aux_a"]))
            # pack
            soc = soc + current * dts / 3600.0 / cap
            soc = np.clip(soc, 0.0, 1.0)
            sd += p["sd_per_day"] * dts / 86400.0
            throughput_ah += np.abs(current) * dts / 3600.0
            eta = eta * decay + current * rp * (1 - decay)
            strip_left -= dts
            extra_v = np.where(strip_left > 0, strip_amp, extra_v * math.exp(-dts / 120.0))
            extra_v = np.where(state >= 1, 0.0, extra_v)
            strip_left[state >= 1] = 0.0
            ir = current * r_ohm + eta + extra_v
            v_true = p["ns"] * ocv(lfp, soc) + ir
            cell_ir = ir / p["ns"]
            mean_cell = v_true / p["ns"]
            hi = mean_cell + p["off_hi"]
            lo_healthy = ocv(lfp, 1 - (1 - soc) / p["healthy_weak"]) + cell_ir - p["off_lo"]
            fault_cell = np.where(p["weak_ratio"] < 1, ocv(lfp, np.maximum(1 - (1 - soc) / p["weak_ratio"], -0.02)),
                                  ocv(lfp, np.maximum(soc - sd, -0.02))) + cell_ir
            has_fault_cell = (p["weak_ratio"] < 1) | (p["sd_per_day"] > 0)
            use_fault = has_fault_cell & (fault_cell < lo_healthy)
            lo = np.where(use_fault, fault_cell, lo_healthy)
            # heat (W) and temperature
            heat_w = current ** 2 * (r_ohm + rp)
            cooling = p["h_cool"] * np.maximum(temp - p["setpoint_c"], 0.0)
            temp = temp + dts * (heat_w - p["h_pass"] * (temp - ambient) - cooling) / p["c_th"]
            odo = odo + v_kmh * dts / 3600.0
            drift = 1 + p["drift_per_day"] * (day + ts / 86400.0)
            buf["i"][k] = current + rng.normal(0, 1, n) * (0.1 + 0.003 * np.abs(current))
            buf["v"][k] = v_true * drift + rng.normal(0, 1, n) * 0.0003 * p["vnom"]
            buf["soc"][k] = soc * 100 + rng.normal(0, 0.15, n)
            buf["vmin"][k] = lo + rng.normal(0, 0.0007, n)
            buf["vmax"][k] = hi + rng.normal(0, 0.0007, n)
            buf["imin"][k] = np.where(use_fault, p["idx_fault"], p["idx_lo"])
            buf["imax"][k] = p["idx_hi"]
            hotspot = 20.0 * heat_w / 1000.0 / p["energy_kwh"]  # K: the hottest cell over the mean, by heat per kWh
            buf["tmax"][k] = temp + hotspot + 1.0 + rng.normal(0, 0.2, n)
            buf["tmin"][k] = temp - 0.5 * hotspot - 1.0 + rng.normal(0, 0.2, n)
            buf["odo"][k] = odo
            buf["cs"][k] = np.where(state == 3, 2, np.where(state == 2, 1, 0))
        # fade over the day: cycles add to the fade model's cycle term, the day to its calendar term
        fec += throughput_ah / (2 * p["ah"])
        soh = np.clip(fm.soh_pct(fec, p["age_y"] + (day + 1) / 365.0, p["k_eff"], p["cal"]), 60.0, 100.0)
        rows += _write_day(root, date, t0, steps, dts, buf, vid, pid, fleet.segment, bucket, buckets)
        files += len(np.unique(bucket))
        if progress:
            progress(day + 1, days)
    _write_registry(root, fleet, start)
    truth = pl.DataFrame({"pack_id": fleet.pack_id, "fault": fleet.fault}).filter(pl.col("fault") != "")
    truth.sort("pack_id").write_csv(root / "_truth.csv")
    r_end = p["r0"] * (1 + fm.resistance_pct_per_pct_loss * (100.0 - soh) / 100.0)
    faulty_cell = (p["weak_ratio"] < 1) | (p["sd_per_day"] > 0)
    rul_days = true_remaining_days(fm, fec, p["age_y"] + days / 365.0, (fec - p["fec0"]) / days, p["k_eff"], p["cal"])
    pl.DataFrame({"pack_id": fleet.pack_id, "soh_start_pct": np.round(soh_start, 4), "soh_end_pct": np.round(soh, 4),
                  "resistance_end_mohm": np.round(r_end * 1000, 4),
                  "fault_cell_index": pl.Series([int(c) if f else None for c, f in zip(p["idx_fault"], faulty_cell)],
                                                dtype=pl.Int64),
                  "fec_end": np.round(fec, 3),
                  "rul_days_true": pl.Series(np.round(rul_days, 1)).fill_nan(None),
                  "rul_fec_true": pl.Series(np.round(rul_days * (fec - p["fec0"]) / days, 2)).fill_nan(None),
                  }).write_csv(root / "_truth_state.csv")
    return {"folder": str(root), "vehicles": n, "days": days, "interval_s": dts, "rows": rows, "files": files,
            "faults": {k: fleet.fault.count(k) for k in FAULTS}, "seed": seed, **used}


def true_remaining_days(fm: Any, fec: np.ndarray, years: np.ndarray, fec_per_day: np.ndarray, k_eff: np.ndarray,
                        cal: np.ndarray, eol_pct: float = 80.0, horizon_days: float = 365.0 * 60) -> np.ndarray:
    """Days until each pack's state of health, by the fade model that generated it, falls below ``eol_pct`` if it
    goes on cycling at ``fec_per_day`` (its rate in the window): 0 when it already has, NaN beyond the horizon.
    The generator's truth, for scoring remaining-life forecasts (bisection to 0.01 day)."""
    def soh(d: np.ndarray) -> np.ndarray:
        return np.asarray(fm.soh_pct(fec + fec_per_day * d, years + d / 365.0, k_eff, cal))

    lo, hi = np.zeros(fec.size), np.full(fec.size, horizon_days)
    done = soh(lo) < eol_pct
    never = soh(hi) >= eol_pct
    for _ in range(40):
        mid = (lo + hi) / 2
        below = soh(mid) < eol_pct
        hi, lo = np.where(below, mid, hi), np.where(below, lo, mid)
    return np.where(done, 0.0, np.where(never, np.nan, hi))


def _write_day(root: Path, date: dt.date, t0: dt.datetime, steps: int, dts: float, buf: dict[str, np.ndarray],
               vid: np.ndarray, pid: np.ndarray, segment: np.ndarray, bucket: np.ndarray, buckets: int) -> int:
    """One file per bucket for the day: the bucket's vehicles, each vehicle's samples in time order."""
    times = np.datetime64(t0.replace(tzinfo=None), "us") + (np.arange(steps) * dts * 1e6).astype("timedelta64[us]")
    states = np.array(["not_charging", "ac", "dc"])
    rows = 0
    for b in range(buckets):
        idx = np.flatnonzero(bucket == b)
        if idx.size == 0:
            continue
        m = idx.size

        def col(name: str, nd: int) -> np.ndarray:
            return np.round(buf[name][:, idx].T.reshape(-1), nd)

        # strings by gathering a short column (NumPy string arrays cost ~5 s a day to convert at 1,000 vehicles)
        per_row = pl.Series(np.repeat(np.arange(m, dtype=np.uint32), steps))
        frame = pl.DataFrame({
            "timestamp": pl.Series(np.tile(times, m)).dt.replace_time_zone("UTC"),
            "vehicle_id": pl.Series(vid[idx].tolist(), dtype=pl.String).gather(per_row),
            "pack_id": pl.Series(pid[idx].tolist(), dtype=pl.String).gather(per_row),
            "segment": pl.Series(segment[idx].tolist(), dtype=pl.String).gather(per_row),
            "pack_current_a": col("i", 1),
            "pack_voltage_v": col("v", 2),
            "soc_pct": np.clip(col("soc", 1), 0.0, 100.0),
            "cell_voltage_min_v": col("vmin", 3),
            "cell_voltage_max_v": col("vmax", 3),
            "cell_index_min": col("imin", 0).astype(np.int16),
            "cell_index_max": col("imax", 0).astype(np.int16),
            "temperature_min_c": col("tmin", 1),
            "temperature_max_c": col("tmax", 1),
            "odometer_km": col("odo", 3),
            "charging_state": pl.Series(states.tolist(), dtype=pl.String).gather(
                pl.Series(buf["cs"][:, idx].T.reshape(-1).astype(np.uint32))),
        })
        write_partition(frame, root, date.isoformat(), b)
        rows += frame.height
    return rows


def _write_registry(root: Path, fleet: Fleet, start: dt.date) -> None:
    p = fleet.params
    first_use = [(start - dt.timedelta(days=int(round(a * 365)))).isoformat() for a in p["age_y"]]
    chem = ["LFP" if x else "NMC811" for x in p["lfp"]]
    pl.DataFrame({
        "pack_id": fleet.pack_id, "vehicle_id": fleet.vehicle_id, "segment": fleet.segment.tolist(), "chemistry": chem,
        "rated_capacity_ah": np.round(p["ah"], 3), "rated_energy_kwh": p["energy_kwh"],
        "nominal_voltage_v": p["vnom"], "cells_in_series": p["ns"].astype(int), "cells_in_parallel": p["np"].astype(int),
        "first_use_date": first_use,
    }).write_csv(root / "_packs.csv")
