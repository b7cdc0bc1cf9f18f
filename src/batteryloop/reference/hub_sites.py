"""Where a storage hub stands: the site's coordinates, time zone, solar resource and local demand.

Sources:
- Coordinates: GeoNames (geonames.org), city centres, rounded to 0.01°.
- Time zones: the IANA time zone database (the offset on the hub's start date is used; a hub day has one
  clock, so daylight saving time is not modelled).
- Solar resource: long-term average specific PV yield (kWh per kWp per year, fixed-tilt crystalline
  silicon) read off the Global Solar Atlas 2.0 (World Bank Group / Solargis) at each site, rounded to
  10 kWh/kWp (UNVERIFIED readings of a map; replace with PVGIS or a measured profile). The hub's clear-sky
  PV model (``pv_clear_sky``) is scaled by a mean clearness chosen so that its year yields this figure.
- Local demand at the hub (EV charging sessions and battery swaps per day): batteryloop assumptions,
  UNVERIFIED: swapping is a mass service in Chinese cities (CATL and NIO stations serve 100+ swaps a day,
  Lanzhou's heavy trucks fewer, larger ones), a niche in Europe (a NIO Power Swap station sees a few tens),
  absent for cars in Korea (no public car battery swapping: the hub has no swap station).

A site elsewhere: add it (``sites``, ``country_site``) and its country's tariff set through the overrides,
or give the hub's ``latitude_deg``, ``utc_offset_hours`` and ``grid.tariff_per_kwh`` directly.

``country_site`` names the default site of an operator's country; ``country_tariff_set`` the reference set
of its time-of-use tariff (``tou_tariffs_<cc>``).
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="hub_sites",
    citation=Citation(
        title="Hub sites: GeoNames coordinates, IANA time zones, Global Solar Atlas 2.0 specific PV yield; "
              "local demand assumptions",
        publisher="GeoNames; IANA; World Bank Group / Solargis; batteryloop",
        date="2024",
        url="https://globalsolaratlas.info/",
        verified=False,
        note="coordinates and time zones are published; PV yields are readings of the atlas, demand is assumed",
    ),
    values={
        "sites": {
            "Shanghai": {"country": "CN", "latitude_deg": 31.23, "longitude_deg": 121.47, "timezone": "Asia/Shanghai",
                         "pv_yield_kwh_per_kwp_year": 1170.0, "ev_sessions_per_day": 60.0, "swaps_per_day": 120.0},
            "Lanzhou": {"country": "CN", "latitude_deg": 36.06, "longitude_deg": 103.83, "timezone": "Asia/Shanghai",
                        "pv_yield_kwh_per_kwp_year": 1450.0, "ev_sessions_per_day": 40.0, "swaps_per_day": 80.0},
            "Rotterdam": {"country": "NL", "latitude_deg": 51.92, "longitude_deg": 4.48, "timezone": "Europe/Amsterdam",
                          "pv_yield_kwh_per_kwp_year": 950.0, "ev_sessions_per_day": 60.0, "swaps_per_day": 15.0},
            "Seoul": {"country": "KR", "latitude_deg": 37.57, "longitude_deg": 126.98, "timezone": "Asia/Seoul",
                      "pv_yield_kwh_per_kwp_year": 1250.0, "ev_sessions_per_day": 60.0, "swaps_per_day": 0.0},
            "Jeju": {"country": "KR", "latitude_deg": 33.50, "longitude_deg": 126.53, "timezone": "Asia/Seoul",
                     "pv_yield_kwh_per_kwp_year": 1290.0, "ev_sessions_per_day": 40.0, "swaps_per_day": 0.0},
        },
        "country_site": {"CN": "Shanghai", "NL": "Rotterdam", "KR": "Seoul"},
        "country_tariff_set": {"CN": "tou_tariffs_cn", "NL": "tou_tariffs_nl", "KR": "tou_tariffs_kr"},
    },
    extensible=frozenset({"sites", "country_site", "country_tariff_set"}),
)
