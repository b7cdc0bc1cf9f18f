"""Schemathesis against our own OpenAPI, anonymous and as each role: no 5xx for any generated request;
every error is an RFC 9457 problem document; every status is one the document lists for the operation,
and every answer matches the schema and content type the document gives for that status."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from batteryloop.server import create_app
from batteryloop.sim import pilot
from batteryloop.store.db import Store
from tests.conftest import make_services, seed_pilot

_DB = Path(os.environ.get("TMPDIR", "/tmp")) / f"batteryloop-fuzz-{os.getpid()}.db"
for suffix in ("", "-wal", "-shm"):
    Path(str(_DB) + suffix).unlink(missing_ok=True)
_store = Store(f"sqlite:///{_DB}")
_store.upgrade()
_svc = make_services(_store)
_tokens = seed_pilot(_svc)["tokens"]
_svc.passports.import_passports(pilot.generate_batteries(20, seed=3), _svc.participants.authenticate(_tokens[pilot.AUTOMAKER]))
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(services=_svc))

WHO = {"anonymous": None, "operator": _tokens[pilot.AUTOMAKER], "recycler": _tokens[pilot.RECYCLER_EU],
       "second_life": _tokens[pilot.SECOND_LIFE], "repairer": _tokens[pilot.REPAIRER], "baas": _tokens[pilot.BAAS],
       "supplier": _tokens[pilot.CELL_KR], "authority": _tokens[pilot.AUTHORITY],
       "notified_body": _tokens[pilot.NOTIFIED_BODY], "admin": "admin-secret-token"}


CORE = ("anonymous", "operator", "recycler", "admin")  # five examples per operation; the other roles two


@pytest.mark.slow
@pytest.mark.parametrize("who", CORE)
@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case: schemathesis.Case, who: str) -> None:
    _check(case, who)


# the other roles walk every operation whose answer depends on who asks (not the public calculations —
# swap stations, hub dispatch, recycling, BaaS prices — which answer everyone alike and cost seconds each)
_by_caller = schema.exclude(path_regex=r"^/api/v1/(circular/|hubs/(simulate|vpp))")


@pytest.mark.slow
@pytest.mark.parametrize("who", sorted(set(WHO) - set(CORE)))
@_by_caller.parametrize()
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_for_every_role(case: schemathesis.Case, who: str) -> None:
    _check(case, who)


def _check(case: schemathesis.Case, who: str) -> None:
    headers = {"Authorization": f"Bearer {WHO[who]}"} if WHO[who] else {}
    resp = case.call(headers=headers)
    assert resp.status_code < 500, (who, case.method, case.formatted_path, case.query, resp.text[:300])
    if resp.status_code >= 400:
        ctype = resp.headers.get("content-type") or resp.headers.get("Content-Type")
        ctype = ctype[0] if isinstance(ctype, list) else ctype
        assert ctype.startswith("application/problem+json"), (case.method, case.formatted_path, ctype)
        body = resp.json()
        assert body["status"] == resp.status_code and body["detail"]
    # every answer's status is one the document lists for the operation, and its body and content type match
    case.validate_response(resp, checks=[status_code_conformance, response_schema_conformance,
                                         content_type_conformance], headers=headers)
