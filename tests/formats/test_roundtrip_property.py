"""Property-based round trips over generated passports (variants of the pilot's packs)."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batteryloop import formats
from batteryloop.formats import aas, catenax, idta
from batteryloop.formats.base import PassportParts
from batteryloop.passport.model import BatteryData, BatteryModelData
from batteryloop.passport.tiers import ALL_TIERS, Tier
from batteryloop.sim.pilot import battery_models, generate_batteries

MODELS = battery_models()


@st.composite
def passports(draw):
    raw_m = dict(MODELS[draw(st.integers(0, len(MODELS) - 1))])
    raw_m["rated_capacity_ah"] = draw(st.floats(1, 1000, allow_nan=False).map(lambda x: round(x, 3)))
    raw_m["internal_resistance_cell_mohm"] = draw(st.floats(0.01, 50).map(lambda x: round(x, 4)))
    raw_m["idle_temperature_lower_c"] = draw(st.floats(-60, 0).map(lambda x: round(x, 1)))
    raw_m["warranty_years"] = draw(st.sampled_from([1, 2, 5, 8, 10, 12.5]))
    for key in ("expected_lifetime_cycles", "carbon_footprint", "recycled_content", "due_diligence_report_url"):
        if draw(st.booleans()):
            raw_m.pop(key)
    m = BatteryModelData.model_validate(raw_m)
    raw_b = next(generate_batteries(1, seed=draw(st.integers(0, 10_000)), today=dt.date(2026, 6, 1)))
    raw_b["model_id"] = m.model_id
    raw_b["passport_id"] = f"BL.{raw_b['economic_operator_id']}.{raw_b['serial_number']}"
    raw_b["status"] = draw(st.sampled_from(["original", "repurposed", "reused", "remanufactured", "waste"]))
    if draw(st.booleans()):
        raw_b.pop("state_of_health")
    return m, BatteryData.model_validate(raw_b)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(passports())
def test_catenax_round_trip(p):
    m, b = p
    back = catenax.import_payload(catenax.export(PassportParts.from_data(m, b)).payload)
    assert back.model == m
    assert back.battery == b


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(passports())
def test_aas_round_trip_keeps_shared_fields(p):
    m, b = p
    back = aas.import_payload(aas.export_json(PassportParts.from_data(m, b)).payload)
    for f in catenax.MAPPED_MODEL - {"dismantling_information"}:
        assert getattr(back.model, f) == getattr(m, f), f
    for f in ("passport_id", "serial_number", "model_id", "economic_operator_id", "manufacture_date", "status",
              "putting_into_service_date", "manufacture_country"):
        assert getattr(back.battery, f) == getattr(b, f), f
    # the shell's own fields came from the IDTA submodels, not from the batteryloop extension (which would
    # carry a field the mapping lost and hide the loss from the comparisons above)
    own = {f"model.{f}" for f in catenax.MAPPED_MODEL} | {f"battery.{f}" for f in (
        "passport_id", "serial_number", "economic_operator_id", "manufacture_date", "status",
        "putting_into_service_date")}
    assert not (own - set(idta.NOT_CARRIED)) & set(back.report.not_carried), back.report.not_carried


# ------------------------------------------------------------------ every format, every tier set, every kind
TIER_SETS = [frozenset({Tier.PUBLIC}), frozenset({Tier.PUBLIC, Tier.LEGITIMATE_INTEREST}),
             frozenset({Tier.PUBLIC, Tier.AUTHORITY}), ALL_TIERS]


@st.composite
def kinds(draw):
    """A passport of any kind: any status (recycled ones archived), predecessor links (repurposed,
    remanufactured), with or without state of health and state of charge, with critical raw materials."""
    m, b = draw(passports())
    raw_b = b.model_dump(mode="json", exclude_none=True)
    raw_b["status"] = draw(st.sampled_from(["original", "reused", "repurposed", "remanufactured", "waste", "recycled"]))
    if raw_b["status"] in ("repurposed", "remanufactured"):
        raw_b["predecessor_ids"] = [f"BL.BPNL000000000EM1.PRE-{draw(st.integers(0, 999)):03d}"]
    if raw_b.get("usage") and draw(st.booleans()):
        raw_b["usage"].pop("state_of_charge_pct", None)
    raw_m = m.model_dump(mode="json", exclude_none=True)
    raw_m["critical_raw_materials"] = draw(st.lists(st.sampled_from(
        ["cobalt", "lithium", "natural graphite", "nickel", "phosphate rock", "manganese"]), min_size=1, unique=True))
    return (BatteryModelData.model_validate(raw_m), BatteryData.model_validate(raw_b),
            draw(st.sampled_from(TIER_SETS)))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds())
def test_every_format_gives_back_the_cut_it_exported(p):
    """export at a tier set → import → the same fields as the export's cut (nothing lost, nothing invented);
    the status survives; one the tiers withhold is refused by name unless given, never read as 'original';
    a placeholder (a missing SoC, a withheld SoH) never comes back as a value."""
    m, b, tiers = p
    archived = b.status.value == "recycled"
    parts = PassportParts.from_data(m, b, tiers, archived=archived)
    for fmt in ("catenax", "idta-samm", "aas-json"):
        exported = formats.get(fmt).export(PassportParts.from_data(m, b, tiers, archived=archived))
        payload = exported.payload
        defaults = None
        if "status" not in parts.battery and not archived:
            bare = formats.import_passport(payload, fmt, lenient=True)
            assert bare.battery is None and "battery.status" in bare.report.missing, fmt
            defaults = {"status": b.status.value}
        back = formats.import_passport(payload, fmt, defaults=defaults)
        assert back.battery.status == b.status, fmt
        got_b = back.battery.model_dump(mode="json", exclude_none=True)
        got_m = back.model.model_dump(mode="json", exclude_none=True)
        want_b = dict(parts.battery, status=b.status.value)
        assert {k: v for k, v in got_b.items() if v not in ([], {})} == {
            k: v for k, v in want_b.items() if v not in ([], {})}, fmt
        assert {k: v for k, v in got_m.items() if v not in ([], {})} == {
            k: v for k, v in parts.model.items() if v not in ([], {})}, fmt
