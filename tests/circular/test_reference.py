"""Reference sets: citations, overrides (dict, TOML, YAML), strictness, and the record of values used."""

from __future__ import annotations

import pytest

from batteryloop.reference import ReferenceDataError, References, default_sets


def test_every_set_cites_a_source_and_date_and_module_docstring():
    import importlib

    for s in default_sets():
        assert s.citation.title and s.citation.publisher and s.citation.date
        mod = importlib.import_module(f"batteryloop.reference.{s.name}")
        assert mod.__doc__ and "Source" in mod.__doc__, s.name


def test_reference_tables_hold_the_published_numbers():
    refs = References.default()
    eu = refs.set("eu_2023_1542")
    assert eu.get("recycled_content_min_fraction", "2031-08-18", "Co") == 0.16
    assert eu.get("recycled_content_min_fraction", "2036-08-18", "Ni") == 0.15
    assert eu.get("material_recovery_min_fraction", "2031-12-31", "Li") == 0.80
    assert eu.get("recycling_efficiency_min_fraction", "lithium_based", "2030-12-31") == 0.70
    assert eu.get("carbon_footprint", "cycles_per_year", "N3") == 250
    ev = refs.set("everbatt_2023")
    assert ev.get("gate_fee_usd_per_kg", "LFP") == -2.0
    assert ev.get("process_inputs_per_kg_spent_battery", "hydro", "NaOH_kg") == 0.561
    assert refs.set("batpac_5").get("kg_per_kwh_cell", "NMC811", "Ni") == 0.616


def test_unverified_sets_are_flagged():
    refs = References.default()
    assert refs.set("grid_factors").citation.verified is False
    assert refs.set("lmfp_estimate").citation.verified is False
    assert refs.set("batteryloop_assumptions").citation.verified is False
    assert refs.set("everbatt_2023").citation.verified is True


def test_override_replaces_value_and_is_recorded():
    refs = References.default().override({"everbatt_2023": {"price_usd_per_kg": {"Li2CO3": 14.0}}})
    t = refs.tracker()
    assert t.get("everbatt_2023", "price_usd_per_kg", "Li2CO3") == 14.0
    (used,) = t.used()
    assert used.overridden and used.value == 14.0 and used.set == "everbatt_2023"
    # the default is untouched
    assert References.default().set("everbatt_2023").get("price_usd_per_kg", "Li2CO3") == 8.57


def test_override_unknown_key_names_it():
    with pytest.raises(ReferenceDataError, match="'Coo'"):
        References.default().override({"everbatt_2023": {"recovery_fraction": {"hydro": {"Coo": 0.9}}}})


def test_override_adds_key_only_in_extensible_tables():
    refs = References.default().override({"grid_factors": {"kgco2e_per_kwh": {"IS": 0.01}}})
    assert refs.set("grid_factors").get("kgco2e_per_kwh", "IS") == 0.01
    with pytest.raises(ReferenceDataError, match="only these tables accept new keys"):
        References.default().override({"eu_2023_1542": {"recycled_content_min_fraction": {"2040-01-01": {"Co": 0.3}}}})


def test_override_rejects_percent_for_fraction_and_text_for_number():
    with pytest.raises(ReferenceDataError, match=r"\[0, 1\]"):
        References.default().override({"everbatt_2023": {"recovery_fraction": {"hydro": {"Co": 98}}}})
    with pytest.raises(ReferenceDataError, match="finite number"):
        References.default().override({"everbatt_2023": {"price_usd_per_kg": {"Co": "cheap"}}})
    with pytest.raises(ReferenceDataError, match="unknown reference set"):
        References.default().override({"everbat": {}})


def test_override_from_toml_and_yaml(tmp_path):
    toml = tmp_path / "prices.toml"
    toml.write_text('[everbatt_2023.price_usd_per_kg]\nLi2CO3 = 71.0\n', encoding="utf-8")
    yml = tmp_path / "prices.yaml"
    yml.write_text("everbatt_2023:\n  price_usd_per_kg:\n    Co: 30.0\n", encoding="utf-8")
    refs = References.default().override_file(toml).override_file(yml)
    ev = refs.set("everbatt_2023")
    assert ev.get("price_usd_per_kg", "Li2CO3") == 71.0 and ev.get("price_usd_per_kg", "Co") == 30.0
    assert ev.overridden == {"price_usd_per_kg.Li2CO3", "price_usd_per_kg.Co"}
    bad = tmp_path / "prices.json"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="toml"):
        References.default().override_file(bad)


def test_missing_key_error_lists_known_keys():
    with pytest.raises(ReferenceDataError, match="known: .*NMC622"):
        References.default().set("batpac_5").get("kg_per_kwh_cell", "NMC999")


def test_an_override_of_a_moved_key_is_refused_naming_its_new_place(tmp_path):
    """Keys that moved between sets (mend12's second-life sources) are not merely "unknown": an override file still
    using one is refused with where the figure lives now, so a user's old file cannot silently stop working."""
    old = tmp_path / "old.toml"
    old.write_text("[batteryloop_assumptions.route]\nrepurpose_max_years = 8.0\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"route\.repurpose_max_years: this key has moved to "
                                                 r"nrel_2015_second_use\.second_use_years") as e:
        References.default().override_file(old)
    assert "unknown key" not in str(e.value)
    old.write_text("[second_life_literature]\nsecond_life_end_soh_fraction = 0.55\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"moved to batteryloop_assumptions\.second_life_end_soh_fraction"):
        References.default().override_file(old)
    # the new places take the same overrides
    new = References.default().override({"nrel_2015_second_use": {"second_use_years": 8.0},
                                         "batteryloop_assumptions": {"second_life_end_soh_fraction": 0.55}})
    assert new.set("nrel_2015_second_use").get("second_use_years") == 8.0
    assert new.set("batteryloop_assumptions").get("second_life_end_soh_fraction") == 0.55
    # a set overridden once keeps its table of moved keys
    with pytest.raises(ReferenceDataError, match="moved to"):
        new.override({"batteryloop_assumptions": {"route": {"repurpose_max_years": 8.0}}})


def test_every_moved_key_points_at_a_key_that_exists_and_is_gone_from_its_old_set():
    refs = References.default()
    moved = [(s.name, old, new) for s in default_sets() for old, new in s.moved.items()]
    assert moved
    for name, old, new in moved:
        assert not refs.set(name).has(*old.split(".")), f"{name}.{old} is still a key: it has not moved"
        target_set, _, target_key = new.split()[0].partition(".")
        assert refs.set(target_set).has(*target_key.split(".")), f"{name}.{old} moved to {new}, which does not exist"
