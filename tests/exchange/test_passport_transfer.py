"""Passports through a DSP contract are cut by the same access decision as the API (access.battery_tiers)."""

from __future__ import annotations

from typing import Any

import pytest

from batteryloop.access import Caller
from batteryloop.services import build_services
from batteryloop.config import Settings
from batteryloop.exchange.config import DatasetConfig
from batteryloop.participants import Role
from batteryloop.sim import pilot

from .conftest import AUTOMAKER_BPN, usage_policy


@pytest.fixture(scope="module")
def passport_ds(space: dict[str, Any]) -> dict[str, Any]:
    a = space["automaker"]
    svc = build_services(Settings(database_url=a.store.url, public_base_url=a.base_url, issuing_agency_code="BL",
                                  admin_token="x"), a.store, migrate=False)
    from tests.conftest import seed_pilot

    seed_pilot(svc)
    caller = Caller(AUTOMAKER_BPN, frozenset({Role.MANUFACTURER}))
    rec = svc.passports.create_passport(next(pilot.generate_batteries(1, seed=7)), caller)
    pid = rec["passport_id"]
    a.passports = svc.passports
    for ds in (DatasetConfig(id=f"urn:bl:passport:{pid}", kind="passport", passport_id=pid,
                             usage_policy=usage_policy()),
               DatasetConfig(id=f"urn:bl:passport-public:{pid}", kind="passport", passport_id=pid,
                             max_tiers=["public"], usage_policy=usage_policy()),
               DatasetConfig(id=f"urn:bl:passport-cx:{pid}", kind="passport", passport_id=pid, format="catenax",
                             usage_policy=usage_policy())):
        a.datasets[ds.id] = ds
    return {"pid": pid, "svc": svc}


def test_dismantler_gets_legitimate_interest_tier(space: dict[str, Any], passport_ds: dict[str, Any]) -> None:
    pid = passport_ds["pid"]
    _, _, data = space["recycler"].fetch(space["automaker"].dsp_url, f"urn:bl:passport:{pid}")
    expected = passport_ds["svc"].passports.export(pid, frozenset({"public", "legitimate_interest"}))  # type: ignore[arg-type]
    assert data["access_tiers"] == ["public", "legitimate_interest"]
    assert data["battery"] == expected["battery"]


def test_member_without_role_gets_public_tier(space: dict[str, Any], passport_ds: dict[str, Any]) -> None:
    pid = passport_ds["pid"]
    _, _, data = space["auditor"].fetch(space["automaker"].dsp_url, f"urn:bl:passport:{pid}")
    assert data["access_tiers"] == ["public"]
    assert "state_of_health" not in data["battery"] and "usage" not in data["battery"]


def test_dataset_caps_tiers(space: dict[str, Any], passport_ds: dict[str, Any]) -> None:
    pid = passport_ds["pid"]
    _, _, data = space["recycler"].fetch(space["automaker"].dsp_url, f"urn:bl:passport-public:{pid}")
    assert data["access_tiers"] == ["public"]


def test_catenax_payload(space: dict[str, Any], passport_ds: dict[str, Any]) -> None:
    pid = passport_ds["pid"]
    _, _, data = space["recycler"].fetch(space["automaker"].dsp_url, f"urn:bl:passport-cx:{pid}")
    assert "identification" in data and "metadata" in data


def test_a_transfer_is_an_audited_read(space: dict[str, Any], passport_ds: dict[str, Any]) -> None:
    """A passport pulled over DSP goes through the one export flow (passport/exporting.py), so the
    provider's audit log names the consumer, the tiers it got and the channel, as an API read would."""
    from .conftest import RECYCLER_BPN

    pid, svc = passport_ds["pid"], passport_ds["svc"]
    space["recycler"].fetch(space["automaker"].dsp_url, f"urn:bl:passport:{pid}")
    entries = svc.audit.query(Caller(AUTOMAKER_BPN, frozenset({Role.MANUFACTURER})), passport_id=pid)
    dsp = [e for e in entries if e["channel"] == "dsp" and e["actor"] == RECYCLER_BPN]
    assert dsp and dsp[0]["tiers"] == "legitimate_interest" and dsp[0]["action"] == "export"
