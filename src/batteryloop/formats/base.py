"""The one interface every wire format implements, and the reports an export or import returns.

A format adapter translates between our passport (:class:`~batteryloop.passport.model.BatteryModelData`
plus :class:`~batteryloop.passport.model.BatteryData`) and one standard's payload:

* ``export(parts)`` → :class:`ExportResult` (the payload, and a :class:`MappingReport` saying which of
  our fields have no place in the standard and which values the standard requires that the passport
  does not hold — *placeholders*);
* ``import_payload(payload)`` → :class:`ImportResult` (our model and battery data, and a report of the
  source fields we do not map and, in lenient mode, every value dropped and why).

Exports work on plain dictionaries already cut to the reader's access tiers (the same cut the API
and the pages use, :mod:`batteryloop.passport.redact`), so an export for a public reader carries only
public fields. A new standard is a new module that registers one adapter (:mod:`.registry`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from ..errors import InvalidData
from ..passport.model import BatteryData, BatteryModelData
from ..passport.redact import redact_battery, redact_model
from ..passport.tiers import ALL_TIERS, Tier

#: Placeholder text for a value a standard requires and the passport does not declare.
NOT_DECLARED = "not declared"
#: Placeholder text for a value a standard requires and the reader's access tiers withhold.
WITHHELD = "withheld (access tier)"


@dataclass
class PassportParts:
    """What an export reads: model and battery data as JSON-ready dicts, cut to ``tiers``.

    ``web_link``, ``version``, ``archived`` and ``last_change`` come from the stored passport when there is
    one (:meth:`batteryloop.passport.service.PassportService.export`); exports work without them.
    ``last_change`` is the passport's last change (its record's or its model's): the standards' "last update"
    (:attr:`changed`); without it, the export time ``now`` stands in.
    """

    model: dict[str, Any]
    battery: dict[str, Any]
    tiers: frozenset[Tier] = ALL_TIERS
    web_link: str | None = None
    version: int | None = None
    archived: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    last_change: datetime | None = None

    @property
    def changed(self) -> datetime:
        """The passport's last change to whole seconds (UTC), else the export time."""
        return (self.last_change or self.now).astimezone(UTC).replace(microsecond=0)

    @property
    def status(self) -> str | None:
        """The battery's status as far as the reader's tiers show it: an archived passport is a recycled
        battery's (Art. 77(8)) even where the status itself is withheld; otherwise None when withheld."""
        return self.battery.get("status") or ("recycled" if self.archived else None)

    def __post_init__(self) -> None:
        # The standards carry one recycled-content figure per battery passport. A battery's own figure (Art. 8:
        # its model, plant and year of manufacture, from the ledger's balance) is the one it declares; the
        # model's is the fallback. Exporters read it as the model's field.
        # A successor (repurposed, remanufactured: it supersedes passports) declares no figure of its own (Art. 8(4));
        # one it holds was copied on under an earlier rule and is not exported.
        own = self.battery.get("recycled_content")
        successor = bool(self.battery.get("predecessor_ids")) or self.battery.get("status") in ("repurposed",
                                                                                               "remanufactured")
        if own and not successor:
            self.model = {**self.model, "recycled_content": own}

    def has(self, tier: Tier) -> bool:
        return tier in self.tiers

    @classmethod
    def from_data(
        cls,
        model: BatteryModelData | Mapping[str, Any],
        battery: BatteryData | Mapping[str, Any],
        tiers: Iterable[Tier] = ALL_TIERS,
        *,
        web_link: str | None = None,
        version: int | None = None,
        archived: bool = False,
        now: datetime | None = None,
        last_change: datetime | None = None,
    ) -> PassportParts:
        """Parts from our models (or their JSON dicts), cut to ``tiers`` by the passport's own rules."""
        tiers = frozenset(tiers) | {Tier.PUBLIC}
        m = model.model_dump(mode="json", exclude_none=True) if isinstance(model, BaseModel) else dict(model)
        b = battery.model_dump(mode="json", exclude_none=True) if isinstance(battery, BaseModel) else dict(battery)
        parts = cls(redact_model(m, tiers), redact_battery(b, tiers), tiers, web_link, version, archived,
                    last_change=last_change)
        if now is not None:
            parts.now = now
        return parts

    @classmethod
    def from_view(cls, view: Mapping[str, Any], *, now: datetime | None = None) -> PassportParts:
        """Parts from :meth:`PassportService.export` / ``get_view`` output (already cut to its tiers)."""
        tiers = frozenset(Tier(t) for t in view.get("access_tiers", [Tier.PUBLIC.value]))
        changed = view.get("last_change")
        parts = cls(dict(view.get("model") or {}), dict(view.get("battery") or {}), tiers,
                    view.get("web_link"), view.get("version"), bool(view.get("archived", False)),
                    last_change=datetime.fromisoformat(changed.replace("Z", "+00:00")) if changed else None)
        if now is not None:
            parts.now = now
        return parts


@dataclass
class MappingReport:
    """What a translation could not carry across, field by field.

    * ``unmapped``: fields one side has and the other lacks (``{path, value, reason}``);
    * ``placeholders``: values the target schema requires that the passport does not hold
      (``{path, reason}``: ``not declared`` or ``withheld`` by the reader's access tiers);
    * ``dropped``: invalid values a lenient import left out (``{field, rule, message, value}``);
    * ``schema_errors``: violations of the official schema (``{field, rule, message, value}``);
    * ``missing``: our required fields the payload does not give (``model.model_id`` …): that part is
      not built; pass them as ``defaults`` (a standard may simply not have them);
    * ``not_carried``: our fields the standard has no place for that came in the batteryloop extension of a
      batteryloop export (another system's payload does not have them: docs/formats.md lists them per format);
    * ``conflicts``: values that differ from the model data already stored on the importing node (a lenient
      import keeps the stored value and lists the payload's here; a strict one refuses).
    """

    format: str
    unmapped: list[dict[str, Any]] = field(default_factory=list)
    placeholders: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    schema_errors: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def unmap(self, path: str, value: Any, reason: str) -> None:
        self.unmapped.append({"path": path, "value": _short(value), "reason": reason})

    def placeholder(self, path: str, reason: str) -> None:
        self.placeholders.append({"path": path, "reason": reason})

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "unmapped": self.unmapped, "placeholders": self.placeholders,
                "dropped": self.dropped, "schema_errors": self.schema_errors, "missing": self.missing,
                "not_carried": self.not_carried, "conflicts": self.conflicts}


@dataclass
class ExportResult:
    payload: Any  # a JSON-ready dict, or bytes for binary formats (AASX)
    media_type: str
    report: MappingReport
    filename: str | None = None


@dataclass
class ImportResult:
    """Our passport parts from a foreign payload. In lenient mode a part may be ``None`` (then the
    report says which required field was missing or invalid); ``model_fields``/``battery_fields`` hold
    every valid value found either way."""

    model: BatteryModelData | None
    battery: BatteryData | None
    report: MappingReport
    model_fields: dict[str, Any] = field(default_factory=dict)
    battery_fields: dict[str, Any] = field(default_factory=dict)
    #: where each of our fields came from (``part.field`` → source path, or ``(default KEY)``)
    origin: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.model is not None and self.battery is not None

    def require(self) -> tuple[BatteryModelData, BatteryData]:
        """Both parts, or :class:`InvalidData` naming every required field the payload lacked."""
        if self.model is not None and self.battery is not None:
            return self.model, self.battery
        missing = self.report.missing or [p for p, v in (("model", self.model), ("battery", self.battery)) if v is None]
        errors = [{"field": f, "rule": "required", "value": None,
                   "message": f"{f}: required by batteryloop and not in the {self.report.format} payload; "
                              f"give it as a default (e.g. --default {f.split('.', 1)[-1]}=...)"} for f in missing]
        errors += self.report.dropped
        raise InvalidData(f"the {self.report.format} payload is not a complete passport: "
                          f"{errors[0]['message'] if errors else 'a part is missing'}", errors)


@runtime_checkable
class FormatAdapter(Protocol):
    """One wire format. Register instances with :func:`batteryloop.formats.registry.register`."""

    name: str
    title: str
    media_type: str
    can_import: bool

    def export(self, parts: PassportParts, *, validate: bool = True) -> ExportResult: ...

    def import_payload(self, payload: Any, *, lenient: bool = False,
                       defaults: Mapping[str, Any] | None = None) -> ImportResult: ...

    def detect(self, obj: Any) -> bool: ...


def _short(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value if not isinstance(value, str) or len(value) <= 200 else value[:200] + "…"
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"
