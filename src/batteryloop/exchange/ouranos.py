"""An Ouranos-compatible data transport API (``/api/v1/datatransport?dataTarget=…``) and its rules.

The Ouranos Ecosystem (Japan) data transaction system exchanges parts, parts structures, trade requests
and responses, and carbon footprints (CFP) between a downstream company and its suppliers
(fixtures/ouranos: ouranos-ecosystem-idi/data-transaction-system, OpenAPI in Japanese). Its rules,
kept here:

* **the downstream's activity amounts never go upstream** — a trade request carries trace ids only;
  a supplier reading the trades it received sees ``amountRequired``/``amountRequiredUnit`` as ``null``;
* **a supplier may refuse disclosure** — then the downstream reads ``ghgEmission: null``;
* **the downstream sees only the supplier's aggregated totals** — ``preProductionResponse`` (own pre-
  processing + its components' pre-processing) and ``mainProductionResponse``; never the supplier's own
  ``preComponent``/``mainComponent`` split, parts structure or suppliers.

CFP registration follows the OpenAPI's rules: exactly the four types preProduction, mainProduction,
preComponent and mainComponent in one call, with the same cfpId, traceId and ghgDeclaredUnit; values
rounded up at the 6th decimal. Identifiers are the operators' participant ids (BPNL or Ouranos operator
id) rather than the system's internal UUIDs.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import orjson

from ..errors import BatteryloopError
from ..store import exchange as repo
from ..store.db import Store, utcnow_iso

CFP_TYPES = ("preProduction", "mainProduction", "preComponent", "mainComponent")
DQR_FOR = {"preProduction": "preProcessing", "preComponent": "preProcessing",
           "mainProduction": "mainProcessing", "mainComponent": "mainProcessing"}
UNITS = ("kgCO2e/liter", "kgCO2e/kilogram", "kgCO2e/cubic-meter", "kgCO2e/kilowatt-hour", "kgCO2e/megajoule",
         "kgCO2e/ton-kilometer", "kgCO2e/square-meter", "kgCO2e/unit")
AMOUNT_UNITS = ("liter", "kilogram", "cubic-meter", "kilowatt-hour", "megajoule", "ton-kilometer", "square-meter",
                "unit")


class OuranosError(BatteryloopError):
    """An error in the Ouranos API's own shape: ``{code: "[dataspace] …", message, detail}`` (the router
    answers it so; anywhere else it is one of our errors like any other, with its status)."""

    title = "Ouranos API error"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self, target: str, method: str) -> dict[str, Any]:
        kind = {400: "BadRequest", 401: "Unauthorized", 403: "AccessDenied", 404: "NotFound"}.get(self.status, "Error")
        return {"code": f"[dataspace] {kind}", "message": self.message,
                "detail": f"id: {uuid.uuid4()}, timeStamp: {utcnow_iso()}, dataTarget: {target}, method: {method}"}


def _round_up_5(x: float) -> float:
    """Round up at the 6th decimal (the API keeps 5 decimals and asks callers to round up)."""
    return math.ceil(round(x * 100_000, 6)) / 100_000


class OuranosService:
    """The records of one node's Ouranos-compatible API, on its store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ storage
    def _put(self, kind: str, rid: str, operator: str, body: dict[str, Any], trace_id: str | None = None) -> None:
        now = utcnow_iso()
        vals = {"operator_id": operator, "trace_id": trace_id, "body": orjson.dumps(body).decode(),
                "updated_at": now}
        with self.store.write() as conn:
            repo.put_document(conn, kind, rid, vals)

    def _get(self, kind: str, rid: str) -> tuple[str, dict[str, Any]] | None:
        with self.store.read() as conn:
            row = repo.document(conn, kind, rid)
        return None if row is None else (row[0], orjson.loads(row[1]))

    def _all(self, kind: str, **where: str) -> list[tuple[str, dict[str, Any]]]:
        with self.store.read() as conn:
            rows = repo.documents(conn, kind, where)
        return [(op, orjson.loads(body)) for op, body in rows]

    # ------------------------------------------------------------------ parts
    def _check_part(self, p: Any, caller: str) -> dict[str, Any]:
        if not isinstance(p, dict):
            raise OuranosError(400, "Validation failed, partsModel: must be an object.")
        for k in ("partsName", "operatorId", "terminatedFlag"):
            if k not in p:
                raise OuranosError(400, f"Validation failed, {k}: cannot be blank.")
        if p["operatorId"] != caller:
            raise OuranosError(403, f"operatorId {p['operatorId']} is not the authenticated operator {caller}")
        if p.get("amountRequiredUnit") is not None and p["amountRequiredUnit"] not in AMOUNT_UNITS:
            raise OuranosError(400, f"Validation failed, amountRequiredUnit: must be one of {', '.join(AMOUNT_UNITS)}.")
        amt = p.get("amountRequired")
        if amt is not None and not (isinstance(amt, int | float) and 0 <= amt <= 99999.99999):
            raise OuranosError(400, "Validation failed, amountRequired: must be between 0 and 99999.99999.")
        return {**p, "traceId": p.get("traceId") or str(uuid.uuid4())}

    def put_parts(self, caller: str, part: Any) -> dict[str, Any]:
        p = self._check_part(part, caller)
        old = self._get("parts", p["traceId"])
        if old and old[0] != caller:
            raise OuranosError(403, f"traceId {p['traceId']} belongs to another operator")
        self._put("parts", p["traceId"], caller, p, p["traceId"])
        return p

    def parts(self, caller: str, trace_id: str | None = None) -> list[dict[str, Any]]:
        rows = self._all("parts", operator_id=caller)
        return [b for _, b in rows if trace_id is None or b["traceId"] == trace_id]

    def put_parts_structure(self, caller: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or "parentPartsModel" not in body or "childrenPartsModel" not in body:
            raise OuranosError(400, "Validation failed, parentPartsModel and childrenPartsModel are required.")
        if len(body["childrenPartsModel"]) > 50:
            raise OuranosError(400, "Validation failed, childrenPartsModel: at most 50 items.")
        parent = self.put_parts(caller, body["parentPartsModel"])
        children = [self.put_parts(caller, c) for c in body["childrenPartsModel"]]
        self._put("partsStructure", parent["traceId"], caller,
                  {"parent": parent["traceId"], "children": [c["traceId"] for c in children]}, parent["traceId"])
        return {"parentPartsModel": parent, "childrenPartsModel": children}

    def parts_structure(self, caller: str, trace_id: str) -> dict[str, Any]:
        got = self._get("partsStructure", trace_id)
        if got is None or got[0] != caller:
            raise OuranosError(404, f"no parts structure {trace_id} for operator {caller}")
        parts = {p["traceId"]: p for p in self.parts(caller)}
        return {"parentPartsModel": parts[got[1]["parent"]],
                "childrenPartsModel": [parts[c] for c in got[1]["children"]]}

    # ------------------------------------------------------------------ trades
    def put_trade_request(self, caller: str, body: Any) -> dict[str, Any]:
        """Record a trade request received from the downstream ``caller`` (trace ids only, never amounts)."""
        if not isinstance(body, dict) or "tradeModel" not in body or "statusModel" not in body:
            raise OuranosError(400, "Validation failed, tradeModel and statusModel are required.")
        tm, sm = dict(body["tradeModel"]), dict(body["statusModel"])
        up = tm.get("upstreamOperatorId") or tm.get("upsreamOperatorId")  # the OpenAPI example's own typo
        if tm.get("downstreamOperatorId") != caller:
            raise OuranosError(403, f"downstreamOperatorId must be the authenticated operator {caller}")
        if not tm.get("downstreamTraceId"):
            raise OuranosError(400, "Validation failed, downstreamTraceId: cannot be blank.")
        if not sm.get("responseDueDate"):
            raise OuranosError(400, "Validation failed, responseDueDate: must be a valid date.")
        if sm.get("requestType", "CFP") != "CFP":
            raise OuranosError(400, "Validation failed, requestType: must be CFP.")
        trade_id, status_id = str(uuid.uuid4()), str(uuid.uuid4())
        trade = {"downstreamOperatorId": caller, "downstreamTraceId": tm["downstreamTraceId"], "tradeId": trade_id,
                 "upstreamOperatorId": up, "upstreamTraceId": None}
        status = {"message": sm.get("message"), "replyMessage": None,
                  "requestStatus": {"cfpResponseStatus": "NOT_COMPLETED", "tradeTreeStatus": "UNTERMINATED"},
                  "requestType": "CFP", "statusId": status_id, "tradeId": trade_id,
                  "responseDueDate": sm["responseDueDate"]}
        self._put("trade", trade_id, caller, {"tradeModel": trade, "statusModel": status})
        return {"tradeModel": trade, "statusModel": status}

    def trades(self, caller: str, *, as_: str) -> list[dict[str, Any]]:
        key = "downstreamOperatorId" if as_ == "downstream" else "upstreamOperatorId"
        return [b for _, b in self._all("trade") if b["tradeModel"][key] == caller]

    def put_trade_response(self, caller: str, trade_id: str, trace_id: str) -> dict[str, Any]:
        got = self._get("trade", trade_id)
        if got is None:
            raise OuranosError(404, f"no trade {trade_id}")
        body = got[1]
        if body["tradeModel"]["upstreamOperatorId"] != caller:
            raise OuranosError(403, f"only the supplier {body['tradeModel']['upstreamOperatorId']} answers trade {trade_id}")
        if not self.parts(caller, trace_id):
            raise OuranosError(404, f"traceId {trace_id} is not a part of operator {caller}")
        body["tradeModel"]["upstreamTraceId"] = trace_id
        body["statusModel"]["requestStatus"]["cfpResponseStatus"] = "COMPLETED"
        self._put("trade", trade_id, got[0], body)
        part = self.parts(caller, trace_id)[0]
        return {**body, "partsModel": {**part, "amountRequired": None, "amountRequiredUnit": None}}

    def answered_trade(self, downstream: str, upstream_trace_id: str) -> dict[str, Any] | None:
        for _, b in self._all("trade"):
            tm = b["tradeModel"]
            if tm["downstreamOperatorId"] == downstream and tm["upstreamTraceId"] == upstream_trace_id:
                return b
        return None

    # ------------------------------------------------------------------ CFP
    def put_cfp(self, caller: str, entries: Any, *, disclose: bool = True) -> list[dict[str, Any]]:
        if not isinstance(entries, list) or sorted(e.get("cfpType") for e in entries if isinstance(e, dict)) != sorted(CFP_TYPES):
            raise OuranosError(400, "Validation failed, cfpType: give exactly preProduction, mainProduction, "
                                    "preComponent and mainComponent.")
        ids = {(e.get("cfpId"), e.get("traceId"), e.get("ghgDeclaredUnit")) for e in entries}
        if len(ids) != 1:
            raise OuranosError(400, "Validation failed, cfpId, traceId and ghgDeclaredUnit must be the same in all "
                                    "four entries.")
        cfp_id, trace_id, unit = ids.pop()
        if unit not in UNITS:
            raise OuranosError(400, f"Validation failed, ghgDeclaredUnit: must be one of {', '.join(UNITS)}.")
        if not self.parts(caller, trace_id):
            raise OuranosError(404, f"traceId {trace_id} is not a part of operator {caller}")
        cfp_id = cfp_id or str(uuid.uuid4())
        out = []
        for e in entries:
            v = e.get("ghgEmission")
            if not isinstance(v, int | float) or v < 0:
                raise OuranosError(400, f"Validation failed, ghgEmission of {e['cfpType']}: a number ≥ 0 (0 if none).")
            dqr = e.get("dqrValue") or {}
            if not all(k in dqr for k in ("TeR", "GeR", "TiR")):
                raise OuranosError(400, "Validation failed, dqrValue: TeR, GeR and TiR are required.")
            out.append({"cfpId": cfp_id, "traceId": trace_id, "ghgEmission": _round_up_5(float(v)),
                        "ghgDeclaredUnit": unit, "cfpType": e["cfpType"], "dqrType": DQR_FOR[e["cfpType"]],
                        "dqrValue": {k: _round_up_5(float(dqr[k])) for k in ("TeR", "GeR", "TiR")}})
        self._put("cfp", trace_id, caller, {"entries": out, "disclose": disclose}, trace_id)
        return out

    def cfp(self, caller: str, trace_ids: list[str]) -> list[dict[str, Any]]:
        """CFP for each trace id: all of it for the owner; only aggregated responses for a downstream with an
        answered trade; nothing for anyone else (404)."""
        out: list[dict[str, Any]] = []
        for tid in trace_ids:
            got = self._get("cfp", tid)
            if got is None:
                raise OuranosError(404, f"no CFP registered for traceId {tid}")
            owner, body = got
            if owner == caller:
                out += body["entries"]
                continue
            if self.answered_trade(caller, tid) is None:
                raise OuranosError(404, f"no CFP for traceId {tid} visible to operator {caller}")
            out += aggregate_response(body["entries"], disclose=body["disclose"])
        return out

    def put_certification(self, caller: str, trace_id: str, description: str, credential: str | None = None) -> dict[str, Any]:
        if not self.parts(caller, trace_id):
            raise OuranosError(404, f"traceId {trace_id} is not a part of operator {caller}")
        cert = {"cfpCertificationId": str(uuid.uuid4()), "traceId": trace_id,
                "cfpCertificationDescription": description[:100], "cfpCertificationFileInfo": [],
                "credential": credential}
        self._put("cfpCertification", trace_id, caller, cert, trace_id)
        return cert

    def certification(self, caller: str, trace_id: str) -> dict[str, Any]:
        got = self._get("cfpCertification", trace_id)
        if got is None or (got[0] != caller and self.answered_trade(caller, trace_id) is None):
            raise OuranosError(404, f"no CFP certification for traceId {trace_id} visible to operator {caller}")
        return got[1]

    def status(self, caller: str) -> list[dict[str, Any]]:
        out = []
        for b in self.trades(caller, as_="upstream") + self.trades(caller, as_="downstream"):
            out.append(b["statusModel"])
        return out

    def commitment(self, trace_id: str) -> dict[str, Any] | None:
        got = self._get("commitment", trace_id)
        return None if got is None else got[1]

    def put_commitment(self, caller: str, trace_id: str, statement: str, opening: dict[str, Any]) -> None:
        self._put("commitment", trace_id, caller, {"statement": statement, "opening": opening}, trace_id)


def aggregate_response(entries: list[dict[str, Any]], *, disclose: bool) -> list[dict[str, Any]]:
    """What a downstream company receives: the two aggregated totals, ghgEmission null when not disclosed."""
    by = {e["cfpType"]: e for e in entries}
    base = entries[0]
    out = []
    for stage, parts, dqr in (("preProductionResponse", ("preProduction", "preComponent"), "preProcessingResponse"),
                              ("mainProductionResponse", ("mainProduction", "mainComponent"), "mainProcessingResponse")):
        total = _round_up_5(sum(by[p]["ghgEmission"] for p in parts)) if disclose else None
        own = by[parts[0]]["dqrValue"]
        out.append({"cfpId": base["cfpId"], "traceId": base["traceId"], "ghgEmission": total,
                    "ghgDeclaredUnit": base["ghgDeclaredUnit"], "cfpType": stage, "dqrType": dqr,
                    "dqrValue": own if disclose else {"TeR": None, "GeR": None, "TiR": None}})
    return out
