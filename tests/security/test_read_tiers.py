"""Every GET route of the OpenAPI (the AAS API's with the passport's own ids), every web page and every
export format, read by each kind of caller:
no answer carries a field of a tier the caller does not hold.

A passport and its model carry *canaries* — values found nowhere else — in the fields of each tier
(legitimate interest: state of health, usage, commissioning date, spare parts, dismantling, safety; the
authority tier: test reports; the operator tier: the owner). Each caller reads everything it can; a
canary of a tier it does not hold in any answer (body or headers) is a leak. Positive controls: the
callers holding a tier do see its canaries on the passport itself, so a server that shows nothing fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from batteryloop.access import Caller, battery_tiers
from batteryloop.participants import Role
from batteryloop.passport.tiers import Tier
from batteryloop.sim import pilot

OWNER = "BPNL0000000OWNC1"
CANARIES: dict[Tier, tuple[str, ...]] = {
    Tier.LEGITIMATE_INTEREST: ("73.4567", "4321.987", "2024-02-29", "CANARY-SPARE-7731", "CANARY-DISMANTLE-5519",
                               "CANARY-SAFETY-2207"),
    Tier.AUTHORITY: ("CANARY-TESTREPORT-8842",),
    Tier.OPERATOR: (OWNER,),
}
READERS = [None, pilot.RECYCLER_EU, pilot.NOTIFIED_BODY, pilot.AUTHORITY, pilot.CELL_KR, pilot.AUTOMAKER, "admin"]
FORMATS = ["batteryloop", "catenax", "idta-samm", "aas-json", "aasx", "catenax-serial-part", "catenax-bom-as-built",
           "catenax-tbc", "catenax-pcf", "batterypass"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from fastapi.testclient import TestClient

    from batteryloop.server import create_app
    from batteryloop.store.db import Store
    from tests.conftest import make_services, seed_pilot

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('tiers')}/t.db")
    store.upgrade()
    svc = make_services(store)
    data = seed_pilot(svc)
    em = data["callers"][pilot.AUTOMAKER]
    model = next(m for m in pilot.battery_models() if m["model_id"] == "EM-NMC811-82")
    model = {**model, "model_id": "EM-CANARY-1",
             "spare_parts": [{**model["spare_parts"][0], "part_number": "CANARY-SPARE-7731"}],
             "dismantling_information": {**model["dismantling_information"], "steps": ["CANARY-DISMANTLE-5519"]},
             "safety_measures": ["CANARY-SAFETY-2207"],
             "test_reports": [{**model["test_reports"][0], "title": "CANARY-TESTREPORT-8842"}]}
    svc.passports.create_model(model, em)
    pid = svc.passports.create_passport({
        "model_id": "EM-CANARY-1", "serial_number": "CANARY-1", "economic_operator_id": pilot.AUTOMAKER,
        "owner_id": OWNER, "manufacture_date": "2023-06-01", "manufacture_country": "DE", "manufacture_site": "Zwickau",
        "mass_kg": 480.0, "putting_into_service_date": "2024-02-29",
        "state_of_health": {"soh_capacity_pct": 73.4567}, "usage": {"full_equivalent_cycles": 4321.987}}, em)["passport_id"]
    svc.passports.update_passport(pid, {"usage": {"full_equivalent_cycles": 4321.987, "deep_discharge_events": 3}}, em)
    tokens = dict(data["tokens"])
    callers = dict(data["callers"])
    with TestClient(create_app(services=svc)) as c:
        yield {"client": c, "pid": pid, "tokens": tokens, "callers": callers, "svc": svc}
    store.dispose()


def _headers(w: dict[str, Any], who: str | None) -> dict[str, str]:
    if who is None:
        return {}
    return {"Authorization": f"Bearer {'admin-secret-token' if who == 'admin' else w['tokens'][who]}"}


def _held(w: dict[str, Any], who: str | None) -> frozenset[Tier]:
    c = Caller(is_admin=True) if who == "admin" else (w["callers"][who] if who else Caller())
    return battery_tiers(c, economic_operator_id=pilot.AUTOMAKER, owner_id=OWNER)


def _forbidden(held: frozenset[Tier]) -> list[str]:
    return [x for tier, xs in CANARIES.items() if tier not in held for x in xs]


def _leaks(text: str, held: frozenset[Tier]) -> list[str]:
    return [x for x in _forbidden(held) if x in text]


def _b64(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _get_urls(w: dict[str, Any]) -> list[str]:
    """Every GET path of the OpenAPI with its parameters filled for the canary passport, plus the web pages."""
    spec = w["client"].get("/openapi.json").json()
    pid = w["pid"]
    fill = {"passport_id": pid, "pack_id": pid, "model_id": "EM-CANARY-1", "version": "2", "participant_id": pilot.RECYCLER_EU,
            "event_id": f"{pid}-none", "subject": pid, "lot_id": pid}
    query = {"/api/v1/passports/{passport_id}/diff": "?from=1&to=2", "/api/v1/circular/compliance":
             "?model=EM-CANARY-1&year=2025", "/api/v1/trace/recall": f"?key={pid}",
             "/api/v1/passports": "?model_id=EM-CANARY-1", "/api/v1/trace/verify": f"?subject={pid}",
             "/api/v1/trace/recycled-content": f"?pack_id={pid}", "/api/v1/audit": f"?passport_id={pid}"}
    # the AAS API (/aas): the canary passport's shell, its product condition (legitimate interest), an element
    fill.update({"aasIdentifier": _b64(f"urn:batteryloop:{pid}:aas"), "idShortPath": "StateOfHealth",
                 "submodelIdentifier": _b64(f"urn:batteryloop:{pid}:submodel:product_condition")})
    urls = []
    for path, ops in spec["paths"].items():
        if "get" not in ops:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: fill.get(m.group(1), "x"), path)
        urls.append(url + query.get(path, ""))
    from batteryloop.formats.idta import PARTS

    for part in PARTS:  # every submodel of the canary passport, whole and value-only
        sm = _b64(f"urn:batteryloop:{pid}:submodel:{part}")
        urls += [f"/aas/submodels/{sm}", f"/aas/submodels/{sm}/$value"]
    urls += [f"/aas/serialization?aasIds={_b64(f'urn:batteryloop:{pid}:aas')}", "/aas/submodels?limit=500"]
    urls += [f"/p/{pid}", f"/p/{pid}?view_as=public", "/", "/trace", f"/trace/{pid}", "/circular", "/circular/routes",
             "/hubs", "/pilot", f"/api/v1/passports/{pid}/export?format=batteryloop&tiers=public"]
    return urls


@pytest.mark.parametrize("who", READERS)
def test_no_get_route_shows_a_tier_the_reader_does_not_hold(world: dict[str, Any], who: str | None) -> None:
    c, held = world["client"], _held(world, who)
    checked = 0
    for url in _get_urls(world):
        r = c.get(url, headers=_headers(world, who))
        assert r.status_code < 500, (url, r.status_code, r.text[:300])
        blob = r.text + " ".join(f"{k}: {v}" for k, v in r.headers.items())
        assert not _leaks(blob, held), (who, url, _leaks(blob, held))
        checked += 1
    assert checked > 40  # the walk reached the whole API, not a handful of routes
    # positive control: on the passport itself, the reader sees the canaries of every tier it holds
    view = c.get(f"/api/v1/passports/{world['pid']}", headers=_headers(world, who)).text
    model = c.get("/api/v1/models/EM-CANARY-1", headers=_headers(world, who)).text
    for tier, xs in CANARIES.items():
        if tier in held:
            assert all(x in view + model for x in xs), (who, tier)
    # and through the AAS API, the legitimate-interest canaries where the reader holds that tier
    shell = _b64(f"urn:batteryloop:{world['pid']}:aas")
    aas = c.get(f"/aas/serialization?aasIds={shell}", headers=_headers(world, who)).text
    shown = [x for x in CANARIES[Tier.LEGITIMATE_INTEREST] if x in aas]
    assert bool(shown) == (Tier.LEGITIMATE_INTEREST in held), (who, shown)


@pytest.mark.parametrize("who", READERS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_no_export_format_shows_a_tier_the_reader_does_not_hold(world: dict[str, Any], who: str | None,
                                                                fmt: str) -> None:
    import io
    import zipfile

    r = world["client"].get(f"/api/v1/passports/{world['pid']}/export", params={"format": fmt},
                            headers=_headers(world, who))
    assert r.status_code in (200, 422), (fmt, who, r.status_code, r.text[:300])
    blob = r.text if fmt != "aasx" or r.status_code != 200 else ""
    if fmt == "aasx" and r.status_code == 200:
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            blob = " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    blob += " ".join(f"{k}: {v}" for k, v in r.headers.items())
    assert not _leaks(blob, _held(world, who)), (fmt, who, _leaks(blob, _held(world, who)))


def test_the_canaries_are_where_the_tiers_say(world: dict[str, Any]) -> None:
    """The fixture itself: every canary is in the stored passport or model, so the walk above can see leaks."""
    svc = world["svc"]
    rec = svc.passports.get_record(world["pid"])
    stored = str(rec.data) + str(svc.passports.model_data("EM-CANARY-1"))
    assert all(x in stored for xs in CANARIES.values() for x in xs)
    assert Role.RECYCLER in world["callers"][pilot.RECYCLER_EU].roles
