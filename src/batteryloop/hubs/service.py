"""Hub use cases on stored passports: a hub year's new states of health go back into the packs' passports.

The domain (:func:`.simulate.simulate_year`) only computes; this service writes, through
:meth:`batteryloop.passport.service.PassportService.update_passport` (one new version per pack, in its
legitimate-interest tier, with a reason saying where the figures came from). Usage counters add the
year's full equivalent cycles and throughput to what the passport already holds.

Write simulated figures only when the simulation stands for the year the pack actually lived (an
operator's record); for planning, call with ``dry_run=True`` and show the patches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..access import Caller
from ..passport.service import PassportService
from .year import YearResult


def soh_patches(result: YearResult, current: dict[str, dict[str, Any]] | None = None,
                measured_at: datetime | None = None) -> dict[str, dict[str, Any]]:
    """passport id → JSON merge patch (``state_of_health``, ``usage``) for every pack with a passport.

    ``current`` maps passport id → its battery data (for the usage counters to add to)."""
    when = (measured_at or datetime.now(UTC)).isoformat()
    out: dict[str, dict[str, Any]] = {}
    for i, pid in enumerate(result.pack_passport_ids):
        if not pid:
            continue
        usage = (current or {}).get(pid, {}).get("usage") or {}
        soh = float(result.soh_daily[i, -1])
        out[pid] = {
            "state_of_health": {"soh_capacity_pct": round(soh * 100, 3), "measured_at": when},
            "usage": {
                "full_equivalent_cycles": round(float(usage.get("full_equivalent_cycles") or 0.0) + float(result.pack_fec[i]), 3),
                "energy_throughput_kwh": round(float(usage.get("energy_throughput_kwh") or 0.0) + float(result.pack_throughput_kwh[i]), 3),
            },
        }
    return out


def write_year_to_passports(passports: PassportService, result: YearResult, caller: Caller, *,
                            dry_run: bool = False, measured_at: datetime | None = None) -> list[dict[str, Any]]:
    """Write each pack's end-of-year state of health and usage as a new passport version."""
    current = {pid: dict(passports.get_record(pid).data) for pid in result.pack_passport_ids if pid}
    patches = soh_patches(result, current, measured_at)
    written = []
    for pid, patch in patches.items():
        reason = (f"hub {result.hub}: {result.days} days of {result.method} dispatch; state of health from the hub "
                  "ageing model (second_life_degradation)")
        if dry_run:
            written.append({"passport_id": pid, "patch": patch, "version": None})
            continue
        view = passports.update_passport(pid, patch, caller, reason=reason[:200])
        written.append({"passport_id": pid, "patch": patch, "version": view["version"]})
    return written


DEMO_TEMPLATE: dict[str, Any] = {
    # a city storage hub with rooftop PV and fast chargers (docs/hubs.md); where it stands — clock, tariff,
    # currency, solar resource, swap demand — comes from its site (hubs.sites.site_template); the packs come
    # from the operator's repurposed passports
    "pv_kwp": 400,
    "grid": {"import_limit_kw": 800, "export_limit_kw": 200},
    "ev_charging": {"kwh_per_session": 30},
}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def plan_from_passports(passports: PassportService, caller: Caller, *, passport_ids: list[str] | None = None,
                        template: dict[str, Any] | None = None, hub_name: str = "second-life-hub",
                        packs_per_string: int = 4, max_spread_fraction: float = 0.08,
                        site: str | None = None) -> dict[str, Any]:
    """Build a hub from repurposed packs' passports: read each pack (state of health, resistance,
    efficiency, power), grade it (UL 1974-style intake), assemble balanced strings without flagged
    packs, and return the hub config with the reasons for every pack left out.

    Without ``passport_ids`` the caller's own repurposed, live passports are used. ``site`` (a site name or
    the operator's country code) sets everything that depends on where the hub stands
    (:func:`batteryloop.hubs.sites.site_template`; default: Shanghai); ``template`` overrides any of it.
    """
    from .sites import DEFAULT_SITE, site_template

    from ..errors import Forbidden, NotFound
    from ..health.grading import IntakeRecord, grade
    from ..passport.tiers import Tier
    from .assembly import HubSlot, assemble, hub_configs
    from .storage import pack_from_passport

    if passport_ids is None:
        if caller.participant_id is None:
            raise Forbidden("say which passports, or sign in as the operator of repurposed packs")
        passport_ids = [i["passport_id"] for i in passports.search(
            caller, status="repurposed", economic_operator_id=caller.participant_id, limit=500)["items"]
            if not i["archived"]]
    if not passport_ids:
        raise NotFound("no repurposed passports to build a hub from")
    packs, grades = [], {}
    for pid in passport_ids:
        view = passports.get_view(pid, caller, channel="hub-plan")
        if Tier.LEGITIMATE_INTEREST not in view["access_tiers"]:
            raise Forbidden(f"planning reads the state of health of {pid}, which needs legitimate interest")
        pack = pack_from_passport(view)
        packs.append(pack)
        sh = view["battery"].get("state_of_health") or {}
        us = view["battery"].get("usage") or {}
        grades[pack.pack_id] = grade(IntakeRecord(
            battery_id=pack.pack_id, soh_capacity_pct=sh.get("soh_capacity_pct"),
            resistance_increase_pct=sh.get("ohmic_resistance_increase_pct"),
            self_discharge_pct_per_month=sh.get("self_discharge_pct_per_month"),
            max_temperature_c_seen=us.get("max_operating_temperature_c"),
            deep_discharge_events=us.get("deep_discharge_events")))
    target = sum(p.nominal_energy_kwh * p.soh_fraction for p in packs)
    asm = assemble(packs, [HubSlot(hub=hub_name, target_energy_kwh=target, packs_per_string=packs_per_string)],
                   grades=grades, max_spread_fraction=max_spread_fraction)
    base = _merge(DEMO_TEMPLATE, site_template(site or DEFAULT_SITE))
    configs = hub_configs(asm, _merge(base, template or {}))
    return {
        "configs": [c.model_dump(mode="json") for c in configs],
        "packs": len(packs),
        "grades": {k: g.grade for k, g in grades.items()},
        "excluded": asm.excluded,
        "set_aside": asm.set_aside,
    }
