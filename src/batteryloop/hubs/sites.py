"""A hub's site: coordinates, clock, tariff, currency, solar resource and local demand from where it stands.

:func:`site_template` turns a site name (``"Rotterdam"``) or an operator's country (``"NL"``: its default
site) into the parts of a :class:`~batteryloop.hubs.hub.HubConfig` that depend on the place, from the
reference sets ``hub_sites`` (coordinates, time zone, PV yield, demand), the country's time-of-use tariff
(``tou_tariffs_cn``/``_nl``/``_kr``) and ``ecb_fx``. Everything it fills can still be given in the config.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..reference import References, hub_references
from .errors import HubInputError
from .pv import site_clearness

#: a hub without a site (the first hub configs were written for it)
DEFAULT_SITE = "Shanghai"


def resolve_site(where: str, references: References | None = None) -> tuple[str, dict[str, Any]]:
    """(site name, its ``hub_sites`` record) for a site name or a two-letter country code."""
    t = hub_references(references).tracker()
    sites = t.table("hub_sites", "sites")
    if where in sites:
        return where, dict(sites[where])
    by_country = t.table("hub_sites", "country_site")
    if where.upper() in by_country:
        name = str(by_country[where.upper()])
        return name, dict(sites[name])
    raise HubInputError("site", where, f"no such site or country in hub_sites (sites: {', '.join(sorted(sites))}; "
                                       f"countries: {', '.join(sorted(by_country))}); add it through the reference "
                                       "overrides or give latitude_deg, utc_offset_hours and grid.tariff_per_kwh")


def site_template(where: str, *, start_date: dt.date = dt.date(2026, 1, 1),
                  references: References | None = None) -> dict[str, Any]:
    """The place-dependent part of a hub config for a site or a country (see the module text).

    The clock is the site's UTC offset on ``start_date`` (one offset for the whole simulation: daylight saving
    time is not modelled); the PV model's mean clearness is set so that its year yields the site's annual PV
    yield; a site without battery swapping (``swaps_per_day`` 0) gets no swap station."""
    refs = hub_references(references)
    t = refs.tracker()
    name, s = resolve_site(where, refs)
    country = str(s["country"])
    tariffs = t.table("hub_sites", "country_tariff_set")
    if country not in tariffs:
        raise HubInputError("site", where, f"no time-of-use tariff set for {country} in hub_sites.country_tariff_set; "
                                           "give grid.tariff_per_kwh, grid.export_price_per_kwh and grid.currency")
    tariff_set = str(tariffs[country])
    try:
        zone = ZoneInfo(str(s["timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise HubInputError("site", where, f"unknown time zone {s['timezone']!r}") from None
    offset = zone.utcoffset(dt.datetime.combine(start_date, dt.time(12)))
    assert offset is not None
    swaps = float(s["swaps_per_day"])
    out: dict[str, Any] = {
        "site": name, "country": country,
        "latitude_deg": float(s["latitude_deg"]), "longitude_deg": float(s["longitude_deg"]),
        "utc_offset_hours": offset.total_seconds() / 3600, "start_date": start_date.isoformat(),
        "weather_mean_fraction": round(site_clearness(float(s["latitude_deg"]),
                                                      float(s["pv_yield_kwh_per_kwp_year"]), tracker=t), 4),
        "grid": {"tariff_set": tariff_set, "currency": str(t.get(tariff_set, "currency"))},
        "ev_charging": {"sessions_per_day": float(s["ev_sessions_per_day"])},
        "swap": {"swaps_per_day": swaps} if swaps > 0 else None,
    }
    return out
