"""Lifecycle events: one typed schema per kind, from the mine to the recycler and back.

An event names its actor (a registered participant), its time (UTC), its place (country and site),
the subjects it concerns (packs, modules, cell batches, lots), the lots it consumes (``inputs``, with
the mass taken from each) and the lots it produces (``outputs``, with mass, element contents and,
for lots that enter the loop, their origin). ``data`` holds the kind's own fields, checked by the
kind's schema in :data:`PAYLOADS`.

``prev`` links the event into the hash chain of every subject it touches (its ``subjects`` plus its
inputs and outputs): for each, the hash of that subject's previous event, or :data:`GENESIS`.
The actor signs the SHA-256 of the canonical form (:func:`normalize`), ``prev`` included, so that
removing, reordering or inserting an event breaks a signed link.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from ..errors import InvalidData, from_validation_error
from ..passport.validators import normalize_participant_id, validate_country
from .canonical import GENESIS, canonical_json, sha256_hex

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,99}$")
HASH_RE = re.compile(r"^[0-9a-f]{64}$")


class Element(StrEnum):
    """The elements a lot's content is declared for (graphite counted as the material)."""

    Li = "Li"
    Ni = "Ni"
    Co = "Co"
    Mn = "Mn"
    Cu = "Cu"
    Al = "Al"
    Fe = "Fe"
    graphite = "graphite"
    Pb = "Pb"


RECYCLED_CONTENT_ELEMENTS = ("Co", "Li", "Ni", "Pb")  # Art. 8 of Regulation (EU) 2023/1542


class OriginType(StrEnum):
    PRIMARY = "primary"  # mined
    PRE_CONSUMER = "pre_consumer"  # recovered from manufacturing waste (scrap)
    POST_CONSUMER = "post_consumer"  # recovered from used batteries


class LotKind(StrEnum):
    ORE = "ore"  # mine lot / concentrate
    MATERIAL = "material"  # refined material, precursor, cathode or anode active material
    SCRAP = "scrap"
    BLACK_MASS = "black_mass"
    CELL_BATCH = "cell_batch"
    MODULE = "module"
    PACK = "pack"


class EventKind(StrEnum):
    EXTRACTION = "extraction"
    REFINING = "refining"
    PRECURSOR_PRODUCTION = "precursor_production"
    CATHODE_PRODUCTION = "cathode_production"
    CELL_PRODUCTION = "cell_production"
    MODULE_ASSEMBLY = "module_assembly"
    PACK_ASSEMBLY = "pack_assembly"
    PASSPORT_ISSUED = "passport_issued"
    INSTALLATION = "installation"
    CHANGE_OF_OWNER = "change_of_owner"
    SOH_UPDATE = "soh_update"
    REPAIR = "repair"
    SWAP = "swap"
    REMOVAL = "removal"
    RETIREMENT_TEST = "retirement_test"
    REUSE = "reuse"
    REPURPOSING = "repurposing"
    REMANUFACTURING = "remanufacturing"
    COLLECTION = "collection"
    TRANSPORT = "transport"
    EXPORT = "export"
    DISMANTLING = "dismantling"
    RECYCLING = "recycling"
    MATERIAL_RECOVERY = "material_recovery"
    ANNOTATION = "annotation"  # an authority's or notified body's note on a subject (no custody change)


TRANSFORMATIONS = frozenset({
    EventKind.REFINING, EventKind.PRECURSOR_PRODUCTION, EventKind.CATHODE_PRODUCTION,
    EventKind.CELL_PRODUCTION, EventKind.MODULE_ASSEMBLY, EventKind.PACK_ASSEMBLY,
    EventKind.DISMANTLING, EventKind.RECYCLING, EventKind.MATERIAL_RECOVERY,
})
"""Kinds that consume input lots and produce output lots (conservation is checked per element)."""

END_OF_LIFE = frozenset({EventKind.DISMANTLING, EventKind.RECYCLING, EventKind.MATERIAL_RECOVERY})


def _utc_text(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("time must carry a time zone (e.g. 2026-11-26T03:48:11Z)")
    return value.astimezone(dt.UTC)


def _utc_z(v: dt.datetime) -> str:
    """The canonical text of a time: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, ``strftime``'s — written faster by ``isoformat``
    for the four-digit years (``YYYY-MM-DDTHH:MM:SS``, then ``.ffffff`` unless the microseconds are 0, then the
    offset if any)."""
    if type(v) is dt.datetime and v.year >= 1000:
        return v.isoformat()[:26] + "Z" if v.microsecond else v.isoformat()[:19] + ".000000Z"
    return v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


UtcTime = Annotated[
    dt.datetime,
    AfterValidator(_utc_text),
    PlainSerializer(_utc_z, return_type=str),
]
# the same few countries and participants in event after event: each text checked once (the checks are pure functions
# of the text; an invalid one raises each time, as the cache keeps only answers)
Country = Annotated[str, AfterValidator(functools.lru_cache(maxsize=1024)(validate_country))]
ParticipantId = Annotated[str, AfterValidator(functools.lru_cache(maxsize=4096)(normalize_participant_id))]


def _check_id(value: str) -> str:
    if not ID_RE.match(value):
        raise ValueError(f"{value!r} is not an id: 1-100 characters, letters, digits and ._:/#- , "
                         "starting with a letter or digit")
    return value


Id = Annotated[str, AfterValidator(_check_id)]
Kg = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Place(_Strict):
    country: Country
    site: str = Field(min_length=1, max_length=200)


class Origin(_Strict):
    """Where a lot's material enters the loop: a mine, or a recycler that certified it as recycled."""

    type: OriginType
    country: Country
    site: str = Field(min_length=1, max_length=200)
    certified_by: ParticipantId | None = None

    @model_validator(mode="after")
    def _recycled_needs_certifier(self) -> Origin:
        if self.type is not OriginType.PRIMARY and self.certified_by is None:
            raise ValueError(f"a {self.type.value} lot needs certified_by: the recycler that certified it")
        return self


class LotInput(_Strict):
    """A lot consumed by the event, and the mass taken from it."""

    lot: Id
    mass_kg: Kg


class LotOutput(_Strict):
    """A lot produced by the event."""

    lot: Id
    kind: LotKind
    mass_kg: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    elements_kg: dict[Element, Kg] = Field(default_factory=dict)
    origin: Origin | None = None
    material: str | None = Field(None, max_length=100)
    model_id: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _elements_within_mass(self) -> LotOutput:
        total = sum(self.elements_kg.values())
        if total > self.mass_kg * (1 + 1e-9):
            raise ValueError(f"elements_kg add up to {total:g} kg, more than the lot's mass_kg {self.mass_kg:g}")
        return self


# ---------------------------------------------------------------- per-kind payloads


class NoData(_Strict):
    pass


class TransformationData(_Strict):
    max_loss_pct: float | None = Field(None, ge=0, le=100, description="declared loss tolerance per element")
    note: str | None = Field(None, max_length=500)


class RecyclingData(TransformationData):
    process: str = Field(pattern="^(pyrometallurgical|hydrometallurgical|direct|mechanical)$")


class PassportIssuedData(_Strict):
    passport_id: str = Field(min_length=1, max_length=50)
    model_id: str | None = Field(None, max_length=100)


class InstallationData(_Strict):
    vehicle_id: str = Field(min_length=1, max_length=40)
    holder: ParticipantId | None = None


class ChangeOfOwnerData(_Strict):
    to_holder: ParticipantId
    role: str = Field("owner", pattern="^(owner|operator)$")


class SohUpdateData(_Strict):
    soh_capacity_pct: float = Field(ge=0, le=120)
    state_of_certified_energy_pct: float | None = Field(None, ge=0, le=120)
    remaining_power_capability_pct: float | None = Field(None, ge=0, le=150)
    full_equivalent_cycles: float | None = Field(None, ge=0)
    measured_at: UtcTime | None = None


class RepairData(_Strict):
    description: str = Field(min_length=1, max_length=500)
    replaced_parts: list[str] = Field(default_factory=list, max_length=100)


class SwapData(_Strict):
    station: str = Field(min_length=1, max_length=200)
    vehicle_id: str = Field(min_length=1, max_length=40)
    removed_pack: Id | None = None
    installed_pack: Id | None = None


class RemovalData(_Strict):
    vehicle_id: str | None = Field(None, max_length=40)
    reason: str = Field(min_length=1, max_length=200)


class RetirementTestData(_Strict):
    soh_capacity_pct: float = Field(ge=0, le=120)
    grade: str | None = Field(None, max_length=20)
    decision: str | None = Field(None, pattern="^(reuse|repurpose|remanufacture|recycle)$")


class SecondLifeData(_Strict):
    holder: ParticipantId | None = None
    new_passport_id: str | None = Field(None, max_length=50)
    application: str | None = Field(None, max_length=200)


class MovementData(_Strict):
    """Collection or transport: from where to where, which countries were crossed, who carries it."""

    origin: Place
    destination: Place
    countries_crossed: list[Country] = Field(default_factory=list, max_length=50)
    carrier: ParticipantId | None = None
    to_holder: ParticipantId | None = None


class AnnotationData(_Strict):
    note: str = Field(min_length=1, max_length=1000)
    finding: str | None = Field(None, pattern="^(inspection|non_conformity|recall_notice|correction|other)$")


class ExportData(_Strict):
    destination_country: Country
    customs_reference: str | None = Field(None, max_length=100)
    to_holder: ParticipantId | None = None


PAYLOADS: dict[EventKind, type[BaseModel]] = {
    EventKind.EXTRACTION: TransformationData,
    EventKind.REFINING: TransformationData,
    EventKind.PRECURSOR_PRODUCTION: TransformationData,
    EventKind.CATHODE_PRODUCTION: TransformationData,
    EventKind.CELL_PRODUCTION: TransformationData,
    EventKind.MODULE_ASSEMBLY: TransformationData,
    EventKind.PACK_ASSEMBLY: TransformationData,
    EventKind.PASSPORT_ISSUED: PassportIssuedData,
    EventKind.INSTALLATION: InstallationData,
    EventKind.CHANGE_OF_OWNER: ChangeOfOwnerData,
    EventKind.SOH_UPDATE: SohUpdateData,
    EventKind.REPAIR: RepairData,
    EventKind.SWAP: SwapData,
    EventKind.REMOVAL: RemovalData,
    EventKind.RETIREMENT_TEST: RetirementTestData,
    EventKind.REUSE: SecondLifeData,
    EventKind.REPURPOSING: SecondLifeData,
    EventKind.REMANUFACTURING: SecondLifeData,
    EventKind.COLLECTION: MovementData,
    EventKind.TRANSPORT: MovementData,
    EventKind.EXPORT: ExportData,
    EventKind.DISMANTLING: TransformationData,
    EventKind.RECYCLING: RecyclingData,
    EventKind.MATERIAL_RECOVERY: TransformationData,
    EventKind.ANNOTATION: AnnotationData,
}


class LifecycleEvent(_Strict):
    """One signed lifecycle event (without its signature, which travels beside it)."""

    id: Id
    kind: EventKind
    actor: ParticipantId
    occurred_at: UtcTime
    place: Place
    subjects: list[Id] = Field(default_factory=list, max_length=1000)
    inputs: list[LotInput] = Field(default_factory=list, max_length=10_000)
    outputs: list[LotOutput] = Field(default_factory=list, max_length=10_000)
    data: dict[str, Any] = Field(default_factory=dict)
    prev: dict[Id, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _kind_rules(self) -> LifecycleEvent:
        schema = PAYLOADS[self.kind]
        try:  # model_validate and model_dump without their wrappers (the same calls, event after event)
            payload = schema.__pydantic_validator__.validate_python(self.data)
        except ValidationError as exc:
            raise _NestedErrors(from_validation_error(exc, "data")) from None
        object.__setattr__(self, "data", schema.__pydantic_serializer__.to_python(payload, mode="json", exclude_none=True))
        k = self.kind
        if k is EventKind.EXTRACTION:
            if self.inputs:
                raise _rule("inputs", "extraction_no_inputs", "an extraction consumes no lots: inputs must be empty")
            if not self.outputs or any(o.origin is None or o.origin.type is not OriginType.PRIMARY for o in self.outputs):
                raise _rule("outputs", "extraction_primary_origin", "an extraction produces lots with origin.type 'primary' (mine, country)")
            if any(o.kind not in (LotKind.ORE, LotKind.MATERIAL) for o in self.outputs):
                raise _rule("outputs", "extraction_kinds", "an extraction produces ore or material lots: scrap, black "
                            "mass, cells, modules and packs are made from other lots (by the events that consume them)")
        elif k is EventKind.MATERIAL_RECOVERY:
            if not self.outputs or any(o.origin is None or o.origin.type is OriginType.PRIMARY for o in self.outputs):
                raise _rule("outputs", "recovery_recycled_origin", "a material recovery produces lots with a recycled origin "
                            "(pre_consumer or post_consumer) and the certifying recycler")
        elif k in TRANSFORMATIONS:
            if not self.inputs or not self.outputs:
                raise _rule("inputs" if not self.inputs else "outputs", "transformation_lots",
                            f"a {k.value} event consumes input lots and produces output lots: "
                            "inputs and outputs must both be given")
            if k is not EventKind.MATERIAL_RECOVERY and any(o.origin is not None and o.origin.type is OriginType.PRIMARY
                                                            for o in self.outputs):
                raise _rule("outputs", "primary_only_by_extraction", "only an extraction produces primary lots")
        else:
            if self.inputs or self.outputs:
                raise _rule("inputs" if self.inputs else "outputs", "no_lots", f"a {k.value} event neither consumes nor produces lots: inputs and outputs must be empty")
            if not self.subjects:
                raise _rule("subjects", "subjects_required", f"a {k.value} event names the subjects it concerns (e.g. the pack id)")
        if k is EventKind.PACK_ASSEMBLY and any(o.kind is not LotKind.PACK for o in self.outputs):
            raise _rule("outputs", "pack_outputs", "a pack assembly produces outputs of kind 'pack'")
        ids_in = [i.lot for i in self.inputs]
        ids_out = [o.lot for o in self.outputs]
        if len(set(ids_in)) != len(ids_in):
            raise _rule("inputs", "unique_lots", "an input lot is listed twice")
        if len(set(ids_out)) != len(ids_out):
            raise _rule("outputs", "unique_lots", "an output lot is listed twice")
        if set(ids_in) & set(ids_out):
            raise _rule("outputs", "unique_lots", f"lot {sorted(set(ids_in) & set(ids_out))[0]} is both input and output")
        chain = chain_subjects(self)
        if set(self.prev) != set(chain):
            missing = sorted(set(chain) - set(self.prev))
            extra = sorted(set(self.prev) - set(chain))
            what = (f"no link for {', '.join(missing[:5])}" if missing else "") + \
                   ("; " if missing and extra else "") + (f"links for unconcerned {', '.join(extra[:5])}" if extra else "")
            raise _rule("prev", "chain_links", f"prev must give the previous event hash (or 64 zeros) for each subject, "
                        f"input and output: {what}")
        for s, h in self.prev.items():
            if not HASH_RE.match(h):
                raise _rule(f"prev.{s}", "sha256_hex", f"prev[{s}] is not a SHA-256 hex hash (64 lowercase hex digits)", h)
        return self


def _rule(field: str, rule: str, message: str, value: Any = None) -> _NestedErrors:
    return _NestedErrors([{"field": field, "rule": rule, "message": f"{field}: {message}", "value": value}])


class _NestedErrors(ValueError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "invalid data")
        self.errors = errors


def chain_subjects(event: LifecycleEvent | dict[str, Any]) -> list[str]:
    """Every subject whose hash chain the event joins: subjects, input lots and output lots, sorted."""
    if isinstance(event, LifecycleEvent):
        s = set(event.subjects) | {i.lot for i in event.inputs} | {o.lot for o in event.outputs}
    else:
        s = set(event.get("subjects") or ()) | {i["lot"] for i in event.get("inputs") or ()} | \
            {o["lot"] for o in event.get("outputs") or ()}
    return sorted(s)


class FlatIn:
    __slots__ = ("lot", "mass_kg")

    def __init__(self, d: dict[str, Any]) -> None:
        self.lot: str = d["lot"]
        self.mass_kg: float = d["mass_kg"]


class FlatOut:
    __slots__ = ("lot", "kind", "mass_kg", "elements_kg", "origin", "material", "model_id")

    def __init__(self, d: dict[str, Any]) -> None:
        self.lot: str = d["lot"]
        self.kind: str = d["kind"]
        self.mass_kg: float = d["mass_kg"]
        self.elements_kg: dict[str, float] = d.get("elements_kg") or {}
        self.origin: dict[str, Any] | None = d.get("origin")
        self.material: str | None = d.get("material")
        self.model_id: str | None = d.get("model_id")


class FlatPlace:
    __slots__ = ("country", "site")

    def __init__(self, d: dict[str, Any]) -> None:
        self.country: str = d["country"]
        self.site: str = d["site"]


class FlatEvent:
    """A validated event as plain values (strings for kinds and times), read from its canonical form.

    What the ledger works with after validation: cheap to build from the canonical bytes, so that
    validation and signature checks can run in worker processes and hand over only bytes.
    """

    __slots__ = ("id", "kind", "actor", "occurred_at", "place", "subjects", "inputs", "outputs", "data", "prev")

    def __init__(self, d: dict[str, Any]) -> None:
        self.id: str = d["id"]
        self.kind: str = d["kind"]
        self.actor: str = d["actor"]
        self.occurred_at: str = d["occurred_at"]
        self.place = FlatPlace(d["place"])
        self.subjects: list[str] = d.get("subjects") or []
        self.inputs = [FlatIn(i) for i in d.get("inputs") or ()]
        self.outputs = [FlatOut(o) for o in d.get("outputs") or ()]
        self.data: dict[str, Any] = d.get("data") or {}
        self.prev: dict[str, str] = d["prev"]

    @classmethod
    def from_body(cls, body: bytes) -> FlatEvent:
        import orjson

        return cls(orjson.loads(body))


class SealedEvent:
    """A validated event: its plain form, canonical bytes, hash and (once signed) signature."""

    __slots__ = ("event", "body", "hash", "signature")

    def __init__(self, event: FlatEvent, body: bytes, hash_: str, signature: str | None) -> None:
        self.event = event
        self.body = body
        self.hash = hash_
        self.signature = signature

    def to_wire(self) -> dict[str, Any]:
        """The event as submitted: its canonical content plus ``signature``."""
        import orjson

        d = orjson.loads(self.body)
        d["signature"] = self.signature
        return d


_VALIDATOR = LifecycleEvent.__pydantic_validator__
_SERIALIZER = LifecycleEvent.__pydantic_serializer__


def normalize(data: dict[str, Any] | LifecycleEvent) -> tuple[LifecycleEvent, bytes, str]:
    """Validate an event and return (model, canonical bytes, SHA-256 hex). ``signature`` is ignored.

    Raises :class:`InvalidData` naming each field and rule broken.
    """
    ev, body, h, _ = normalize_full(data)
    return ev, body, h


def normalize_full(data: dict[str, Any] | LifecycleEvent) -> tuple[LifecycleEvent, bytes, str, dict[str, Any]]:
    """:func:`normalize`, also returning the canonical content as a dict."""
    if isinstance(data, LifecycleEvent):
        ev = data
    else:
        if not isinstance(data, dict):
            raise InvalidData("an event is a JSON object", [{"field": "(event)", "rule": "type",
                                                            "message": "an event is a JSON object", "value": None}])
        body = {k: v for k, v in data.items() if k != "signature"}
        try:
            ev = _VALIDATOR.validate_python(body)  # LifecycleEvent.model_validate, without its wrapper
        except ValidationError as exc:
            errors = []
            for e in exc.errors(include_url=False):
                ctx_err = (e.get("ctx") or {}).get("error")
                if isinstance(ctx_err, _NestedErrors):
                    errors.extend(ctx_err.errors)
            errors = errors or from_validation_error(exc)
            eid = data.get("id") if isinstance(data.get("id"), str) else None
            name = f"event {eid}" if eid else "event"
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise InvalidData(f"invalid {name}: {errors[0]['message']}{more}", errors, event_id=eid) from None
    dump = _SERIALIZER.to_python(ev, mode="json", exclude_none=True)  # ev.model_dump(mode="json", exclude_none=True)
    canonical = canonical_json(dump)
    return ev, canonical, sha256_hex(canonical), dump



def seal(data: dict[str, Any], signer: Any) -> SealedEvent:
    """Validate, canonicalize, hash and sign an event (``prev`` must already be filled in)."""
    ev, body, h, dump = normalize_full(data)
    if signer.participant_id != ev.actor:
        raise InvalidData(f"event {ev.id}: the signer {signer.participant_id} is not the actor {ev.actor}",
                          [{"field": "actor", "rule": "signer_is_actor", "value": ev.actor,
                            "message": f"actor: the event must be signed by its actor {ev.actor}"}])
    return SealedEvent(FlatEvent(dump), body, h, signer.sign_hash(h))


__all__ = [
    "GENESIS", "Element", "EventKind", "FlatEvent", "LifecycleEvent", "LotInput", "LotKind", "LotOutput", "Origin",
    "OriginType", "PAYLOADS", "Place", "SealedEvent", "chain_subjects", "normalize", "normalize_full", "seal",
]
