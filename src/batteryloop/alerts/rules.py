"""Alert rules and what fires them — free of I/O.

A rule watches packs for one kind of finding (:data:`KINDS`) and says where a firing goes:

* ``outflow`` — a finding of the ledger's outflow report (:mod:`batteryloop.trace.outflows`: a pack that
  changed country without a shipment record, left its region without an export record, went silent …);
  ``params.kinds`` picks finding kinds (default: all).
* ``soh_below`` — a pack's state of health (its passport's ``state_of_health.soh_capacity_pct``) under
  ``params.threshold_pct``.
* ``safety_flag`` — a safety flag raised by intake grading (:func:`batteryloop.health.grading.grade` on the
  passport's state of health and usage: high self-discharge, temperature excursions, deep discharges …);
  ``params.codes`` picks flags (default: any), ``params.blocking_only`` (default true) only the flags that
  block second life.

A firing is identified by its **dedupe key** (the kind, the pack and what makes the finding itself: the
outflow event, the flag code): evaluating again finds the same key and stores nothing new. Delivery is a
signed webhook (:mod:`.delivery`) or an e-mail-ready message, stored and not sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import invalid

KINDS: dict[str, str] = {
    "outflow": "a finding of the ledger's outflow report on the pack",
    "soh_below": "the pack's state of health under a threshold",
    "safety_flag": "a safety flag raised by intake grading of the pack",
}
CHANNELS = ("webhook", "email")
MIN_SECRET = 16
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


class RuleIn(BaseModel):
    """A rule as a participant submits it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    kind: Literal["outflow", "soh_below", "safety_flag"]
    params: dict[str, Any] = Field(default_factory=dict)
    channel: Literal["webhook", "email"]
    target: str = Field(min_length=3, max_length=500, description="the webhook URL (http or https) or the e-mail address")
    secret: str | None = Field(None, max_length=200, description=f"the webhook's HMAC-SHA256 key, {MIN_SECRET} characters or more")

    @model_validator(mode="after")
    def _check(self) -> RuleIn:
        self.params = check_params(self.kind, self.params)
        if self.channel == "webhook":
            u = urlsplit(self.target)
            if u.scheme not in ("http", "https") or not u.hostname:
                raise ValueError(f"target: a webhook needs an http or https URL, not {self.target[:60]!r}")
            if not self.secret or len(self.secret) < MIN_SECRET:
                raise ValueError(f"secret: a webhook needs a signing secret of at least {MIN_SECRET} characters")
        else:
            if not _EMAIL.match(self.target):
                raise ValueError(f"target: {self.target[:60]!r} is not an e-mail address (name@domain)")
            if self.secret:
                raise ValueError("secret: an e-mail rule has no signing secret")
        return self


def parse_rule(data: Mapping[str, Any]) -> RuleIn:
    """A rule from JSON-like data, or InvalidData naming each field that is wrong."""
    try:
        return RuleIn.model_validate(dict(data))
    except ValidationError as exc:
        raise invalid(exc, "alert rule") from None


def check_params(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's parameters, checked, with their defaults; a ValueError names the one that is wrong."""
    from ..trace.outflows import FINDING_KINDS

    p = dict(params)
    allowed = {"outflow": {"kinds"}, "soh_below": {"threshold_pct"}, "safety_flag": {"codes", "blocking_only"}}[kind]
    extra = sorted(set(p) - allowed)
    if extra:
        raise ValueError(f"params: {extra} not known for a {kind} rule (it takes {sorted(allowed)})")
    if kind == "outflow":
        kinds = p.get("kinds")
        if kinds is not None:
            if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
                raise ValueError("params.kinds: a non-empty list of outflow finding kinds")
            bad = sorted(set(kinds) - set(FINDING_KINDS))
            if bad:
                raise ValueError(f"params.kinds: {bad} unknown (kinds: {sorted(FINDING_KINDS)})")
        return {"kinds": sorted(kinds) if kinds else None}
    if kind == "soh_below":
        t = p.get("threshold_pct")
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t <= 100:
            raise ValueError(f"params.threshold_pct: a state of health in % (0 < x ≤ 100), not {t!r}")
        return {"threshold_pct": float(t)}
    codes = p.get("codes")
    if codes is not None and (not isinstance(codes, list) or not all(isinstance(c, str) for c in codes)):
        raise ValueError("params.codes: a list of grading safety-flag codes")
    if codes:
        from ..health.grading import SAFETY_FLAG_CODES

        bad = sorted(set(codes) - set(SAFETY_FLAG_CODES))
        if bad:  # a rule on a code grading never raises would be stored and never fire
            raise ValueError(f"params.codes: {bad} unknown (grading raises: {', '.join(SAFETY_FLAG_CODES)})")
    blocking = p.get("blocking_only", True)
    if not isinstance(blocking, bool):
        raise ValueError(f"params.blocking_only: true or false, not {blocking!r}")
    return {"codes": sorted(codes) if codes else None, "blocking_only": blocking}


# ------------------------------------------------------------------------------------------- findings
@dataclass(frozen=True)
class PackFacts:
    """What the rules read of a pack: its passport's operator, model, status, state of health and usage."""

    pack_id: str
    operator_id: str | None
    model_id: str | None
    status: str | None
    soh_pct: float | None = None
    state_of_health: Mapping[str, Any] = field(default_factory=dict)
    usage: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_passport(cls, pack_id: str, operator_id: str | None, status: str | None, data: Mapping[str, Any]) -> PackFacts:
        sh = data.get("state_of_health") or {}
        soh = sh.get("soh_capacity_pct")
        return cls(pack_id, operator_id, data.get("model_id"), status,
                   float(soh) if isinstance(soh, (int, float)) and not isinstance(soh, bool) else None,
                   sh, data.get("usage") or {})


@dataclass(frozen=True)
class Firing:
    """A rule's finding on one pack, before it is stored."""

    dedupe_key: str
    kind: str
    pack_id: str
    operator_id: str | None
    model_id: str | None
    title: str
    message: str
    data: dict[str, Any]


def soh_firings(params: Mapping[str, Any], packs: Iterable[PackFacts]) -> list[Firing]:
    t = float(params["threshold_pct"])
    out = []
    for p in packs:
        if p.soh_pct is not None and p.soh_pct < t:
            out.append(Firing(f"soh_below:{p.pack_id}", "soh_below", p.pack_id, p.operator_id, p.model_id,
                              f"{p.pack_id}: state of health {p.soh_pct:.1f} % < {t:g} %",
                              f"Pack {p.pack_id} ({p.model_id or 'model unknown'}, status {p.status or 'unknown'}) has a "
                              f"state of health of {p.soh_pct:.1f} %, under the rule's threshold of {t:g} %"
                              + (f" (measured {p.state_of_health.get('measured_at')})." if p.state_of_health.get("measured_at") else "."),
                              {"soh_capacity_pct": p.soh_pct, "threshold_pct": t, "status": p.status}))
    return out


def safety_firings(params: Mapping[str, Any], packs: Iterable[PackFacts]) -> list[Firing]:
    """Grade each pack from its passport (as hub planning does) and fire on each selected safety flag."""
    from ..health.grading import IntakeRecord, grade

    codes = set(params.get("codes") or ())
    blocking_only = bool(params.get("blocking_only", True))
    out = []
    for p in packs:
        sh, us = p.state_of_health, p.usage
        intake = IntakeRecord(battery_id=p.pack_id, soh_capacity_pct=p.soh_pct,
                              resistance_increase_pct=sh.get("ohmic_resistance_increase_pct"),
                              self_discharge_pct_per_month=sh.get("self_discharge_pct_per_month"),
                              max_temperature_c_seen=us.get("max_operating_temperature_c"),
                              deep_discharge_events=us.get("deep_discharge_events"))
        g = grade(intake)
        for f in g.safety_flags:
            if (codes and f.code not in codes) or (blocking_only and not f.blocking):
                continue
            out.append(Firing(f"safety_flag:{p.pack_id}:{f.code}", "safety_flag", p.pack_id, p.operator_id, p.model_id,
                              f"{p.pack_id}: safety flag {f.code}" + (" (blocking)" if f.blocking else ""),
                              f"Intake grading of pack {p.pack_id} ({p.model_id or 'model unknown'}) raised the safety "
                              f"flag {f.code}: {f.message}; grade {g.grade}.",
                              {"code": f.code, "blocking": f.blocking, "grade": g.grade, "flag_message": f.message}))
    return out


def outflow_firings(params: Mapping[str, Any], findings: Iterable[Mapping[str, Any]],
                    packs: Mapping[str, PackFacts]) -> list[Firing]:
    kinds = set(params.get("kinds") or ())
    out = []
    for f in findings:
        if kinds and f.get("kind") not in kinds:
            continue
        pack = str(f.get("pack"))
        facts = packs.get(pack)
        out.append(Firing(f"outflow:{f.get('kind')}:{pack}:{f.get('event_id')}", "outflow", pack,
                          facts.operator_id if facts else None, f.get("model_id") or (facts.model_id if facts else None),
                          f"{pack}: {str(f.get('kind')).replace('_', ' ')}", str(f.get("message") or ""),
                          {k: v for k, v in f.items() if k != "message"}))
    return out
