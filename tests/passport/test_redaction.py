"""No field above the caller's tiers appears in the API response, the passport page or an export.

Property-based: hypothesis generates passports (from the pilot generator, with random optional data
and unique marker strings in the restricted fields) and callers of every kind and relation.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batteryloop.passport.redact import BATTERY_TIERS, MODEL_TIERS
from batteryloop.passport.tiers import Tier, parse_tiers
from batteryloop.sim import pilot

# Annex XIII, independent of the tiers declared in the code: what each audience must never see.
NEVER_PUBLIC_BATTERY = {"status", "state_of_health", "usage", "owner_id", "putting_into_service_date"}
NEVER_PUBLIC_MODEL = {"detailed_composition", "spare_parts", "dismantling_information", "safety_measures",
                      "test_reports"}

_serial = itertools.count()

CALLERS = {
    "anonymous": (None, {Tier.PUBLIC}),
    "recycler": (pilot.RECYCLER_EU, {Tier.PUBLIC, Tier.LEGITIMATE_INTEREST}),
    "second_life": (pilot.SECOND_LIFE, {Tier.PUBLIC, Tier.LEGITIMATE_INTEREST}),
    "repairer": (pilot.REPAIRER, {Tier.PUBLIC, Tier.LEGITIMATE_INTEREST}),
    "owner": (pilot.BAAS, None),  # legitimate interest only where it owns the battery
    "authority": (pilot.AUTHORITY, {Tier.PUBLIC, Tier.LEGITIMATE_INTEREST, Tier.AUTHORITY}),
    "notified_body": (pilot.NOTIFIED_BODY, {Tier.PUBLIC, Tier.AUTHORITY}),
    "other_manufacturer": (pilot.CELL_KR, {Tier.PUBLIC}),
    "operator": (pilot.AUTOMAKER, set(Tier)),
}

marker = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=12, max_size=12).map(lambda s: "MK" + s)


@st.composite
def passports(draw: Any) -> dict[str, Any]:
    base = next(pilot.generate_batteries(1, seed=draw(st.integers(0, 10_000))))
    base["serial_number"] = f"HYP-{next(_serial):07d}"
    owned = draw(st.booleans())
    if owned:
        base["owner_id"] = pilot.BAAS
    else:
        base.pop("owner_id", None)
    if draw(st.booleans()):
        base["usage"]["negative_events"] = [{"occurred_at": "2025-01-01T00:00:00Z", "kind": "accident",
                                             "description": draw(marker)}]
    if draw(st.booleans()):
        base.pop("usage")
    if draw(st.booleans()):
        base.pop("state_of_health")
    return base


def _keys_allowed(tier_map: dict[str, Tier], tiers: set[Tier]) -> set[str]:
    return {k for k, t in tier_map.items() if t in tiers}


def _expected_tiers(name: str, owned: bool) -> set[Tier]:
    pid, tiers = CALLERS[name]
    if tiers is None:
        return {Tier.PUBLIC, Tier.LEGITIMATE_INTEREST} if owned else {Tier.PUBLIC}
    return tiers


def _check_view(view: dict[str, Any], tiers: set[Tier]) -> None:
    assert set(view["access_tiers"]) == {t.value for t in tiers}
    assert set(view["battery"]) <= _keys_allowed(BATTERY_TIERS, tiers)
    assert set(view["model"]) <= _keys_allowed(MODEL_TIERS, tiers)
    if Tier.LEGITIMATE_INTEREST not in tiers:
        assert not NEVER_PUBLIC_BATTERY & set(view["battery"])
        assert not {"detailed_composition", "spare_parts", "dismantling_information", "safety_measures"} & set(view["model"])
    if Tier.AUTHORITY not in tiers:
        assert "test_reports" not in view["model"]
    if Tier.OPERATOR not in tiers:
        assert "owner_id" not in view["battery"]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from fastapi.testclient import TestClient

    from batteryloop.server import create_app
    from batteryloop.store.db import Store
    from tests.conftest import make_services, seed_pilot

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('redact')}/r.db")
    store.upgrade()
    svc = make_services(store)
    data = seed_pilot(svc)
    # restricted model fields carry marker text, so that a leak shows in any rendering
    svc.passports.update_model("EM-NMC811-82", {
        "safety_measures": ["MKSAFETYONLYLI"],
        "test_reports": [{"title": "MKTESTREPORTAUTHORITY", "standard": "UN 38.3"}],
        "spare_parts": [{"part_number": "MKSPAREPARTLI", "name": "module"}],
    }, data["callers"][pilot.AUTOMAKER])
    with TestClient(create_app(services=svc)) as c:
        c.tokens = data["tokens"]
        c.svc = svc
        c.operator = data["callers"][pilot.AUTOMAKER]
        yield c


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rec=passports(), who=st.sampled_from(sorted(CALLERS)))
def test_no_field_above_tier_in_api_page_or_export(api: Any, rec: dict[str, Any], who: str) -> None:
    rec["model_id"] = "EM-NMC811-82"
    created = api.svc.passports.create_passport(rec, api.operator)
    pid = created["passport_id"]
    owned = "owner_id" in rec
    tiers = _expected_tiers(who, owned)
    participant, _ = CALLERS[who]
    headers = {"Authorization": f"Bearer {api.tokens[participant]}"} if participant else {}

    # API
    r = api.get(f"/api/v1/passports/{pid}", headers=headers)
    assert r.status_code == 200
    _check_view(r.json(), tiers)

    # export (what the caller holds, the default)
    r = api.get(f"/api/v1/passports/{pid}/export", headers=headers)
    assert r.status_code == 200
    _check_view(r.json(), tiers)
    # asking for more than one holds is refused
    if Tier.OPERATOR not in tiers:
        r = api.get(f"/api/v1/passports/{pid}/export", params={"tiers": "operator"}, headers=headers)
        assert r.status_code == (401 if participant is None else 403)

    # the version history views too
    r = api.get(f"/api/v1/passports/{pid}/versions/1", headers=headers)
    assert set(r.json()["battery"]) <= _keys_allowed(BATTERY_TIERS, tiers)

    # the web page (signed in by cookie)
    cookies = {"batteryloop_token": api.tokens[participant]} if participant else {}
    api.cookies.clear()
    for k, v in cookies.items():
        api.cookies.set(k, v)
    html = api.get(f"/p/{pid}").text
    api.cookies.clear()
    texts = {
        Tier.LEGITIMATE_INTEREST: ["MKSAFETYONLYLI", "MKSPAREPARTLI", "State of health", "Full equivalent cycles"],
        Tier.AUTHORITY: ["MKTESTREPORTAUTHORITY"],
        Tier.OPERATOR: ["Owner ID"],
    }
    for tier, needles in texts.items():
        for needle in needles:
            if tier in tiers:
                if needle.startswith("MK") or (needle != "Owner ID" and "state_of_health" in rec) or (needle == "Owner ID" and owned):
                    if needle == "Full equivalent cycles" and "usage" not in rec:
                        continue
                    assert needle in html, f"{who} should see {needle}"
            else:
                assert needle not in html, f"{who} must not see {needle} ({tier})"
    for ev in rec.get("usage", {}).get("negative_events", []):
        assert (ev["description"] in html) == (Tier.LEGITIMATE_INTEREST in tiers)


def test_cli_export_cuts_to_tiers(api: Any) -> None:
    rec = next(pilot.generate_batteries(1, seed=7))
    rec["owner_id"] = pilot.BAAS
    pid = api.svc.passports.create_passport(rec, api.operator)["passport_id"]
    for spec in ("public", "public,legitimate_interest", "authority", "all"):
        tiers = set(parse_tiers(spec))
        view = api.svc.passports.export(pid, frozenset(tiers))
        _check_view(view, tiers)
        text = orjson.dumps(view).decode()
        assert ("owner_id" in text) == (Tier.OPERATOR in tiers)


def test_every_field_declares_a_tier() -> None:
    from batteryloop.passport.model import BatteryData, BatteryModelData

    assert set(BATTERY_TIERS) == set(BatteryData.model_fields)
    assert set(MODEL_TIERS) == set(BatteryModelData.model_fields)
    assert NEVER_PUBLIC_MODEL <= set(MODEL_TIERS)
    assert all(MODEL_TIERS[f] is not Tier.PUBLIC for f in NEVER_PUBLIC_MODEL)
    assert all(BATTERY_TIERS[f] is not Tier.PUBLIC for f in NEVER_PUBLIC_BATTERY)
