"""BPNL aliases: a pack whose cell maker is known by a Korean business registration number (no BPNL)
exports its Catena-X single_level_bom_as_built once the node's alias table gives that maker a BPNL;
without one, the error names the participant and how to add its alias."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from batteryloop import formats
from batteryloop.cli.formats import app as formats_cli
from batteryloop.errors import InvalidData
from batteryloop.formats import catenax_parts as cp
from batteryloop.formats.bpnl import BpnlAliases, default_path, node_aliases
from batteryloop.sim import pilot
from tests.formats.test_catenax_parts import _ledger_children, assert_valid

KR = pilot.CELL_KR  # 211-86-00017, Hanbit Energy
KR_BPNL = "BPNL00000003KR9Z"


@pytest.fixture()
def children(tmp_path):  # type: ignore[no-untyped-def]
    kids, _ = _ledger_children(tmp_path)
    assert [c["producer"] for c in kids] == [KR]  # the pack's module comes from the Korean cell maker
    return kids


def test_without_alias_the_error_names_the_participant_and_the_fix(models, batteries, children) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0]
    with pytest.raises(InvalidData) as exc:
        formats.export_passport("catenax-bom-as-built", models[b.model_id], b, as_built=children)
    (err,) = exc.value.errors
    assert (err["field"], err["rule"], err["value"], err["participant"]) == ("as_built[0].producer", "catenax:bpnl",
                                                                           KR, KR)
    msg = err["message"]
    assert f"participant {KR} (a Korean business registration number) has no BPNL alias" in msg
    assert f"batteryloop formats bpnl-alias {KR} BPNL" in msg and str(default_path()) in msg
    assert f"--bpnl {KR}=BPNL" in msg


def test_node_alias_table_names_the_korean_maker_by_its_bpnl(models, batteries, children, fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0]
    m = models[b.model_id]
    formats.set_bpnl_alias("2118600017", KR_BPNL)  # the number without dashes: stored in canonical form
    assert formats.bpnl_aliases().items() == [(KR, KR_BPNL)]
    assert json.loads(default_path().read_text()) == {"aliases": {KR: KR_BPNL}}
    res = formats.export_passport("catenax-bom-as-built", m, b, as_built=children)
    assert_valid(fixtures_dir, "catenax-bom-as-built", res.payload)  # the official schema, draft-04
    (child,) = res.payload["childItems"]
    assert child["businessPartner"] == KR_BPNL and child["catenaXId"] == cp.lot_uuid("m1")
    note = next(u for u in res.report.unmapped if u["path"] == "as_built[0].producer")
    assert note["value"] == KR and KR_BPNL in note["reason"]
    # a BPNL participant passes through untouched and needs no alias
    own = [{**children[0], "producer": pilot.AUTOMAKER}]
    res = formats.export_passport("catenax-bom-as-built", m, b, as_built=own)
    assert res.payload["childItems"][0]["businessPartner"] == pilot.AUTOMAKER
    assert not any(u["path"] == "as_built[0].producer" for u in res.report.unmapped)


def test_one_export_can_add_or_override_an_alias(models, batteries, children, fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0]
    m = models[b.model_id]
    formats.set_bpnl_alias(KR, KR_BPNL)
    res = formats.export_passport("catenax-bom-as-built", m, b, as_built=children, bpnl_map={KR: "BPNL0000000KRC11"})
    assert_valid(fixtures_dir, "catenax-bom-as-built", res.payload)
    assert res.payload["childItems"][0]["businessPartner"] == "BPNL0000000KRC11"
    assert node_aliases().get(KR) == KR_BPNL  # the node's table is not changed by one export
    with pytest.raises(InvalidData) as exc:
        formats.export_passport("catenax-bom-as-built", m, b, as_built=children, bpnl_map={KR: "BPNL-oops"})
    assert exc.value.errors[0]["rule"] == "catenax:bpnl" and exc.value.errors[0]["value"] == "BPNL-oops"


def test_composition_fallback_uses_the_manufacturer_alias(models, batteries, fixtures_dir) -> None:  # type: ignore[no-untyped-def]
    b = batteries[0]
    m = models[b.model_id]
    comp = m.detailed_composition.model_copy(update={"cathode": [s.model_copy(update={"mass_kg": 61.5})
                                                                  for s in m.detailed_composition.cathode]})
    kr_model = m.model_copy(update={"manufacturer_id": KR, "detailed_composition": comp})
    with pytest.raises(InvalidData) as exc:
        formats.export_passport("catenax-bom-as-built", kr_model, b)
    assert exc.value.errors[0]["field"] == "model.manufacturer_id" and KR in exc.value.errors[0]["message"]
    res = formats.export_passport("catenax-bom-as-built", kr_model, b, aliases=BpnlAliases({KR: KR_BPNL}))
    assert_valid(fixtures_dir, "catenax-bom-as-built", res.payload)
    assert {c["businessPartner"] for c in res.payload["childItems"]} == {KR_BPNL}


def test_the_table_refuses_what_would_make_a_wrong_bom(tmp_path) -> None:  # type: ignore[no-untyped-def]
    t = BpnlAliases()
    for pid, bpnl, rule in ((KR, "BPNL123", "catenax:bpnl"), (KR, "bpnl00000003kr9z", "catenax:bpnl"),
                            ("211-86-00018", KR_BPNL, "participant_id"),  # wrong check digit
                            ("not-an-id", KR_BPNL, "participant_id"),
                            (pilot.AUTOMAKER, KR_BPNL, "bpnl_alias:native")):
        with pytest.raises(InvalidData) as exc:
            t.add(pid, bpnl)
        assert exc.value.errors[0]["rule"] == rule, (pid, bpnl)
    t.add(KR, KR_BPNL)
    t.add(KR, KR_BPNL)  # the same again is no change
    with pytest.raises(InvalidData) as exc:
        t.add(pilot.CELL_JP, KR_BPNL)  # one BPNL names one legal entity
    assert exc.value.errors[0]["rule"] == "unique" and KR in exc.value.errors[0]["message"]
    t.add(pilot.CELL_JP, "BPNL00000004JP1A")
    assert t.get(pilot.CELL_JP) == "BPNL00000004JP1A" and t.get("2118600017") == KR_BPNL and t.get(None) is None
    path = t.save(tmp_path / "a.json")
    assert BpnlAliases.load(path).items() == t.items()
    path.write_text('{"aliases": {"211-86-00017": "nope"}}', encoding="utf-16")  # read in any accepted encoding
    with pytest.raises(InvalidData) as exc:
        BpnlAliases.load(path)
    assert str(path) in str(exc.value) and exc.value.errors[0]["rule"] == "catenax:bpnl"
    path.write_text('["211-86-00017"]')
    with pytest.raises(InvalidData) as exc:
        BpnlAliases.load(path)
    assert exc.value.errors[0]["rule"] == "bpnl_aliases:format"


def test_node_table_is_reread_when_its_file_changes() -> None:
    assert len(node_aliases()) == 0 and not default_path().exists()
    BpnlAliases({KR: KR_BPNL}).save(default_path())
    assert node_aliases().get(KR) == KR_BPNL
    BpnlAliases({KR: "BPNL0000000KRC11"}).save(default_path())
    st = default_path().stat()
    os.utime(default_path(), ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert node_aliases().get(KR) == "BPNL0000000KRC11"


def test_cli_bpnl_alias_add_list_remove() -> None:
    r = CliRunner().invoke(formats_cli, ["bpnl-alias", "2118600017", KR_BPNL])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(formats_cli, ["bpnl-alias"])
    assert r.exit_code == 0 and f"{KR}\t{KR_BPNL}" in r.stdout
    r = CliRunner().invoke(formats_cli, ["bpnl-alias", KR, "BPNL-bad"])
    assert r.exit_code == 2 and "is not a BPNL" in r.output
    r = CliRunner().invoke(formats_cli, ["bpnl-alias", KR, "--remove"])
    assert r.exit_code == 0 and node_aliases().get(KR) is None
