"""A hub takes its clock, tariff, currency, sun and demand from where it stands (issue 18: the Rotterdam
operator's hub was planned at 31.2° N, UTC+8, in yuan, with 120 swaps a day)."""

from __future__ import annotations

import numpy as np
import pytest

from batteryloop.hubs.errors import HubInputError
from batteryloop.hubs.hub import day_inputs, prepare_hub
from batteryloop.hubs.pv import clear_sky_yield_kwh_per_kwp, pv_day_kw, weather_factors
from batteryloop.hubs.sites import site_template

PACKS = {"packs": [{"pack_id": "p", "nominal_energy_kwh": 60, "soh_fraction": 0.8}]}


def test_rotterdam_is_dutch_in_every_respect() -> None:
    """Rotterdam (hub_sites): 51.92° N 4.48° E, Europe/Amsterdam (UTC+1 on 1 January), the Dutch two-rate
    tariff in euros (tou_tariffs_nl: 0.21 at night 23–07, 0.27 by day), a euro worth 1.0824 USD (ECB 2024),
    15 swaps a day at a NIO-type station paying 0.30 EUR/kWh."""
    tpl = site_template("Rotterdam")
    assert (tpl["site"], tpl["country"], tpl["latitude_deg"], tpl["longitude_deg"]) == ("Rotterdam", "NL", 51.92, 4.48)
    assert tpl["utc_offset_hours"] == 1.0
    assert tpl["grid"] == {"tariff_set": "tou_tariffs_nl", "currency": "EUR"}
    hub = prepare_hub({**tpl, **PACKS})
    assert hub.currency == "EUR" and hub.usd_per_currency == pytest.approx(1.0824)
    assert list(hub.tariff[[0, 6, 7, 12, 22, 23]]) == [0.21, 0.21, 0.27, 0.27, 0.27, 0.21]
    assert hub.export_price == 0.05 and hub.ev_service_fee == 0.30 and hub.swap_service_fee == 0.30
    assert hub.config.swap is not None and hub.config.swap.swaps_per_day == 15.0
    used = {v.set for v in hub.tracker.used()}
    assert {"tou_tariffs_nl", "ecb_fx"} <= used and "tou_tariffs_cn" not in used


def test_a_country_code_gives_its_default_site_and_korea_has_no_swap_station() -> None:
    """KR → Seoul; Jeju by name. KEPCO-shaped tariff in won (light 95 at 00–08 and 22–24, mid 150 at 08–11,
    maximum 210 at 11–12 and 13–18); 1 KRW = 1.0824 / 1475.40 = 0.00073363 USD (ECB 2024); no swapping."""
    assert site_template("KR")["site"] == "Seoul"
    tpl = site_template("Jeju")
    assert tpl["utc_offset_hours"] == 9.0 and tpl["swap"] is None
    hub = prepare_hub({**tpl, **PACKS})
    assert hub.currency == "KRW" and hub.usd_per_currency == pytest.approx(0.00073363, rel=1e-5)
    assert [hub.tariff[h] for h in (0, 7, 8, 10, 11, 12, 13, 17, 18, 21, 22)] == \
        [95.0, 95.0, 150.0, 150.0, 210.0, 150.0, 210.0, 210.0, 150.0, 150.0, 95.0]
    assert hub.swap_service_fee == 0.0


@pytest.mark.parametrize(("site", "yield_kwh"), [("Rotterdam", 950.0), ("Jeju", 1290.0), ("Lanzhou", 1450.0)])
def test_the_sun_of_the_site_gives_its_annual_yield(site: str, yield_kwh: float) -> None:
    """The clearness is yield / clear-sky yield; summing a year of days with weather drawn at that mean gives the
    site's yield back (the beta draws average out within a few per cent over 365 days)."""
    tpl = site_template(site)
    clear = clear_sky_yield_kwh_per_kwp(tpl["latitude_deg"])
    assert tpl["weather_mean_fraction"] == pytest.approx(yield_kwh / clear, abs=1e-4)
    w = weather_factors(365, seed=3, mean_fraction=tpl["weather_mean_fraction"])
    year = sum(pv_day_kw(1.0, tpl["latitude_deg"], d + 1, float(w[d])).sum() for d in range(365))
    assert year == pytest.approx(yield_kwh, rel=0.04)


def test_pv_follows_the_clock_of_the_site() -> None:
    """Rotterdam on 1 January: solar time − clock time = 4.48 / 15 − 1 = −0.70 h, so solar noon is at 12:42 on
    the clock: the 12:00–13:00 step (solar 11:18–12:18) is the brightest, 13:00–14:00 brighter than 11:00–12:00."""
    hub = prepare_hub({**site_template("Rotterdam"), **PACKS, "pv_kwp": 100})
    pv = day_inputs(hub, hub.initial_state(), 0).pv_kw
    assert int(np.argmax(pv)) == 12 and pv[13] > pv[11]
    # the same day without a longitude runs on solar time: symmetric around 12:00
    flat = pv_day_kw(100, 51.92, 1)
    assert flat[11] == pytest.approx(flat[12])


def test_unknown_places_are_named() -> None:
    with pytest.raises(HubInputError) as e:
        site_template("Atlantis")
    assert "Atlantis" in str(e.value) and "Rotterdam" in str(e.value) and "NL" in str(e.value)
    with pytest.raises(HubInputError) as e:
        prepare_hub({**PACKS, "grid": {"tariff_set": "tou_tariffs_zz"}})
    assert "tou_tariffs_zz" in str(e.value) and "tou_tariffs_nl" in str(e.value)
    with pytest.raises(HubInputError) as e:  # Korea has no swap fee: a swap station there needs one given
        prepare_hub({**PACKS, "grid": {"tariff_set": "tou_tariffs_kr"}, "swap": {"swaps_per_day": 10}})
    assert "swap.service_fee_per_kwh" in str(e.value)


def test_a_hub_without_a_site_is_still_the_shanghai_one() -> None:
    hub = prepare_hub(PACKS)
    assert hub.currency == "CNY" and hub.config.latitude_deg == 31.2 and hub.swap_service_fee == 0.8
