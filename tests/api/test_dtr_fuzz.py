"""Schemathesis against the node's Digital Twin Registry, driven by the Tractus-X OpenAPI documents themselves
(the registry's and the access-rule API's, in ../shared/fixtures/dtr), not by the node's own document: no
5xx for any generated request, every status one the Tractus-X document lists for the operation (or its
``default``), every answer's body and content type as that document gives them, every error a Part 2
``Result``. As the owner of shells, as another participant, anonymously.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from batteryloop.sim import pilot

pytestmark = pytest.mark.any_store
EXAMPLES = 6
CALLERS = ("owner", "other", "anonymous")


def tractus_x_document(fixtures_dir: Path) -> dict[str, Any]:
    """The registry's OpenAPI with the access-rule API's paths joined in, its references made local (the
    registry's two to SwaggerHub, the access-rule API's to its schema file), served at /api/v3."""
    folder = fixtures_dir / "dtr"
    text = (folder / "aas-registry-openapi.yaml").read_text().replace(
        "'https://api.swaggerhub.com/domains/Plattform_i40/Part2-API-Schemas/V3.1.0#/components/", "'#/components/")
    doc = yaml.safe_load(text)
    access_text = (folder / "access-control-openapi.yaml").read_text()
    access_text = access_text.replace("'./access-control-openapi_schemas.yaml#/schemas/", "'#/components/schemas/Access")
    access_text = access_text.replace("'./access-control-openapi_schemas.yaml#/parameters/",
                                      "'#/components/parameters/Access")
    access = yaml.safe_load(access_text)
    schemas_text = (folder / "access-control-openapi_schemas.yaml").read_text().replace(
        '"#/schemas/', '"#/components/schemas/Access')
    access_schemas = yaml.safe_load(schemas_text)
    doc["paths"].update(access["paths"])
    doc["components"]["schemas"].update({"Access" + k: v for k, v in access_schemas["schemas"].items()})
    doc["components"].setdefault("parameters", {}).update(
        {"Access" + k: v for k, v in access_schemas["parameters"].items()})
    doc["servers"] = [{"url": "/api/v3"}]
    # the optional, deeply nested parts of a descriptor are left out of what is generated (a reference's
    # referredSemanticId is recursive; extensions and embedded data specifications are trees): drawing them
    # takes Hypothesis minutes per operation; the server checks them like the rest (tests/api/test_dtr_api.py)
    schemas = doc["components"]["schemas"]
    schemas["Reference"]["properties"].pop("referredSemanticId")
    schemas["Descriptor"]["properties"].pop("extensions")
    schemas["SpecificAssetId"]["allOf"][0] = {"type": "object", "properties": {
        "semanticId": {"$ref": "#/components/schemas/Reference"}}}
    schemas["AdministrativeInformation"]["allOf"][0] = {"type": "object"}
    return _without_xml_char_patterns(doc)


def _without_xml_char_patterns(node: Any) -> Any:
    """The document without its long patterns (the XML-character class ``^([\\x09…\\ud800[\\udc00-\\udfff]…)*$``,
    the BCP 47 language tag): Hypothesis takes minutes to draw strings from them. Dropping them only widens
    what is sent (the server checks the full schema and answers 400, which the document allows)."""
    if isinstance(node, dict):
        return {k: _without_xml_char_patterns(v) for k, v in node.items()
                if not (k == "pattern" and isinstance(v, str) and len(v) > 60)}
    if isinstance(node, list):
        return [_without_xml_char_patterns(v) for v in node]
    return node
