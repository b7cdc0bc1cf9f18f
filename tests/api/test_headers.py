"""Security headers on every answer (HTML pages, JSON, errors), 405 answers naming what is allowed, pages
that run no inline script, and an OpenAPI document whose every operation documents its error answers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from batteryloop.sim import pilot

COMMON = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
          "referrer-policy": "strict-origin-when-cross-origin"}
PAGES = ["/", "/login", "/pilot", "/hubs", "/circular", "/trace"]


def csp(resp: Any) -> dict[str, str]:
    """The response's Content-Security-Policy as {directive: sources}."""
    out = {}
    for part in resp.headers["content-security-policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        out[name] = value
    return out


def assert_common(resp: Any) -> None:
    for name, value in COMMON.items():
        assert resp.headers.get(name) == value, (resp.request.url, name, resp.headers.get(name))
    assert csp(resp)["frame-ancestors"] == "'none'"


def assert_scripts_allowed(resp: Any) -> None:
    """Only this server's scripts run, and inline scripts carrying this answer's nonce: no eval, no handlers."""
    sources = csp(resp)["script-src"].split()
    assert sources[0] == "'self'" and len(sources) <= 2, sources
    nonce = sources[1].removeprefix("'nonce-").removesuffix("'") if len(sources) == 2 else None
    for tag in re.findall(r"<script\b[^>]*>", resp.text):
        assert "src=" in tag or (nonce and f'nonce="{nonce}"' in tag), (resp.request.url, tag, sources)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", resp.text), resp.request.url  # no inline event handlers


@pytest.mark.parametrize("path", PAGES)
def test_html_pages_get_a_strict_policy(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert_common(r)
    policy = csp(r)
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert_scripts_allowed(r)


def test_chart_pages_carry_a_fresh_nonce(client: Any) -> None:
    rec = next(pilot.generate_batteries(1, seed=5))
    created = client.post("/api/v1/passports", json=rec,
                          headers={"Authorization": f"Bearer {client.tokens[pilot.AUTOMAKER]}"})
    assert created.status_code == 201, created.text
    signed_in = {"Authorization": f"Bearer {client.tokens[pilot.RECYCLER_EU]}"}
    first, second = (client.get("/", headers=signed_in) for _ in range(2))  # the dashboard draws the fleet's charts
    assert first.status_code == 200 and "Plotly.newPlot" in first.text
    assert_common(first)
    assert_scripts_allowed(first)
    assert "'nonce-" in csp(first)["script-src"] and csp(first)["script-src"] != csp(second)["script-src"]
    assert "'nonce-" not in csp(client.get("/login"))["script-src"]  # no inline script, no nonce


def test_json_error_and_static_answers(client: Any) -> None:
    for r in (client.get("/api/v1/health"), client.get("/api/v1/passports/nope"), client.get("/no/such/path"),
              client.get("/static/app.css"), client.get("/static/charts.js"), client.get("/openapi.json")):
        assert_common(r)
        assert csp(r)["default-src"] == "'none'", r.request.url
    assert client.get("/no/such/path").status_code == 404


def test_rate_limited_answers_carry_them_too(client: Any) -> None:
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from batteryloop.server import create_app

    svc = client.services
    limited = create_app(settings=replace(svc.settings, rate_limit_per_minute=1), services=svc)
    with TestClient(limited) as c:
        answers = [c.get("/api/v1/participants") for _ in range(12)]
    assert answers[-1].status_code == 429
    for r in answers:
        assert_common(r)


def test_405_names_the_allowed_methods(client: Any) -> None:
    r = client.put("/api/v1/health")
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert r.headers["content-type"].startswith("application/problem+json") and r.json()["status"] == 405
    assert_common(r)
    r = client.delete("/api/v1/participants")
    assert r.status_code == 405 and set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    r = client.post("/static/app.css")  # a mounted app's 405
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"


def test_401_keeps_www_authenticate(client: Any) -> None:
    r = client.get("/api/v1/me")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert_common(r)


def test_api_docs_page_gets_its_own_policy(client: Any) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert_common(r)
    assert "https://cdn.jsdelivr.net" in csp(r)["script-src"]


# ------------------------------------------------------------------------------------------ OpenAPI
def test_openapi_documents_problems_on_every_operation(client: Any) -> None:
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    problem = schemas["Problem"]
    assert set(problem["properties"]) >= {"type", "title", "status", "detail", "instance", "errors"}
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/ProblemError"}
    assert "HTTPValidationError" not in schemas
    ops = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    assert len(ops) > 40
    for path, method, op in ops:
        needed = {"400", "401", "403", "404", "413", "422", "429"}
        if method in ("post", "put", "patch", "delete"):
            needed |= {"409"}
        if path.startswith("/aas/"):  # the AAS API answers its errors as Part 2 Results, but for the limits' 413, 429
            assert op["x-error-body"] == "IDTA-01002 Part 2 Result", (method, path)
            for status in ("400", "401", "403", "404", "405"):
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema["required"] == ["messages"], (method, path, status)
            needed = {"413", "429"}
        if path.startswith("/api/v3/"):  # the Digital Twin Registry: Part 2 Results as the Tractus-X document has them
            assert op["x-error-body"] == "IDTA-01002 Part 2 Result", (method, path)
            for status in ("400", "401", "403"):
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/DtrResult"}, (method, path, status)
            assert "messages" in doc["components"]["schemas"]["DtrResult"]["properties"]
            needed = {"413", "429"}
        assert needed <= set(op["responses"]), (method, path, sorted(op["responses"]))
        for status in needed:
            content = op["responses"][status]["content"]
            assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}, (
                method, path, status, content)
        assert {"bearer": []} in op["security"]


def test_error_answers_match_the_problem_schema(client: Any) -> None:
    """The answers the document describes are the ones sent (a validation error, a 404, a 401, a 403)."""
    import jsonschema

    doc = client.get("/openapi.json").json()
    validator = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/Problem", **doc})
    answers = [
        client.post(f"/api/v1/participants/{pilot.RECYCLER_EU}/tokens", json={"ttl_days": "x"},
                    headers={"Authorization": f"Bearer {client.tokens[pilot.RECYCLER_EU]}"}),
        client.get("/api/v1/participants/NOPE"),
        client.get("/api/v1/me", headers={"Authorization": "Bearer blt_x"}),
        client.get(f"/api/v1/participants/{pilot.AUTOMAKER}/tokens",
                   headers={"Authorization": f"Bearer {client.tokens[pilot.RECYCLER_EU]}"}),
    ]
    assert [r.status_code for r in answers] == [422, 404, 401, 403]
    for r in answers:
        validator.validate(r.json())
    assert answers[0].json()["errors"][0]["field"] == "ttl_days"

