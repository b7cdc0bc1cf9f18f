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
EXAMPLES = 5  # per operation and caller: 22 operations × 3 callers (about 4 min on a loaded machine)
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


@pytest.fixture(scope="module")
def fuzz_dtr(module_store: Any, fixtures_dir: Path) -> Iterator[tuple[Any, dict[str, str | None]]]:
    from batteryloop.server import create_app
    from tests.conftest import make_services, seed_pilot

    svc = make_services(module_store)
    tokens = seed_pilot(svc)["tokens"]
    app = create_app(services=svc)
    # a few shells to find: one of the automaker's, with a public id and a submodel
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        pub = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": "PUBLIC_READABLE"}]}
        for i in range(3):
            c.post("/api/v3/shell-descriptors", headers={"Authorization": f"Bearer {tokens[pilot.AUTOMAKER]}"}, json={
                "id": f"fuzz-{i}", "specificAssetIds": [{"name": "manufacturerPartId", "value": "M", "externalSubjectId": pub}],
                "submodelDescriptors": [{"id": f"sm-{i}", "endpoints": [
                    {"interface": "SUBMODEL-3.0", "protocolInformation": {"href": f"http://x/{i}"}}]}]})
    schema = schemathesis.openapi.from_dict(tractus_x_document(fixtures_dir))
    schema.app = app
    yield schema, {"owner": tokens[pilot.AUTOMAKER], "other": tokens[pilot.RECYCLER_EU], "anonymous": None}


@pytest.mark.slow
@pytest.mark.parametrize("caller", CALLERS)
def test_registry_answers_by_the_tractus_x_document(caller: str, fuzz_dtr: Any, record_property: Any) -> None:
    schema, tokens = fuzz_dtr
    headers = {"Authorization": f"Bearer {tokens[caller]}"} if tokens[caller] else {}
    record_property("summary", _conforms(schema, headers, f"as {caller}"))


@pytest.mark.slow
def test_a_standalone_node_answers_by_the_tractus_x_document(tmp_path: Path, fixtures_dir: Path,
                                                             record_property: Any) -> None:
    """The same registry on a node run on its own (``node serve``: its own store, its admin token), as the
    node's connector forwarding for a BPN (Edc-Bpn)."""
    from batteryloop.exchange.app import create_node_app
    from batteryloop.exchange.config import NodeConfig
    from batteryloop.exchange.node import Node

    node = Node(NodeConfig(name="fuzz-node", participant_id=pilot.AUTOMAKER, base_url="http://127.0.0.1:9/",
                           database_url=f"sqlite:///{tmp_path}/node.db", admin_token="node-admin"))
    try:
        schema = schemathesis.openapi.from_dict(tractus_x_document(fixtures_dir))
        schema.app = create_node_app(node)
        headers = {"Authorization": "Bearer node-admin", "Edc-Bpn": pilot.AUTOMAKER}
        record_property("summary", _conforms(schema, headers, "on a standalone node", examples=2))
    finally:
        node.close()


def _conforms(schema: Any, headers: dict[str, str], who: str, examples: int = EXAMPLES) -> str:
    """Every operation's generated requests, checked; the summary (or an assertion naming every failure)."""
    caller = who
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=(Phase.explicit, Phase.generate))
        def check(case: schemathesis.Case) -> None:
            resp = case.call(headers=headers)
            assert resp.status_code < 500, (case.method, case.formatted_path, resp.text[:300])
            if resp.status_code >= 400 and resp.status_code not in (413, 429):
                body = resp.json()
                assert "messages" in body, (resp.status_code, resp.text[:300])
                assert body["messages"][0]["code"] == str(resp.status_code) and body["messages"][0]["text"]
            case.validate_response(resp, checks=[status_code_conformance, response_schema_conformance,
                                                 content_type_conformance], headers=headers)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - gather every operation's failure, then fail once
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:800]}")
    assert operations == 22, f"the Tractus-X documents list {operations} operations"  # 17 registry + 5 rules
    assert not failures, f"{len(failures)} of {operations} operations failed {caller}:\n" + "\n".join(failures)
    return (f"schemathesis on the DTR {caller}: {operations - len(failures)}/{operations} operations conform to the "
            "Tractus-X documents")
