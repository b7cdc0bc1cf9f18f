"""Shared data for the interop tests: the pilot's battery models and generated pack passports, and the JDK and
Maven the Java peers (the Dataspace TCK, Eclipse EDC) need."""

from __future__ import annotations

import os

import pytest

from batteryloop.exchange import edc

from batteryloop.passport.model import BatteryData, BatteryModelData
from batteryloop.sim.pilot import battery_models, generate_batteries


def passport(raw: dict) -> BatteryData:
    return BatteryData.model_validate({**raw, "passport_id": f"BL.{raw['economic_operator_id']}.{raw['serial_number']}"})


@pytest.fixture(scope="session")
def models() -> dict[str, BatteryModelData]:
    return {m["model_id"]: BatteryModelData.model_validate(m) for m in battery_models()}


@pytest.fixture(scope="session")
def batteries() -> list[BatteryData]:
    return [passport(raw) for raw in generate_batteries(9, seed=7)]


@pytest.fixture(autouse=True)
def _own_bpnl_alias_table(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """Each test starts with an empty BPNL alias table of its own (never the developer's ./var)."""
    monkeypatch.setenv("BATTERYLOOP_BPNL_ALIASES", str(tmp_path / "bpnl_aliases.json"))


def java_and_maven(what: str) -> tuple[str, str]:
    """``java`` and ``mvn``, or skip the test naming ``what`` needs them — fail instead where CI requires them
    (``BATTERYLOOP_REQUIRE_JAVA=1``)."""
    java, mvn = edc.tools()
    if not (java and mvn):
        why = f"{what} needs a JDK (java) and Maven (mvn): `make test` installs them (scripts/system-deps.sh)"
        if os.environ.get("BATTERYLOOP_REQUIRE_JAVA") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return java, mvn
