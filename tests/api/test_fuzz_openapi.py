"""Schemathesis against our own OpenAPI, anonymous and as each role: no 5xx for any generated request;
every error is an RFC 9457 problem document (under /aas and /api/v3 — the AAS API and the Digital Twin
Registry — the Part 2 Result, but for 413 and 429);
every status is one the document lists for the operation, and every answer matches the schema and content
type the document gives for that status.

One test per caller walks every operation of the document with a Hypothesis budget per operation
(``EXAMPLES``); it collects every failure before failing, so one run names all broken operations. The
node and its database are built by a fixture when the test runs — nothing is created at collection.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from batteryloop.sim import pilot

# examples per operation: the callers whose rights differ most get the larger budget
EXAMPLES = {"anonymous": 12, "operator": 12, "recycler": 8, "admin": 8}
OTHER_ROLES = ("second_life", "repairer", "baas", "supplier", "authority", "notified_body")
EXAMPLES_OTHER = 3

# the public calculations (swap stations, hub dispatch, recycling, BaaS prices) answer everyone alike and
# cost seconds each: the four callers above walk them, the other roles skip them
PUBLIC_CALCULATIONS = r"^/api/v1/(circular/|hubs/(simulate|vpp))"


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from batteryloop.server import create_app
    from batteryloop.store.db import Store
    from tests.conftest import make_services, seed_pilot

    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    svc = make_services(store)
    tokens = seed_pilot(svc)["tokens"]
    svc.passports.import_passports(pilot.generate_batteries(20, seed=3),
                                   svc.participants.authenticate(tokens[pilot.AUTOMAKER]))
    # the Digital Twin Registry (/api/v3) is fuzzed from the Tractus-X documents themselves (test_dtr_fuzz.py)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(services=svc)).exclude(path_regex=r"^/api/v3/")
    who = {"anonymous": None, "operator": tokens[pilot.AUTOMAKER], "recycler": tokens[pilot.RECYCLER_EU],
           "second_life": tokens[pilot.SECOND_LIFE], "repairer": tokens[pilot.REPAIRER], "baas": tokens[pilot.BAAS],
           "supplier": tokens[pilot.CELL_KR], "authority": tokens[pilot.AUTHORITY],
           "notified_body": tokens[pilot.NOTIFIED_BODY], "admin": "admin-secret-token"}
    yield schema, who
    store.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("caller", [*EXAMPLES, *OTHER_ROLES])
def test_every_operation_answers_by_its_document(caller: str, fuzz_world: Any) -> None:
    schema, who = fuzz_world
    if caller not in EXAMPLES:
        schema = schema.exclude(path_regex=PUBLIC_CALCULATIONS)
    budget = EXAMPLES.get(caller, EXAMPLES_OTHER)
    headers = {"Authorization": f"Bearer {who[caller]}"} if who[caller] else {}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=budget, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            _check(case, headers)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 — gather every operation's failure, then fail once
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:600]}")
    assert operations >= 40, f"the document lists only {operations} operations"
    assert not failures, f"{len(failures)} of {operations} operations failed as {caller}:\n" + "\n".join(failures)


def _check(case: schemathesis.Case, headers: dict[str, str]) -> None:
    resp = case.call(headers=headers)
    assert resp.status_code < 500, (case.method, case.formatted_path, case.query, resp.text[:300])
    if resp.status_code >= 400:
        ctype = resp.headers.get("content-type") or resp.headers.get("Content-Type")
        ctype = ctype[0] if isinstance(ctype, list) else ctype
        body = resp.json()
        part2 = case.formatted_path.startswith(("/aas/", "/api/v3/"))  # the AAS API and the DTR: IDTA-01002 Part 2
        if part2 and resp.status_code not in (413, 429):
            assert ctype.startswith("application/json"), (case.method, case.formatted_path, ctype)
            assert body["messages"][0]["code"] == str(resp.status_code) and body["messages"][0]["text"]
        else:
            assert ctype.startswith("application/problem+json"), (case.method, case.formatted_path, ctype)
            assert body["status"] == resp.status_code and body["detail"]
    # every answer's status is one the document lists for the operation, and its body and content type match
    case.validate_response(resp, checks=[status_code_conformance, response_schema_conformance,
                                         content_type_conformance], headers=headers)

