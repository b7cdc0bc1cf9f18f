"""The AAS API's pieces that are about AAS alone (formats/aas_api.py): ids, cursors, idShortPaths, forms."""

from __future__ import annotations

import pytest
from basyx.aas import model

from batteryloop.errors import NotFound
from batteryloop.formats import aas_api
from batteryloop.formats.aas_api import BadRequest, Level


@pytest.mark.parametrize("text", ["urn:batteryloop:BL.X-1:aas", "ä/€?#", "a"])
def test_base64url_round_trip_with_and_without_padding(text: str) -> None:
    enc = aas_api.b64url_encode(text)
    assert "=" not in enc
    assert aas_api.b64url_decode(enc, "id") == text
    assert aas_api.b64url_decode(enc + "=" * (-len(enc) % 4), "id") == text


@pytest.mark.parametrize(("text", "words"), [
    ("invalid-base64url=====", "is not base64url-encoded"), ("a+b/", "is not base64url-encoded"),
    ("", "is not base64url-encoded"), ("x", "is not base64url-encoded"), ("gA", "does not decode to UTF-8"),
])
def test_base64url_refusals_name_the_parameter(text: str, words: str) -> None:
    with pytest.raises(BadRequest, match=f"aasIdentifier .*{words}"):
        aas_api.b64url_decode(text, "aasIdentifier")


def test_cursors_belong_to_their_list() -> None:
    c = aas_api.encode_cursor("shells", "BL.X-1")
    assert aas_api.decode_cursor(c, "shells", 1) == ["BL.X-1"]
    assert aas_api.decode_cursor(None, "shells", 1) is None
    for wrong in (aas_api.encode_cursor("offset", 3), aas_api.b64url_encode("BL.X-1"), "%%",
                  aas_api.b64url_encode("shells\x1f")):
        with pytest.raises(BadRequest, match="not one this server issued"):
            aas_api.decode_cursor(wrong, "shells", 1)


def test_asset_ids_and_semantic_ids() -> None:
    one = aas_api.b64url_encode('{"name": "partInstanceId", "value": "S1"}')
    two = aas_api.b64url_encode('[{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]')
    assert aas_api.decode_asset_ids([one, two]) == [("partInstanceId", "S1"), ("a", "1"), ("b", "2")]
    for bad in ('{"name": 1, "value": "x"}', "[1]", "x"):
        with pytest.raises(BadRequest, match="assetIds"):
            aas_api.decode_asset_ids([aas_api.b64url_encode(bad)])
    assert aas_api.decode_semantic_id(aas_api.b64url_encode("urn:x")) == "urn:x"
    ref = '{"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": "urn:y"}]}'
    assert aas_api.decode_semantic_id(aas_api.b64url_encode(ref)) == "urn:y"


def _submodel() -> model.Submodel:
    props = [model.Property(None, model.datatypes.String, v) for v in ("x", "y")]
    inner = model.SubmodelElementCollection("Inner", [model.Property("Leaf", model.datatypes.Double, 1.5)])
    rows = model.SubmodelElementList("Rows", model.SubmodelElementCollection, [
        model.SubmodelElementCollection(None, [model.Property("Name", model.datatypes.String, "r0")])])
    return model.Submodel("urn:sm", id_short="Sm", submodel_element=[
        model.SubmodelElementCollection("Outer", [inner, model.SubmodelElementList(
            "Texts", model.Property, props, value_type_list_element=model.datatypes.String)]),
        rows, model.MultiLanguageProperty("Title", model.MultiLanguageTextType({"en": "t"})),
        model.File("Doc", content_type="application/pdf", value="https://example.org/d.pdf")])


def test_id_short_paths_resolve_and_refuse() -> None:
    sm = _submodel()
    assert aas_api.parse_id_short_path("Outer.Texts[1]") == ["Outer", "Texts", 1]
    assert aas_api.resolve(sm, "Outer.Texts[1]").value == "y"
    assert aas_api.resolve(sm, "Rows[0].Name").value == "r0"
    for bad in ("", ".A", "A.", "[0]", "A..B", "A.[0]", "1A", "A b", "A[x]"):
        with pytest.raises(BadRequest, match="is not an idShortPath"):
            aas_api.parse_id_short_path(bad)
    for missing, words in (("Nope", "no element 'Nope' in submodel Sm"), ("Outer.Inner[0]", "is not a list"),
                           ("Rows[5]", "has 1 entries, no \\[5\\]"), ("Title.X", "no element 'X' in Title")):
        with pytest.raises(NotFound, match=words):
            aas_api.resolve(sm, missing)


def test_paths_value_only_and_cuts() -> None:
    sm = _submodel()
    assert aas_api.id_short_paths(sm, level=Level.CORE) == ["Outer", "Rows", "Title", "Doc"]
    assert aas_api.id_short_paths(sm) == ["Outer", "Outer.Inner", "Outer.Inner.Leaf", "Outer.Texts", "Outer.Texts[0]",
                                          "Outer.Texts[1]", "Rows", "Rows[0]", "Rows[0].Name", "Title", "Doc"]
    assert aas_api.value_only(sm) == {"Outer": {"Inner": {"Leaf": 1.5}, "Texts": ["x", "y"]},
                                      "Rows": [{"Name": "r0"}], "Title": [{"en": "t"}],
                                      "Doc": {"contentType": "application/pdf", "value": "https://example.org/d.pdf"}}
    # core: the direct children of what is asked for, without their own
    assert aas_api.value_only(sm, level=Level.CORE) == {**aas_api.value_only(sm), "Outer": {}, "Rows": []}
    assert aas_api.value_only(aas_api.resolve(sm, "Outer"), level=Level.CORE) == {"Inner": {}, "Texts": []}
    full = aas_api.to_json(sm)
    core = aas_api.cut(full, level=Level.CORE)
    assert [e["idShort"] for e in core["submodelElements"]] == ["Outer", "Rows", "Title", "Doc"]
    assert "value" not in core["submodelElements"][0] and core["submodelElements"][2]["value"]
    assert "submodelElements" not in aas_api.metadata(full) and aas_api.metadata(full)["id"] == "urn:sm"
    ref = aas_api.reference(aas_api.resolve(sm, "Outer.Inner.Leaf"))
    assert [k["value"] for k in ref["keys"]] == ["urn:sm", "Outer", "Inner", "Leaf"]
    assert aas_api.result(404, "no such thing")["messages"][0]["code"] == "404"
