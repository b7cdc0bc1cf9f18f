"""One error hierarchy, one JSON encoder: every error of ours is a BatteryloopError (keeping the builtin base
code catches it by), the API's problem mapping answers each one as the wrappers it replaces did, byte for
byte, and json_response encodes as each of the six copies it replaces did."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from batteryloop.circular import CircularInputError
from batteryloop.errors import BatteryloopError, Conflict, InvalidData
from batteryloop.exchange.errors import CredentialError, ExchangeError, PolicyDenied, ProtocolError
from batteryloop.health.errors import CyclerFileError, HealthError, InsufficientDataError
from batteryloop.hubs.errors import DispatchError, HubInputError
from batteryloop.passport.lifecycle import LifecycleError
from batteryloop.responses import json_response


@pytest.mark.parametrize("cls, builtin", [
    (CircularInputError, ValueError), (HubInputError, ValueError), (HealthError, ValueError),
    (CyclerFileError, ValueError), (InsufficientDataError, ValueError), (LifecycleError, ValueError),
    (DispatchError, RuntimeError), (ExchangeError, Exception), (CredentialError, Exception),
    (PolicyDenied, Exception), (ProtocolError, Exception),
])
def test_every_error_of_ours_is_a_batteryloop_error_and_keeps_its_base(cls: type, builtin: type) -> None:
    assert issubclass(cls, BatteryloopError) and issubclass(cls, builtin)


def test_messages_and_attributes_stay() -> None:
    e = CircularInputError("mass_kg", -1, "must be a finite number greater than 0")
    assert str(e) == e.detail == "mass_kg=-1: must be a finite number greater than 0"
    assert (e.field, e.value, e.rule, e.status) == ("mass_kg", -1, "must be a finite number greater than 0", 422)
    f = CyclerFileError("a.csv", "bad value", line=3, column="Voltage", value="x")
    assert str(f) == f.detail == "a.csv:3: column 'Voltage': bad value (found 'x')" and f.reason == "bad value"
    assert str(DispatchError("HiGHS returned Infeasible")) == "HiGHS returned Infeasible"
    assert LifecycleError("archived").status == 409


def input_error(exc: CircularInputError) -> InvalidData:  # what circular/service.py and api/circular.py raised
    return InvalidData(str(exc), [{"field": exc.field, "rule": exc.rule, "message": str(exc), "value": exc.value}])


def health_error(exc: HealthError) -> InvalidData:  # what health/service.py raised
    return InvalidData(str(exc), [{"field": "file", "rule": type(exc).__name__, "message": str(exc), "value": None}])


def _app() -> TestClient:
    from batteryloop.api import problems

    app = FastAPI()
    problems.install(app)
    raising = {
        "circular": lambda: CircularInputError("references.x", {"a": [1, 2]}, "must be a table"),
        "circular-old": lambda: input_error(CircularInputError("references.x", {"a": [1, 2]}, "must be a table")),
        "health": lambda: CyclerFileError(None, "no discharge", line=7),
        "health-old": lambda: health_error(CyclerFileError(None, "no discharge", line=7)),
        "insufficient": lambda: InsufficientDataError("no discharge in the series"),
        "insufficient-old": lambda: health_error(InsufficientDataError("no discharge in the series")),
        "solver": lambda: DispatchError("HiGHS returned Infeasible for the day's dispatch"),
        "solver-old": lambda: type("SolverFailed", (BatteryloopError,), {"status": 500, "title": "Solver failed"})(
            "HiGHS returned Infeasible for the day's dispatch"),
        "lifecycle": lambda: LifecycleError("the passport is archived (the battery was recycled): it is read-only"),
        "lifecycle-old": lambda: Conflict("the passport is archived (the battery was recycled): it is read-only"),
    }

    for name, make in raising.items():
        def route(make: Any = make) -> None:
            raise make()
        app.add_api_route(f"/{name.removesuffix('-old')}" + ("/old" if name.endswith("-old") else ""), route)
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("name, status", [("circular", 422), ("health", 422), ("insufficient", 422),
                                          ("solver", 500), ("lifecycle", 409)])
def test_the_problem_mapping_answers_as_the_wrappers_did(name: str, status: int) -> None:
    c = _app()
    new, old = c.get(f"/{name}"), c.get(f"/{name}/old")
    assert new.status_code == old.status_code == status
    body = new.json()
    body_old = old.json()
    assert body.pop("instance") == f"/{name}" and body_old.pop("instance") == f"/{name}/old"
    assert new.headers["content-type"] == old.headers["content-type"] == "application/problem+json"
    assert orjson.dumps(body) == orjson.dumps(body_old)


def test_one_encoder_for_every_adapter() -> None:
    plain = {"a": [1, 2.5, None, True], "b": "é", "t": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}
    r = json_response(plain, 201)
    assert r.status_code == 201 and r.media_type == "application/json"
    assert r.body == orjson.dumps(plain)  # what api/passports, api/circular, exchange/app, exchange/pact sent
    assert r.body == orjson.dumps(plain, default=str)  # api/trace
    assert r.body == orjson.dumps(plain, option=orjson.OPT_SERIALIZE_NUMPY)  # api/health, api/hubs
    arrays = {"x": np.array([1.0, 2.0]), "n": np.int64(3)}
    assert json_response(arrays).body == orjson.dumps(arrays, option=orjson.OPT_SERIALIZE_NUMPY) == b'{"x":[1.0,2.0],"n":3}'
    assert json_response({"d": Decimal("1.10")}).body == orjson.dumps({"d": Decimal("1.10")}, default=str)
    problem = json_response({"status": 400}, 400, media_type="application/problem+json")
    assert problem.media_type == "application/problem+json" and problem.status_code == 400
