"""Passport use cases: battery models, passports, bulk import, versions, status changes, search.

Every write is one transaction (:meth:`Store.write`): either the whole change is stored (row,
version, links, the pack's Digital Twin Registry descriptor: :mod:`.pack_twins`) or nothing is. Updates are optimistic: a passport row moves from version *n* to
*n + 1* only if it is still at *n*, so two concurrent writers never both win.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from ..access import Caller, Resource, authorize, battery_tiers, decide, general_tiers, model_tiers
from ..errors import BatteryloopError, Conflict, Forbidden, InvalidData, NotFound, deny, from_validation_error, invalid
from ..pools import InOrder, in_order, split
from ..relations import passport_resource, passport_resources
from ..store.db import Store, utcnow_iso
from ..store import models as model_repo
from ..store import participants as participant_repo
from ..store import passports as passport_repo
from ..store.errors import IntegrityViolation, translated
from ..store.fastread import FastReader
from ..store.passports import LazyPassportRecord, PassportRecord, find_record, find_records
from . import pack_twins
from .identifiers import UniqueIdentifier, global_asset_id, web_link
from .lifecycle import LifecycleError, StatusEvent, check_transition, successor_serial_number
from .model import BatteryData, BatteryModelData, BatteryStatus
from .redact import redact_battery, redact_model
from .tiers import ALL_TIERS, Tier, TIER_ORDER
from .versions import GENESIS, StoredVersion, diff, verify_chain, version_hash


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, ``null`` removes, anything else replaces."""
    if not isinstance(patch, Mapping):
        return patch
    out = dict(target) if isinstance(target, Mapping) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out



def _row_fields(b: BatteryData, author: str, now: str, reason: str, version: int = 1,
                prev_hash: str = GENESIS, *, changed_only: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """A passport version's current-row values (all but the model's chemistry) and its version row.

    ``changed_only`` (a new version of a stored passport): the current row's values a version changes
    (``_VERSION_COLUMNS``), its id and serial number; not the ones it keeps (e.g. the global asset id, a UUIDv5
    to compute)."""
    content = b.model_dump(mode="json", exclude_none=True)
    pid = b.passport_id
    assert pid is not None
    h = version_hash(passport_id=pid, version=version, prev_hash=prev_hash, author=author, created_at=now,
                     reason=reason, content=content)
    text = _dumps(content)
    vrow = {"passport_id": pid, "version": version, "hash": h, "prev_hash": prev_hash, "author_id": author,
            "reason": reason, "created_at": now, "data": text}
    if changed_only:
        return {"id": pid, "serial_number": b.serial_number, "owner_id": b.owner_id, "status": b.status.value,
                "successor_id": b.successor_id, "version": version, "hash": h, "data": text, "updated_at": now}, vrow
    row = {"id": pid, "model_id": b.model_id, "economic_operator_id": b.economic_operator_id,
           "owner_id": b.owner_id, "status": b.status.value, "serial_number": b.serial_number,
           "manufacture_date": b.manufacture_date,
           "manufacture_country": b.manufacture_country, "successor_id": b.successor_id,
           # a recycled battery's passport is archived read-only (Art. 77(8)), imported copies included
           "archived": b.status == BatteryStatus.RECYCLED, "global_asset_id": global_asset_id(pid),
           "version": version, "hash": h, "data": text, "created_at": now, "updated_at": now}
    return row, vrow


def _data_or_text(rec: PassportRecord) -> Any:
    """What a worker builds a passport's next version from: its stored JSON text when the record has it unparsed."""
    return rec.data_text if isinstance(rec, LazyPassportRecord) and "data" not in rec.__dict__ else rec.data


def _patched_versions(items: list[tuple[Any, ...]]) -> list[tuple[dict[str, Any], dict[str, Any]] | None]:
    """For each ``(data, patch, author, now, reason, version, prev_hash)``: the merge-patched content validated
    and its rows (:func:`_row_fields`), or ``None`` when it is invalid. ``data`` is the passport's content or its
    stored JSON text (parsed here). Pure CPU work: run in worker processes for big batches
    (:meth:`PassportService.update_passports` with ``executor``)."""
    out: list[tuple[dict[str, Any], dict[str, Any]] | None] = []
    for data, patch, author, now, reason, version, prev_hash in items:
        if isinstance(data, str | bytes):
            data = orjson.loads(data)
        try:
            b = BatteryData.model_validate(merge_patch(data, patch))
        except ValidationError:
            out.append(None)  # the caller validates it again itself, which raises the error
            continue
        out.append(_row_fields(b, author, now, reason, version, prev_hash, changed_only=True))
    return out


def _issued_rows(items: list[tuple[Any, ...]]) -> list[tuple[Any, ...] | None]:
    """For each ``(record, issuing agency code, author, now)``: the record validated, its id made if it has none,
    and its first version's rows (:func:`_row_fields`, reason "issued") as ``(id as given or None, serial
    number, economic operator, model, row, version row)``; ``None`` when it is invalid. Pure CPU work: run in
    worker processes for big imports (:meth:`PassportService.import_passports` with ``executor``); who may issue
    it is decided by the caller."""
    out: list[tuple[Any, ...] | None] = []
    for data, iac, author, now in items:
        try:
            b = BatteryData.model_validate(data)
            given = b.passport_id
            if given is None:
                b.passport_id = UniqueIdentifier(iac, b.economic_operator_id, b.serial_number).text
            row, vrow = _row_fields(b, author, now, "issued")
        except (ValidationError, ValueError):
            out.append(None)  # the caller validates it again itself, which raises the error
            continue
        out.append((given, b.serial_number, b.economic_operator_id, b.model_id, row, vrow))
    return out


@dataclass
class ImportReport:
    received: int = 0
    stored: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


class _Abort(Exception):
    """Roll the import transaction back (the report says why)."""


class _LRU(OrderedDict):  # type: ignore[type-arg]
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


_IMMUTABLE = ("passport_id", "economic_operator_id", "model_id", "serial_number", "predecessor_ids", "successor_id",
              "status", "manufacture_date", "manufacture_country")


def _refuse_immutable(patch: Mapping[str, Any], where: str = "") -> None:
    """InvalidData for a patch that touches a field an update may not change (``where`` names the passport)."""
    for key in _IMMUTABLE:
        if key in patch:
            hint = " (use a status change)" if key == "status" else ""
            raise InvalidData(f"{where}{key} cannot be changed by an update{hint}",
                              [{"field": key, "rule": "immutable", "message": f"{key}: cannot be changed by an update{hint}",
                                "value": patch[key]}])


DYNAMIC_HEALTH_FIELDS = frozenset({"state_of_health", "usage"})
"""What ``health.soh.write`` may change (the custodian's or a delegated service provider's measurements)."""


def _check_writable(rec: PassportRecord, caller: Caller, action: str = "passport.update", conn: Any = None,
                    patch: Mapping[str, Any] | None = None, resource: Any = None) -> None:
    if action == "passport.update":
        authorize(caller, action, Resource("passport", rec.id, operator=rec.economic_operator_id))
    else:
        if patch is not None and set(patch) - DYNAMIC_HEALTH_FIELDS:
            extra = ", ".join(sorted(set(patch) - DYNAMIC_HEALTH_FIELDS))
            raise Forbidden(f"{action} changes only {', '.join(sorted(DYNAMIC_HEALTH_FIELDS))} of passport {rec.id}, "
                            f"not {extra}")
        authorize(caller, action, resource if resource is not None else passport_resource(conn, rec))
    if rec.archived or rec.successor_id:
        raise Conflict(f"passport {rec.id} is read-only "
                       f"({'archived after recycling' if rec.archived else 'superseded by ' + str(rec.successor_id)})")


PARALLEL_VERSIONS_FROM = 200
"""``update_passports`` with an executor builds the versions in its workers for batches of this many or more."""
PARALLEL_VERSIONS_PART = 2000
"""... in parts of this many passports, the next part read and sent while this one's versions are built."""

_VERSION_COLUMNS = ("owner_id", "status", "successor_id", "version", "hash", "data", "updated_at")


def _status_event(event: StatusEvent | str) -> StatusEvent:
    """The status event named, or a refusal that lists the events there are."""
    try:
        return StatusEvent(event)
    except ValueError:
        raise InvalidData(f"unknown status event {event!r}", [{"field": "event", "rule": "enum",
                          "message": f"event: use one of {', '.join(e.value for e in StatusEvent)}",
                          "value": event}]) from None


def _status_reason(event: StatusEvent, note: str | None) -> str:
    """The reason a status change's version records."""
    return f"status:{event.value}" + (f" ({note[:150]})" if note else "")


class PassportService:
    def __init__(self, store: Store, *, base_url: str, issuing_agency_code: str,
                 accepted_issuing_agency_codes: Iterable[str] = ()) -> None:
        self.store = store
        self.base_url = base_url
        self.iac = issuing_agency_code
        self.accepted_iacs = frozenset({issuing_agency_code, *accepted_issuing_agency_codes})
        self._model_cache = _LRU(256)  # (model_id, version) -> model data dict
        self._model_view_cache = _LRU(2048)  # (model_id, version, tiers) -> redacted dict
        self._fast = FastReader(store)
        self.audit: Any = None  # an AuditLog; reads disclosing more than the public tier are recorded there

    def _audit(self, caller: Caller, action: str, rec: PassportRecord, tiers: frozenset[Tier], channel: str) -> None:
        if self.audit is not None and caller.participant_id != rec.economic_operator_id:
            self.audit.record(caller, action, rec.id, tiers, channel)

    # ================================================================== battery models
    def create_model(self, data: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        try:
            m = BatteryModelData.model_validate(data)
        except ValidationError as exc:
            raise invalid(exc, "battery model") from None
        authorize(caller, "model.create", Resource("model", m.model_id, manufacturer=m.manufacturer_id))
        content = m.model_dump(mode="json", exclude_none=True)
        now = utcnow_iso()
        author = caller.participant_id or "admin"
        h = version_hash(passport_id=m.model_id, version=1, prev_hash=GENESIS, author=author,
                         created_at=now, reason="created", content=content)
        try:
            with translated(), self.store.write() as conn:
                if model_repo.model_exists(conn, m.model_id):
                    raise Conflict(f"battery model {m.model_id} already exists")
                if not participant_repo.participant_exists(conn, m.manufacturer_id):
                    raise InvalidData(
                        f"model.manufacturer_id: {m.manufacturer_id} is not a participant of this node; register it "
                        f"first (batteryloop participants add {m.manufacturer_id} NAME COUNTRY --role manufacturer)",
                        [{"field": "model.manufacturer_id", "rule": "participant", "value": m.manufacturer_id,
                          "message": f"model.manufacturer_id: {m.manufacturer_id} is not a participant of this node"}])
                model_repo.insert_model(conn, {
                    "id": m.model_id, "manufacturer_id": m.manufacturer_id, "chemistry": m.chemistry.value,
                    "category": m.category.value, "version": 1, "hash": h, "data": _dumps(content),
                    "created_at": now, "updated_at": now}, {
                    "model_id": m.model_id, "version": 1, "hash": h, "prev_hash": GENESIS, "author_id": author,
                    "reason": "created", "created_at": now, "data": _dumps(content)})
        except IntegrityViolation as exc:
            raise Conflict(f"battery model {m.model_id} could not be stored: {exc.orig}") from None
        return {"model_id": m.model_id, "version": 1, "hash": h, "data": content}

    def update_model(self, model_id: str, patch: Mapping[str, Any], caller: Caller,
                     reason: str = "updated") -> dict[str, Any]:
        with self.store.write() as conn:
            row = model_repo.find_model(conn, model_id)
            if row is None:
                raise NotFound(f"no battery model {model_id!r}")
            authorize(caller, "model.update", Resource("model", model_id, manufacturer=row.manufacturer_id))
            merged = merge_patch(row.data, patch)
            for key in ("model_id", "manufacturer_id"):
                if merged.get(key) != row.data.get(key):
                    raise InvalidData(f"{key} cannot change", [{"field": key, "rule": "immutable",
                                      "message": f"{key}: cannot change", "value": merged.get(key)}])
            try:
                m = BatteryModelData.model_validate(merged)
            except ValidationError as exc:
                raise invalid(exc, "battery model") from None
            content = m.model_dump(mode="json", exclude_none=True)
            now = utcnow_iso()
            author = caller.participant_id or "admin"
            v = row.version + 1
            h = version_hash(passport_id=model_id, version=v, prev_hash=row.hash, author=author,
                             created_at=now, reason=reason, content=content)
            if not model_repo.update_model(conn, model_id, row.version, {
                    "version": v, "hash": h, "data": _dumps(content), "chemistry": m.chemistry.value,
                    "category": m.category.value, "updated_at": now}):
                raise Conflict(f"battery model {model_id} changed concurrently; retry")
            model_repo.insert_model_version(conn, {
                "model_id": model_id, "version": v, "hash": h, "prev_hash": row.hash, "author_id": author,
                "reason": reason, "created_at": now, "data": _dumps(content)})
        return {"model_id": model_id, "version": v, "hash": h, "data": content}

    def _model_data(self, conn: Any, model_id: str, version: int | None = None) -> tuple[dict[str, Any], int]:
        if version is not None and (hit := self._model_cache.get((model_id, version))) is not None:
            return hit, version
        found = model_repo.model_data(conn, model_id)
        if found is None:
            raise NotFound(f"no battery model {model_id!r}")
        data, current = found
        self._model_cache.put((model_id, current), data)
        return data, current

    def model_data(self, model_id: str) -> dict[str, Any]:
        """A model's full passport data (no tier cut: for services computing from it, not for display)."""
        with self.store.read() as conn:
            return self._model_data(conn, model_id)[0]

    def get_model(self, model_id: str, caller: Caller) -> dict[str, Any]:
        with self.store.read() as conn:
            data, version = self._model_data(conn, model_id)
        tiers = model_tiers(caller, manufacturer_id=data["manufacturer_id"])
        return {"model_id": model_id, "version": version, "access_tiers": _tier_list(tiers),
                "data": redact_model(data, tiers)}

    def list_models(self, caller: Caller) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            rows = model_repo.list_models(conn)
        out = []
        for model_id, version, data in rows:
            tiers = model_tiers(caller, manufacturer_id=data["manufacturer_id"])
            out.append({"model_id": model_id, "version": version, "data": redact_model(data, tiers)})
        return out

    def model_history(self, model_id: str) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            rows = model_repo.model_versions(conn, model_id)
        if not rows:
            raise NotFound(f"no battery model {model_id!r}")
        return rows

    # ======================================================================= passports
    def _prepare(self, data: Mapping[str, Any], caller: Caller, models: dict[str, dict[str, Any]],
                 conn: Any) -> BatteryData:
        b = BatteryData.model_validate(data)
        given = b.passport_id
        self._check_issue(caller, given, b.serial_number, b.economic_operator_id, b.model_id, models, conn)
        if given is None:
            try:
                b.passport_id = UniqueIdentifier(self.iac, b.economic_operator_id, b.serial_number).text
            except ValueError as exc:
                raise InvalidData(str(exc), [{"field": "passport_id", "rule": "iso_iec_15459",
                                              "message": f"passport_id: {exc}", "value": None}]) from None
        return b

    def _check_issue(self, caller: Caller, given_id: str | None, serial: str, operator: str, model_id: str,
                     models: dict[str, dict[str, Any]], conn: Any) -> None:
        """May ``caller`` issue this passport (a valid record's id as given, or ``None``; its serial number,
        economic operator and model)? Its model is read into ``models``; a given id must name its issuer."""
        authorize(caller, "passport.issue", Resource("passport", given_id or serial, operator=operator))
        if model_id not in models:
            models[model_id] = self._model_data(conn, model_id)[0]
        if given_id is not None:
            try:
                uid = UniqueIdentifier.parse(given_id)
            except ValueError as exc:
                raise InvalidData(f"passport_id: {exc}", [{"field": "passport_id", "rule": "iso_iec_15459",
                                  "message": f"passport_id: {exc}", "value": given_id}]) from None
            self._check_identifier(uid, operator)

    def _check_identifier(self, uid: UniqueIdentifier, operator: str) -> None:
        """A passport id names its issuer: the company part is the economic operator's own id, and the
        issuing agency code is this node's (or one it accepts) — nobody issues under another's name."""
        if uid.company_id != operator.upper():
            raise InvalidData(
                f"passport_id {uid.text}: the company part {uid.company_id} is not the economic operator "
                f"{operator}: a participant issues passports only under its own id", [{
                    "field": "passport_id", "rule": "issuer_company_id", "value": uid.text,
                    "message": f"passport_id: the company part must be {operator.upper()}, not {uid.company_id}"}])
        if uid.issuing_agency_code not in self.accepted_iacs:
            raise InvalidData(
                f"passport_id {uid.text}: issuing agency code {uid.issuing_agency_code} is not this node's "
                f"({', '.join(sorted(self.accepted_iacs))}); set BATTERYLOOP_ACCEPTED_ISSUING_AGENCY_CODES to "
                "accept another agency's identifiers", [{
                    "field": "passport_id", "rule": "issuing_agency_code", "value": uid.text,
                    "message": f"passport_id: issuing agency code must be one of "
                               f"{', '.join(sorted(self.accepted_iacs))}"}])

    def _rows(self, b: BatteryData, model: Mapping[str, Any], author: str, now: str, reason: str,
              version: int = 1, prev_hash: str = GENESIS) -> tuple[dict[str, Any], dict[str, Any]]:
        row, vrow = _row_fields(b, author, now, reason, version, prev_hash)
        row["chemistry"] = model["chemistry"]
        return row, vrow

    def create_passport(self, data: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        report = self.import_passports([data], caller)
        if report.errors:
            e = report.errors[0]
            exc_cls = {403: Forbidden, 404: NotFound, 409: Conflict}.get(e.get("status", 422))
            if exc_cls is not None:
                raise exc_cls(e["message"])
            raise InvalidData(f"invalid passport: {e['message']}", e["errors"])
        return self.get_view(report.ids[0], caller)

    def import_passports(self, records: Iterable[Mapping[str, Any]], caller: Caller, *,
                         chunk: int = 5000, max_errors: int = 50, executor: Any = None) -> ImportReport:
        """Validate, version and store passports, all or nothing: one invalid record stores none.

        The report lists each invalid record (index, fields, rules) up to ``max_errors``. ``executor`` (a
        ``concurrent.futures`` process pool; the pilot's) validates big batches and builds their rows in its
        worker processes; who may issue what is decided here, as without it, and an invalid record is
        validated again here, which words its error as without it.
        """
        report = ImportReport()
        author = caller.participant_id or "admin"
        models: dict[str, dict[str, Any]] = {}
        rows: list[dict[str, Any]] = []
        vrows: list[dict[str, Any]] = []
        seen: set[str] = set()
        now = utcnow_iso()
        built: Iterator[Any] | None = None
        if executor is not None:
            records = list(records)
            if len(records) >= PARALLEL_VERSIONS_FROM and all(isinstance(r, Mapping) for r in records):
                built = self._issued_in_workers(executor, records, author, now)
        try:
            with translated(), self.store.write() as conn:
                for i, rec in enumerate(records):
                    report.received += 1
                    try:
                        if not isinstance(rec, Mapping):
                            raise InvalidData("record: a passport must be a JSON object", [])
                        done = next(built) if built is not None else None
                        if done is None:  # here (or invalid in the worker: here again, which raises the error)
                            b = self._prepare(rec, caller, models, conn)
                            pid, model_id = b.passport_id, b.model_id
                            row, vrow = _row_fields(b, author, now, "issued")
                        else:
                            given, serial, operator, model_id, row, vrow = done
                            self._check_issue(caller, given, serial, operator, model_id, models, conn)
                            pid = row["id"]
                        if pid in seen:
                            raise Conflict(f"passport {pid} appears twice in this batch")
                        seen.add(pid)  # type: ignore[arg-type]
                        row["chemistry"] = models[model_id]["chemistry"]
                        rows.append(row)
                        vrows.append(vrow)
                    except ValidationError as exc:
                        errs = from_validation_error(exc)
                        report.errors.append({"index": i, "status": 422, "message": errs[0]["message"], "errors": errs})
                    except (InvalidData, Forbidden, NotFound, Conflict) as exc:
                        report.errors.append({"index": i, "status": exc.status, "message": exc.detail,
                                              "errors": getattr(exc, "errors", [])})
                    if len(report.errors) >= max_errors:
                        break
                    if len(rows) >= chunk and not report.errors:
                        self._insert(conn, rows, vrows, report)
                        rows, vrows = [], []
                if not report.errors and rows:
                    self._insert(conn, rows, vrows, report)
                if report.errors:
                    raise _Abort
        except _Abort:
            report.stored = 0
            report.ids = []
        except IntegrityViolation as exc:  # a concurrent import stored one of these passports first
            report.errors.append({"index": 0, "status": 409, "errors": [],
                                  "message": f"a passport of this batch was stored concurrently by another "
                                             f"import; nothing of this batch was stored ({exc.orig})"[:500]})
            report.stored = 0
            report.ids = []
        return report

    def _issued_in_workers(self, executor: Any, records: list[Mapping[str, Any]], author: str,
                           now: str) -> Iterator[Any]:
        """Each record's :func:`_issued_rows` result, in order, the parts built by ``executor``'s workers (all
        sent now: the first part's results come while the others are built)."""
        items = [(dict(r), self.iac, author, now) for r in records]
        return (r for part in in_order(executor, _issued_rows, split(items)) for r in part)

    def _insert(self, conn: Any, rows: list[dict[str, Any]], vrows: list[dict[str, Any]], report: ImportReport) -> None:
        ids = [r["id"] for r in rows]
        existing = passport_repo.existing_ids(conn, ids)
        if existing:
            first = sorted(existing)[0]
            report.errors.append({"index": ids.index(first), "status": 409, "errors": [],
                                  "message": f"passport {first} already exists ({len(existing)} of this batch already exist)"})
            raise _Abort
        passport_repo.insert_passports(conn, rows, vrows)
        pack_twins.register_packs(conn, rows, self.base_url, rows[0]["created_at"])  # their registry descriptors
        report.stored += len(rows)
        report.ids.extend(ids)

    def _record(self, conn: Any, passport_id: str) -> PassportRecord:
        rec = find_record(conn, passport_id)
        if rec is None:
            raise NotFound(f"no passport {passport_id!r}")
        return rec

    def get_records(self, passport_ids: list[str]) -> dict[str, PassportRecord]:
        """Many passports' current records (missing ids are absent from the result)."""
        with self.store.read() as conn:
            return find_records(conn, passport_ids)

    def get_record(self, passport_id: str) -> PassportRecord:
        with self.store.read() as conn:
            return self._record(conn, passport_id)

    def authorize_on(self, passport_id: str, action: str, caller: Caller) -> PassportRecord:
        """Decide ``action`` on the passport with its relations' facts (custodian, delegates); raise unless
        allowed. Returns the passport's record."""
        with self.store.read() as conn:
            rec = self._record(conn, passport_id)
            authorize(caller, action, passport_resource(conn, rec))
        return rec

    def authorize_many(self, recs: Iterable[PassportRecord], action: str, caller: Caller) -> dict[str, BatteryloopError]:
        """:meth:`authorize_on` for many passports' records, with one custody and one delegation query: the
        refusal of each passport on which ``caller`` may not do ``action`` (the allowed ones are absent)."""
        recs = list(recs)
        if not recs:
            return {}
        with self.store.read() as conn:
            res = passport_resources(conn, recs)
        out = {}
        for rec in recs:
            d = decide(caller, action, res[rec.id])
            if not d:
                out[rec.id] = deny(caller.anonymous, d.reason)
        return out

    def tiers_for(self, rec: PassportRecord, caller: Caller) -> frozenset[Tier]:
        return battery_tiers(caller, economic_operator_id=rec.economic_operator_id, owner_id=rec.owner_id)

    def get_view(self, passport_id: str, caller: Caller, channel: str = "api") -> dict[str, Any]:
        """The passport as ``caller`` may see it: battery and model data cut to the caller's tiers.

        The hot path: one primary-key SELECT through :class:`FastReader`; the model's cut view is
        cached per (model, model version, tiers), so a model change is seen at once.
        """
        return self.view_state(passport_id, caller, channel)[1]()

    def view_state(self, passport_id: str, caller: Caller, channel: str = "api"
                   ) -> tuple[tuple[Any, ...], Callable[[], dict[str, Any]]]:
        """:meth:`get_view` in two steps, for readers that keep what they make of a view (the AAS API): the
        read (audited) gives a key that changes whenever the view would — the record's version, hash,
        status and owner, the model's version, the tiers — and a function that builds the view."""
        rec = passport_repo.fast_find_record(self._fast, passport_id)
        if rec is None:
            raise NotFound(f"no passport {passport_id!r}")
        tiers = self.tiers_for(rec, caller)
        model = self._model_cache.get((rec.model_id, rec.model_version))
        if model is None:
            with self.store.read() as conn:
                model, _ = self._model_data(conn, rec.model_id, rec.model_version)
        mt = model_cut(rec, model, tiers, caller)
        self._audit(caller, "read", rec, tiers, channel)

        def build() -> dict[str, Any]:
            key = (rec.model_id, rec.model_version, mt)
            model_view = self._model_view_cache.get(key)
            if model_view is None:
                model_view = redact_model(model, mt)
                self._model_view_cache.put(key, model_view)
            return self.view(rec, tiers, model_view)

        return (rec.id, rec.version, rec.hash, rec.status, rec.owner_id, rec.archived, rec.successor_id,
                rec.model_id, rec.model_version, tiers, mt), build

    def view(self, rec: PassportRecord, tiers: frozenset[Tier], model_view: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "passport_id": rec.id,
            "web_link": web_link(self.base_url, rec.id),
            "version": rec.version,
            "version_hash": rec.hash,
            "archived": rec.archived,
            "access_tiers": _tier_list(tiers),
            "battery": redact_battery(rec.data, tiers),
            "model": model_view,
        }

    def export(self, passport_id: str, tiers: frozenset[Tier], caller: Caller | None = None,
               channel: str = "export") -> dict[str, Any]:
        """A passport cut to explicit tiers (for files and transfers); audited when ``caller`` is given."""
        with self.store.read() as conn:
            rec = self._record(conn, passport_id)
            model, _ = self._model_data(conn, rec.model_id, rec.model_version)
            changed = passport_repo.last_change(conn, passport_id, rec.model_id)
        if caller is not None:
            self._audit(caller, "export", rec, tiers, channel)
        view = self.view(rec, tiers, redact_model(model, model_cut(rec, model, tiers, caller)))
        # the time of the passport's last change (its own record's or its model's, whichever is later): the
        # standards' "last update" (DppMetadata.lastUpdate, Catena-X metadata.lastModification), not the export time
        view["last_change"] = changed
        return view

    def last_change(self, passport_id: str) -> str | None:
        """When the passport last changed (its record or its model, the later; ISO 8601 UTC), as
        :meth:`export` gives it: the standards' "last update"."""
        with self.store.read() as conn:
            rec = self._record(conn, passport_id)
            return passport_repo.last_change(conn, passport_id, rec.model_id)

    # ------------------------------------------------------------------ updates
    def update_passport(self, passport_id: str, patch: Mapping[str, Any], caller: Caller, *,
                        reason: str = "updated", expected_version: int | None = None,
                        action: str = "passport.update") -> dict[str, Any]:
        """Apply a JSON merge patch to the battery data, as a new version.

        ``action`` is the policy action the write is authorized as: ``passport.update`` (the economic
        operator, any field but the immutable ones) or ``health.soh.write`` (also the pack's custodian and
        delegated service providers, only :data:`DYNAMIC_HEALTH_FIELDS`)."""
        _refuse_immutable(patch)

        def tx(conn: Any) -> PassportRecord:
            rec = self._record(conn, passport_id)
            _check_writable(rec, caller, action, conn, patch)
            if expected_version is not None and expected_version != rec.version:
                raise Conflict(f"passport {passport_id} is at version {rec.version}, not {expected_version}")
            values = self._new_version(conn, rec, merge_patch(rec.data, patch), caller, reason)
            return PassportRecord(rec.id, rec.model_id, rec.economic_operator_id, values["owner_id"],
                                  values["status"], bool(values["archived"]), values["successor_id"],
                                  values["version"], values["hash"], orjson.loads(values["data"]), rec.model_version)

        # a deadlock or serialization failure runs it again, re-reading the passport; the answer is the version
        # this call wrote (never a later one another writer made meanwhile)
        new = self.store.run_write(tx)
        return self._view_of(new, caller)

    def _view_of(self, rec: PassportRecord, caller: Caller) -> dict[str, Any]:
        tiers = self.tiers_for(rec, caller)
        with self.store.read() as conn:
            model, _ = self._model_data(conn, rec.model_id, rec.model_version)
        return self.view(rec, tiers, redact_model(model, model_cut(rec, model, tiers, caller)))

    def update_passports(self, patches: Mapping[str, Mapping[str, Any]], caller: Caller, *,
                         reason: str = "updated", action: str = "passport.update",
                         executor: Any = None) -> dict[str, int]:
        """Apply a JSON merge patch to many passports (e.g. a fleet's yearly BMS figures), all or nothing.

        The same rules as :meth:`update_passport` for each (``action`` as there: ``health.soh.write`` lets a
        pack's custodian write its dynamic health fields); one transaction; the first refusal names the
        passport and rolls every patch back. Returns the versions written (passport id → its new version).
        ``executor`` (a ``concurrent.futures`` process pool; the pilot's) validates and hashes the new versions of
        big batches in its worker processes; who may write what is decided here first, as without it.
        """
        for pid, patch in patches.items():
            _refuse_immutable(patch, f"passport {pid}: ")
        ids = list(patches)

        parallel = executor is not None and len(ids) >= PARALLEL_VERSIONS_FROM
        author = caller.participant_id or "admin"

        def prepare(conn: Any, part: list[str]) -> tuple[Any, ...]:
            """The part's records and relations read, who may write what decided, and (in parallel) its versions
            sent to the workers. A refusal is kept and raised at the part's turn (after the parts before it)."""
            try:
                # in parallel, each passport's data stays text here: the workers parse it (it is read here only
                # for a refusal's message or a custodian's facts)
                recs = find_records(conn, part, lazy=parallel)
                missing = next((pid for pid in part if pid not in recs), None)
                if missing is not None:
                    raise NotFound(f"no passport {missing!r}")
                # the relations' facts of the whole part in two queries (custody, delegations), not two per passport
                res = passport_resources(conn, recs.values()) if action != "passport.update" else {}
                built: InOrder | None = None
                if parallel:  # who may write what first, for all; then the versions, built in the workers
                    for pid in part:
                        _check_writable(recs[pid], caller, action, conn, patches[pid], res.get(pid))
                    items = [(_data_or_text(recs[pid]), patches[pid], author, utcnow_iso(), reason,
                              recs[pid].version + 1, recs[pid].hash) for pid in part]
                    built = in_order(executor, _patched_versions, split(items))
                return part, recs, res, built, None
            except BatteryloopError as exc:  # refused (not found, forbidden, read-only): at its turn
                return part, None, None, None, exc

        def finish(conn: Any, prepared: tuple[Any, ...], written: dict[str, int]) -> None:
            part, recs, res, parts_built, refused = prepared
            if refused is not None:
                raise refused
            built = [r for p in parts_built for r in p] if parts_built is not None else [None] * len(part)
            rows: list[tuple[str, int, dict[str, Any]]] = []
            vrows = []
            serials: list[str | None] = []
            for pid, done in zip(part, built, strict=True):
                rec = recs[pid]
                if done is None:  # serially, or an invalid patch: here, which raises the error
                    if not parallel:
                        _check_writable(rec, caller, action, conn, patches[pid], res.get(pid))
                    values, vrow = self._version_rows(conn, rec, merge_patch(rec.data, patches[pid]), caller, reason)
                    serial = rec.data.get("serial_number")
                else:
                    row, vrow = done
                    values = {k: row[k] for k in _VERSION_COLUMNS}
                    values["archived"] = False
                    serial = row["serial_number"]  # immutable: the record's (its data is not parsed here)
                rows.append((rec.id, rec.version, values))
                vrows.append(vrow)
                serials.append(serial)
            # one prepared UPDATE for the batch; the version guard still refuses a passport changed meanwhile
            changed = passport_repo.update_current_many(conn, rows)
            if changed is not None and changed >= 0 and changed != len(rows):
                raise Conflict("a passport of this batch changed concurrently; read them again and retry")
            passport_repo.insert_versions(conn, vrows)
            self._refresh_twins(conn, [(recs[pid], values, serial)
                                       for (pid, _, values), serial in zip(rows, serials, strict=True)])
            written.update((pid, values["version"]) for pid, _, values in rows)

        def tx(conn: Any) -> dict[str, int]:
            written: dict[str, int] = {}
            step = PARALLEL_VERSIONS_PART if parallel else 500
            # in parallel, the next part is read, checked and sent to the workers before this one's versions are
            # awaited: the workers build them while this process reads and writes (the parts' passports differ:
            # a part's writes do not change what the next one reads)
            ahead = 1 if parallel else 0
            pending: deque[tuple[Any, ...]] = deque()
            try:
                for i in range(0, len(ids), step):
                    pending.append(prepare(conn, ids[i:i + step]))
                    if len(pending) > ahead:
                        finish(conn, pending.popleft(), written)
                while pending:
                    finish(conn, pending.popleft(), written)
            finally:  # refused: the versions the workers have not started building are not built
                for p in pending:
                    if p[3] is not None:
                        p[3].close()
            return written

        return self.store.run_write(tx)  # like update_passport: a transient failure runs the batch again

    def _version_rows(self, conn: Any, rec: PassportRecord, content: Mapping[str, Any], caller: Caller, reason: str,
                      *, archive: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            b = BatteryData.model_validate(content)
        except ValidationError as exc:
            raise invalid(exc, f"passport {rec.id} update") from None
        self._model_data(conn, rec.model_id, rec.model_version)  # its model is still there (as before)
        row, vrow = _row_fields(b, caller.participant_id or "admin", utcnow_iso(), reason, rec.version + 1, rec.hash,
                                changed_only=True)
        values = {k: row[k] for k in _VERSION_COLUMNS}
        values["archived"] = archive
        return values, vrow

    def _new_version(self, conn: Any, rec: PassportRecord, content: Mapping[str, Any], caller: Caller,
                     reason: str, *, archive: bool = False) -> dict[str, Any]:
        values, vrow = self._version_rows(conn, rec, content, caller, reason, archive=archive)
        if not passport_repo.update_current(conn, rec.id, rec.version, values):
            raise Conflict(f"passport {rec.id} changed concurrently; read it again and retry")
        passport_repo.insert_version(conn, vrow)
        self._refresh_twins(conn, [(rec, values, rec.data.get("serial_number"))])
        return values

    def _refresh_twins(self, conn: Any, changed: list[tuple[PassportRecord, Mapping[str, Any], str | None]]) -> None:
        """Rewrite the registry descriptors of the passports among ``changed`` (record before, new version's
        values, serial number) whose change the descriptor carries (:func:`pack_twins.pack_descriptor_changes`)."""
        rows = []
        for rec, values, serial in changed:
            old = {"serial_number": serial, "model_id": rec.model_id,
                   "economic_operator_id": rec.economic_operator_id, "owner_id": rec.owner_id}
            new = {**old, "owner_id": values["owner_id"]}  # the others are immutable (_IMMUTABLE)
            if pack_twins.pack_descriptor_changes(old, new):
                rows.append({"id": rec.id, **new})
        if rows:
            pack_twins.refresh_packs(conn, rows, self.base_url)

    def change_status(self, passport_id: str, event: StatusEvent | str, caller: Caller, *,
                      new_serial_number: str | None = None, new_model_id: str | None = None,
                      note: str | None = None) -> dict[str, Any]:
        """Re-use, repair, repurpose, remanufacture, waste or recycle a battery (Art. 77(7)-(8)).

        Repurposing and remanufacturing issue a new passport (operated by the caller) linked to this
        one, which becomes read-only; recycling archives the passport.
        """
        ev = _status_event(event)
        reason = _status_reason(ev, note)
        return self.get_view(self.store.run_write(
            lambda conn: self._change_status(conn, passport_id, ev, caller, reason, new_serial_number,
                                             new_model_id)), caller)

    def change_statuses(self, passport_ids: list[str], event: StatusEvent | str, caller: Caller, *,
                        note: str | None = None) -> dict[str, str]:
        """:meth:`change_status` for many passports in one transaction, all or nothing (the first refusal rolls
        every change back); returns passport id → the id that carries on (the new one after a repurpose or a
        remanufacture, with its default serial number)."""
        return dict(zip(passport_ids, self.change_statuses_in_order([(pid, event, caller, note) for pid in passport_ids]),
                        strict=True))

    def change_statuses_in_order(self, changes: list[tuple[Any, ...]]) -> list[str]:
        """:meth:`change_status` for each ``(passport id, event, caller, note)`` — or ``(…, note, new_model_id)``:
        the model of the new passport a repurpose or a remanufacture issues, as :meth:`change_status`'s — in the
        order given, in one transaction, all or nothing (the first refusal rolls every change back; a later change
        of the same passport sees the earlier one); returns, for each, the id that carries on (the new passport
        after a repurpose or a remanufacture, with its default serial number). A seeding batch's many status
        changes, each checked as :meth:`change_status` checks it, without a transaction and a view per change."""
        items = []
        for change in changes:
            pid, event, caller, note = change[:4]
            new_model_id = change[4] if len(change) > 4 else None
            ev = _status_event(event)
            items.append((pid, ev, caller, _status_reason(ev, note), new_model_id))
        counts = Counter(pid for pid, _, _, _, _ in items)

        def tx(conn: Any) -> list[str]:
            # the records and relations' facts of the passports changed once in the batch, read in a few queries
            # at its start: a change writes only its own passport (and a new one), so what the others' checks
            # read is what they would read one by one; a passport changed twice, or new, is read when its turn comes
            recs = find_records(conn, [pid for pid, n in counts.items() if n == 1])
            res = passport_resources(conn, recs.values())
            return [self._change_status(conn, pid, ev, caller, reason, None, new_model_id, recs.get(pid), res.get(pid))
                    for pid, ev, caller, reason, new_model_id in items]

        return self.store.run_write(tx)

    def _change_status(self, conn: Any, passport_id: str, event: StatusEvent, caller: Caller, reason: str,
                       new_serial_number: str | None, new_model_id: str | None,
                       rec: PassportRecord | None = None, resource: Resource | None = None) -> str:
        """``rec`` and ``resource``: the passport's record and relations' facts when the caller read them already
        (in this transaction)."""
        rec = rec if rec is not None else self._record(conn, passport_id)
        # who first, then the lifecycle: a refusal of the transition would tell a stranger the status
        authorize(caller, f"passport.status.{event.value}",
                  resource if resource is not None else passport_resource(conn, rec))
        try:
            t = check_transition(event, BatteryStatus(rec.status), archived=rec.archived,
                                 successor_id=rec.successor_id)
        except LifecycleError as exc:
            raise Conflict(str(exc)) from None
        if not t.new_passport:
            content = dict(rec.data)
            if t.new_status is not None:
                content["status"] = t.new_status.value
            self._new_version(conn, rec, content, caller, reason, archive=t.archive)
            new_id = passport_id
        else:
            if caller.participant_id is None:
                raise InvalidData("a new passport needs a participant as its economic operator: the node admin is "
                                  "none; sign in as the participant that operates the new passport", [{
                                      "field": "caller", "rule": "participant", "value": None,
                                      "message": "caller: the economic operator of the new passport"}])
            serial = new_serial_number or successor_serial_number(rec.data["serial_number"], event)
            new = {k: v for k, v in rec.data.items() if k in ("manufacture_date", "manufacture_country",
                                                              "manufacture_site", "mass_kg", "putting_into_service_date",
                                                              "state_of_health", "usage")}
            # no recycled content on the new passport: Art. 8 declares it for a battery made new, per model, plant
            # and year, and Art. 8(4) lifts the obligation for re-used, repurposed and remanufactured batteries;
            # the original battery's declaration stays on the passport this one supersedes (predecessor_ids)
            new.update({"serial_number": serial, "model_id": new_model_id or rec.model_id,
                        "economic_operator_id": caller.participant_id, "status": t.new_status.value,  # type: ignore[union-attr]
                        "predecessor_ids": [passport_id]})
            try:
                b = self._prepare(new, caller, {}, conn)
            except ValidationError as exc:
                raise invalid(exc, "new passport") from None
            if passport_repo.passport_exists(conn, b.passport_id):  # type: ignore[arg-type]
                raise Conflict(f"passport {b.passport_id} already exists: give another new_serial_number")
            model, _ = self._model_data(conn, b.model_id)
            row, vrow = self._rows(b, model, caller.participant_id, utcnow_iso(), reason)
            passport_repo.insert_passport(conn, row, vrow)
            pack_twins.register_packs(conn, [row], self.base_url, row["created_at"])
            old = dict(rec.data)
            old["successor_id"] = b.passport_id
            self._new_version(conn, rec, old, caller, f"superseded by {b.passport_id} ({event.value})")
            new_id = b.passport_id  # type: ignore[assignment]
        return new_id

    # ------------------------------------------------------------------ versions
    def _versions(self, conn: Any, passport_id: str) -> list[StoredVersion]:
        rows = passport_repo.versions(conn, passport_id)
        if not rows:
            raise NotFound(f"no passport {passport_id!r}")
        return [StoredVersion(r.passport_id, r.version, r.hash, r.prev_hash, r.author_id, r.created_at, r.reason,
                              r.data) for r in rows]

    def _history_detail(self, rec: PassportRecord, caller: Caller) -> bool:
        """Whether ``caller`` may see who wrote each version and why (authors are the pack's holders, reasons
        name statuses and fault logs): the economic operator, authorities, the admin."""
        return bool(decide(caller, "passport.history.detail",
                           Resource("passport", rec.id, operator=rec.economic_operator_id)))

    def history(self, passport_id: str, caller: Caller | None = None) -> list[dict[str, Any]]:
        """The version chain (numbers, hashes, times: enough to check it); authors and reasons only to
        those :meth:`_history_detail` allows."""
        with self.store.read() as conn:
            rec = self._record(conn, passport_id)
            vs = self._versions(conn, passport_id)
        detail = caller is None or self._history_detail(rec, caller)  # None: the node's own use, in full
        out = []
        for v in vs:
            item: dict[str, Any] = {"version": v.version, "hash": v.hash, "prev_hash": v.prev_hash,
                                    "created_at": v.created_at}
            if detail:
                item.update(author=v.author, reason=v.reason)
            out.append(item)
        return out

    def version_view(self, passport_id: str, version: int, caller: Caller) -> dict[str, Any]:
        with self.store.read() as conn:
            rec = self._record(conn, passport_id)
            vs = {v.version: v for v in self._versions(conn, passport_id)}
        if version not in vs:
            raise NotFound(f"passport {passport_id} has no version {version} (it has 1..{rec.version})")
        v = vs[version]
        tiers = self.tiers_for(rec, caller)
        self._audit(caller, f"read_version_{version}", rec, tiers, "api")
        out: dict[str, Any] = {"passport_id": passport_id, "version": version, "hash": v.hash,
                               "prev_hash": v.prev_hash, "created_at": v.created_at}
        if self._history_detail(rec, caller):
            out.update(author=v.author, reason=v.reason)
        return {**out, "access_tiers": _tier_list(tiers), "battery": redact_battery(v.content, tiers)}

    def diff(self, passport_id: str, a: int, b: int, caller: Caller) -> dict[str, Any]:
        va = self.version_view(passport_id, a, caller)
        vb = self.version_view(passport_id, b, caller)
        return {"passport_id": passport_id, "from": a, "to": b, "changes": diff(va["battery"], vb["battery"])}

    def verify(self, passport_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            rec = self._record(conn, passport_id)
            vs = self._versions(conn, passport_id)
        problems = [{"version": p.version, "reason": p.reason} for p in verify_chain(vs)]
        last = vs[-1]
        if last.hash != rec.hash or last.version != rec.version:
            problems.append({"version": rec.version, "reason": "the passport's current hash is not its last version's"})
        elif orjson.loads(_dumps(last.content)) != rec.data:
            problems.append({"version": rec.version, "reason": "the current data differs from the last version"})
        return {"passport_id": passport_id, "versions": len(vs), "ok": not problems, "problems": problems}

    # ------------------------------------------------------------------ search
    def search(self, caller: Caller, *, model_id: str | None = None, chemistry: str | None = None,
               status: str | None = None, economic_operator_id: str | None = None,
               manufacture_country: str | None = None, manufactured_from: dt.date | None = None,
               manufactured_to: dt.date | None = None, manufacture_site: str | None = None, after: str | None = None,
               limit: int = 50) -> dict[str, Any]:
        """Filtered, keyset-paginated passports (ordered by id), each cut to the caller's tiers (``manufacture_site``:
        the plant, public data like the country).

        Filtering by ``status`` needs the legitimate-interest tier in general (recycler, repairer,
        second-life operator, authority, admin): otherwise the filter itself would leak the status.
        """
        limit = max(1, min(limit, 500))
        if status is not None:
            general = battery_tiers(caller, economic_operator_id=None, owner_id=None)
            own = economic_operator_id is not None and economic_operator_id == caller.participant_id
            if Tier.LEGITIMATE_INTEREST not in general and not own and not caller.is_admin:
                raise deny(caller.anonymous, "filtering by status needs legitimate interest (status is not public "
                           "data); filter by your own economic_operator_id, or use a role that has it")
        with self.store.read() as conn:
            rows = passport_repo.search(
                conn, status=status, model_id=model_id, chemistry=chemistry, economic_operator_id=economic_operator_id,
                manufacture_country=manufacture_country.upper() if manufacture_country else None,
                manufactured_from=manufactured_from, manufactured_to=manufactured_to, manufacture_site=manufacture_site,
                after=after, limit=limit + 1)
        items = []
        for r in rows[:limit]:
            tiers = battery_tiers(caller, economic_operator_id=r.economic_operator_id, owner_id=r.owner_id)
            if self.audit is not None and caller.participant_id != r.economic_operator_id:
                self.audit.record(caller, "search", r.id, tiers, "api")
            items.append({"passport_id": r.id, "web_link": web_link(self.base_url, r.id), "version": r.version,
                          "archived": bool(r.archived), "battery": redact_battery(r.data, tiers)})
        nxt = rows[limit - 1].id if len(rows) > limit else None
        return {"items": items, "next": nxt, "limit": limit}

    def latest_year(self, model_id: str | None = None) -> int | None:
        """The year of the latest manufacture date among the stored passports (of one model): the year a report
        about them defaults to. None when there are none."""
        with self.store.read() as conn:
            d = passport_repo.latest_manufacture_date(conn, model_id)
        return d.year if d else None

    def count(self, caller: Caller | None = None) -> dict[str, Any]:
        """Counts of models and passports by chemistry; by status only for callers holding the
        legitimate-interest tier in general (a battery's status is not public data). ``None``: the node's
        own use (reports), in full."""
        with self.store.read() as conn:
            total = passport_repo.count_passports(conn)
            by_chem = passport_repo.count_by_chemistry(conn)
            models = model_repo.count_models(conn)
            out: dict[str, Any] = {"passports": total, "models": models, "by_chemistry": by_chem}
            if caller is None or Tier.LEGITIMATE_INTEREST in general_tiers(caller):
                out["by_status"] = passport_repo.count_by_status(conn)
        return out

    def fleet_health(self, caller: Caller, *, max_rows: int = 50_000) -> dict[str, Any]:
        """State-of-health figures of the packs whose legitimate-interest data ``caller`` may read.

        Per chemistry: the SoH values (for a histogram) and their mean; counts by status. Only packs
        where the caller holds the legitimate-interest tier count, so an anonymous caller gets none.
        """
        general = battery_tiers(caller, economic_operator_id=None, owner_id=None)
        holder = None
        if Tier.LEGITIMATE_INTEREST not in general:
            if caller.participant_id is None:
                return {"packs": 0, "by_chemistry": {}}
            holder = caller.participant_id
        by_chem: dict[str, dict[str, Any]] = {}
        n = 0
        with self.store.read() as conn:
            for r in passport_repo.current_passports(conn, holder=holder, limit=max_rows):
                soh = (r.data.get("state_of_health") or {}).get("soh_capacity_pct")
                entry = by_chem.setdefault(r.chemistry, {"soh_pct": [], "by_status": {}})
                entry["by_status"][r.status] = entry["by_status"].get(r.status, 0) + 1
                if soh is not None:
                    entry["soh_pct"].append(soh)
                n += 1
        for entry in by_chem.values():
            vals = entry["soh_pct"]
            entry["mean_soh_pct"] = round(sum(vals) / len(vals), 2) if vals else None
        return {"packs": n, "by_chemistry": by_chem}

    def page_ids(self, *, after: str | None = None, limit: int = 100, passport_id: str | None = None,
                 serial_number: str | None = None, model_name: str | None = None, model_id: str | None = None,
                 manufacture_country: str | None = None, global_asset_id: str | None = None) -> list[str]:
        """Passport ids by id after ``after`` (at most ``limit``) matching every filter given: public facts
        only (serial number, model id or name, country of manufacture), so the filter itself discloses nothing."""
        with self.store.read() as conn:
            model_ids: set[str] | None = None
            if model_name is not None:
                model_ids = {mid for mid, _, data in model_repo.list_models(conn) if data.get("model_name") == model_name}
            if model_id is not None:
                model_ids = {model_id} if model_ids is None else model_ids & {model_id}
            return passport_repo.page_ids(conn, after=after, limit=limit, passport_id=passport_id,
                                          serial_number=serial_number, model_ids=model_ids,
                                          manufacture_country=manufacture_country, global_asset_id=global_asset_id)

    def iter_ids(self) -> Iterator[str]:
        with self.store.read() as conn:
            yield from passport_repo.iter_ids(conn)


def model_cut(rec: PassportRecord, model: Mapping[str, Any], tiers: frozenset[Tier], caller: Caller | None
              ) -> frozenset[Tier]:
    """The tiers a passport's *model* part is cut to: the reader's tiers on the battery, but only as far as its
    relation to the model's manufacturer gives (Annex XIII keeps model data per model): issuing a passport on
    someone else's model gives no more of that model than one's role does. ``None`` (a transfer cut to
    explicit tiers): the tiers as given."""
    if caller is None:
        return tiers
    return tiers & battery_tiers(caller, economic_operator_id=model["manufacturer_id"], owner_id=rec.owner_id)


def _tier_list(tiers: frozenset[Tier]) -> list[str]:
    return [t.value for t in TIER_ORDER if t in tiers]


__all__ = ["ALL_TIERS", "ImportReport", "PassportRecord", "PassportService", "merge_patch"]


def parse_defaults(items: list[str], option: str = "default") -> dict[str, Any]:
    """``KEY=VALUE`` options (an import's ``default``s, an export's ``bpnl`` map) as a dict; a malformed one
    is refused, naming it and the form it needs."""
    values: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidData(f"{option} {item!r} is not KEY=VALUE", [{"field": option, "rule": "key_value",
                              "message": f"{option}: {item!r} is not KEY=VALUE", "value": item}])
        values[key.strip()] = value.strip()
    return values


def import_standard_payload(svc: PassportService, caller: Caller, payload: bytes | str | Mapping[str, Any], *,
                            fmt: str = "auto", lenient: bool = False,
                            defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Import one passport in a standard format (Catena-X, IDTA SAMM, AAS JSON, AASX, Battery Pass) and store it.

    The battery model is registered first if it is new (the caller must be its manufacturer); a model already
    stored is kept, and the payload's model data are checked against it (:func:`_check_model_conflicts`:
    refused in strict mode, reported in ``report.conflicts`` in lenient mode). The passport is checked before
    anything is written, so a refused import stores nothing.
    """
    from .. import formats

    if fmt != "auto" and fmt not in formats.names():
        raise InvalidData(f"unknown format {fmt!r}", [{"field": "format", "rule": "enum", "value": fmt,
                          "message": f"format: use auto or one of {', '.join(formats.names())}"}])
    res = formats.import_passport(payload, fmt, lenient=lenient, defaults=defaults)
    model, battery = res.require()
    model_data = model.model_dump(mode="json", exclude_none=True)
    battery_data = battery.model_dump(mode="json", exclude_none=True)
    authorize(caller, "passport.issue", Resource("passport", battery.passport_id or battery.serial_number,
                                                  operator=battery.economic_operator_id))
    created_model = False
    try:
        stored = svc.model_data(model.model_id)  # one read: whether it exists, and what to check against
    except NotFound:
        stored = None
    if stored is None:
        svc.create_model(model_data, caller)
        created_model = True
    else:
        _check_model_conflicts(res.report, model.model_id, model_data, stored, lenient)
    view = svc.create_passport(battery_data, caller)
    return {"passport": view, "model_created": created_model, "report": res.report.to_dict()}


def _same(a: Any, b: Any) -> bool:
    """Equal as passport data: numbers to 1e-9 (a unit conversion on the way), lists and objects item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        keys = {k for k, v in a.items() if v is not None} | {k for k, v in b.items() if v is not None}
        return all(_same(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _check_model_conflicts(report: Any, model_id: str, given: Mapping[str, Any], stored: Mapping[str, Any],
                           lenient: bool) -> None:
    """The payload's model data against the model this node already stores under the same id: the stored
    model stays (a passport import does not rewrite a model its manufacturer registered). A differing value
    is refused in strict mode, naming the field and both values; lenient mode imports the passport against
    the stored model and lists each differing value in ``report.conflicts``. Values the stored model does not
    hold are listed there too (rule ``model:not_stored``), in either mode: nothing is dropped silently."""
    errors = []
    for key, value in given.items():
        if key == "model_id" or value in (None, [], {}):
            continue
        have = stored.get(key)
        if have in (None, [], {}):
            report.conflicts.append({"field": f"model.{key}", "rule": "model:not_stored", "value": value,
                                     "stored": None, "message": f"model.{key}: the payload gives {value!r}; the "
                                     f"stored model {model_id} has none and is kept as stored (update the model "
                                     "to add it)"})
            continue
        if _same(value, have):
            continue
        e = {"field": f"model.{key}", "rule": "model:conflict", "value": value, "stored": have,
             "message": f"model.{key}: the payload gives {value!r}, the stored model {model_id} has {have!r}"}
        errors.append(e)
        report.conflicts.append({**e, "message": e["message"] + " (the stored value is kept)"})
    if errors and not lenient:
        raise InvalidData(f"the payload's model data conflict with the stored model {model_id}: "
                          + "; ".join(e["message"] for e in errors[:5])
                          + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")
                          + "; import leniently to keep the stored model and list the differences", errors)
