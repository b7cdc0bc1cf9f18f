"""The Annex XIII values issue 16 added to the passport: typed and validated (a wrong value is refused naming the
field and the rule), each with its access tier (public, legitimate interest), cut by the one redaction every read
path uses, and shown on the passport page in a section of its tier."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from batteryloop.passport.model import BatteryData, BatteryModelData
from batteryloop.passport.redact import BATTERY_TIERS, MODEL_TIERS, redact_battery, redact_model
from batteryloop.passport.tiers import PUBLIC_ONLY, Tier
from batteryloop.sim.pilot import battery_models, generate_batteries

NEW_MODEL = {"original_power_capability_at_soc": Tier.PUBLIC, "power_energy_ratio_per_h": Tier.PUBLIC,
             "cycle_life_test_url": Tier.PUBLIC, "label_symbols": Tier.PUBLIC, "waste_prevention_url": Tier.PUBLIC,
             "separate_collection_url": Tier.PUBLIC, "collection_information_url": Tier.PUBLIC,
             "expected_lifetime_years": Tier.LEGITIMATE_INTEREST,
             "initial_self_discharge_pct_per_month": Tier.LEGITIMATE_INTEREST,
             "safety_instructions_url": Tier.LEGITIMATE_INTEREST}
NEW_BATTERY = {"economic_operator_name": Tier.PUBLIC, "economic_operator_address": Tier.PUBLIC,
               "manufacture_postal_code": Tier.PUBLIC}


def _model(**changes):  # type: ignore[no-untyped-def]
    raw = copy.deepcopy(battery_models()[0])
    raw.update(changes)
    return raw


def test_the_tiers_are_annex_xiii_s() -> None:
    assert {f: MODEL_TIERS[f] for f in NEW_MODEL} == NEW_MODEL
    assert {f: BATTERY_TIERS[f] for f in NEW_BATTERY} == NEW_BATTERY
    m = battery_models()[0]
    public = redact_model(m, PUBLIC_ONLY)
    assert "expected_lifetime_years" not in public and "safety_instructions_url" not in public
    assert public["original_power_capability_at_soc"] == m["original_power_capability_at_soc"]
    li = redact_model(m, frozenset({Tier.PUBLIC, Tier.LEGITIMATE_INTEREST}))
    assert li["expected_lifetime_years"] == 12 and li["initial_self_discharge_pct_per_month"] == 1.0
    b = next(generate_batteries(1, seed=3))
    pub_b = redact_battery(b, PUBLIC_ONLY)
    assert pub_b["manufacture_postal_code"] == b["manufacture_postal_code"] and "usage" not in pub_b


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"original_power_capability_at_soc": [{"state_of_charge_pct": 80, "power_w": 1e5},
                                           {"state_of_charge_pct": 80, "power_w": 9e4}]}, "", "given twice"),
    ({"original_power_capability_at_soc": [{"state_of_charge_pct": 120, "power_w": 1e5}]}, "state_of_charge_pct", ""),
    ({"expected_lifetime_years": 0}, "expected_lifetime_years", ""),
    ({"initial_self_discharge_pct_per_month": 101}, "initial_self_discharge_pct_per_month", ""),
    ({"cycle_life_test_url": "ftp://x/y"}, "cycle_life_test_url", ""),
    ({"label_symbols": [{"label": "not a label", "subject": "ce_marking", "symbol_url": "https://x.example/ce.svg"}]},
     "", "none of the labels"),
    ({"label_symbols": [{"label": "CE", "subject": "logo", "symbol_url": "https://x.example/ce.svg"}]}, "subject", ""),
    ({"recycled_content": {"cobalt_pct": 8.0, "cobalt_pre_consumer_pct": 6.0, "cobalt_post_consumer_pct": 1.0}},
     "", "must add up"),
    ({"recycled_content": {"cobalt_pct": 8.0, "cobalt_pre_consumer_pct": 6.0}}, "", "together"),
])
def test_a_wrong_value_is_refused_by_name(changes, field, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        BatteryModelData.model_validate(_model(**changes))
    text = str(exc.value)
    assert field in text and words in text


def test_battery_fields_are_checked() -> None:
    raw = next(generate_batteries(1, seed=3))
    with pytest.raises(ValidationError, match="charging_h"):
        BatteryData.model_validate({**raw, "usage": {**raw["usage"], "time_above_extreme_temperature_charging_h":
                                                     raw["usage"]["time_above_extreme_temperature_h"] + 1}})
    with pytest.raises(ValidationError, match="manufacture_postal_code"):
        BatteryData.model_validate({**raw, "manufacture_postal_code": "<script>"})
    with pytest.raises(ValidationError, match="given twice"):
        soh = raw["state_of_health"]
        BatteryData.model_validate({**raw, "state_of_health": {**soh, "remaining_power_capability_at_soc": [
            {"state_of_charge_pct": 20, "power_w": 1.0}, {"state_of_charge_pct": 20, "power_w": 2.0}]}})


def test_the_passport_page_shows_each_new_field_in_a_section_of_its_tier() -> None:
    from batteryloop.web.pages import BATTERY_SECTIONS, MODEL_SECTIONS

    for sections, tiers, new in ((MODEL_SECTIONS, MODEL_TIERS, NEW_MODEL), (BATTERY_SECTIONS, BATTERY_TIERS, NEW_BATTERY)):
        where = {f: title for title, fields in sections for f in fields}
        for f, tier in new.items():
            assert f in where, f
            assert ("(legitimate interest)" in where[f]) == (tier is Tier.LEGITIMATE_INTEREST), (f, where[f])
