"""Who may append which event to whose chain, and when: the ledger's custody rules.

A valid signature proves who wrote an event, not that they had the right to. :func:`check_event` asks
:mod:`batteryloop.access` (the ``trace.append.<kind>`` and ``trace.consume`` rules) for the event's
*actor* — whoever submits it — against each subject's facts as the ledger knows them *before* the
event: its custodian (the holder in the custody state), the economic operator of the passport of that
id, and the delegations in force. It also refuses implausible times: after the moment of recording
(plus a clock-skew allowance) or before the subject existed (a lot's production, a passport's
manufacture date). Events may arrive out of order — a vehicle offline for a week reports late — so the
order of a chain's events is not a rule.

The ledger applies it on every append; :meth:`Ledger.verify_policy` replays it over stored events, so
that an event which slipped in before these rules (or by a direct write to the store) is reported.

What it does not decide: material lots (ore, refined material, cathode, black mass) and modules are sold
down the chain without a custody event (the ledger has no sale event for a lot), so consuming one as an
input is checked by mass balance (never more than its remaining mass), not by holder. A pack is consumed
(dismantled) only by its holder, and every subject event on a pack or module — custody, state of health,
export — only by the holder (or its delegate, where the rule allows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..access import Caller, Deny, Resource, decide
from ..participants import Role

_CUSTODY_LOT_KINDS = frozenset({"pack"})


@dataclass(frozen=True)
class Refusal:
    status: int  # 403: not allowed; 422: implausible data
    field: str
    rule: str
    message: str
    value: Any = None

    def error(self) -> dict[str, Any]:
        return {"field": self.field, "rule": self.rule, "message": f"{self.field}: {self.message}", "value": self.value}


def _roles(names: frozenset[str]) -> frozenset[Role]:
    out = set()
    for n in names:
        try:
            out.add(Role(n))
        except ValueError:
            pass
    return frozenset(out)


def plus_seconds(iso: str, seconds: float) -> str:
    t = dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_event(ev: Any, *, actor_roles: frozenset[str], recorded_at: str, max_future_s: float,
                custody: Callable[[str], Mapping[str, Any] | None],
                lot_kind: Callable[[str], str | None],
                born: Callable[[str], str | None],
                operator: Callable[[str], str | None],
                delegates: Callable[[str], Mapping[str, frozenset[str]]]) -> Refusal | None:
    """The first reason to refuse ``ev`` (a :class:`~batteryloop.trace.events.FlatEvent`), or ``None``.

    The callables give the ledger's state before the event: a subject's custody row, a lot's kind, when
    a subject came to exist (ISO text: a lot's production, a passport's manufacture date), the economic
    operator of a passport of that id, the delegations on a subject.
    """
    latest = plus_seconds(recorded_at, max_future_s)
    if ev.occurred_at > latest:
        return Refusal(422, "occurred_at", "in_the_future",
                       f"{ev.occurred_at} is after the time of recording ({recorded_at}, allowing "
                       f"{max_future_s:g} s of clock skew): events are recorded after they happen", ev.occurred_at)
    for subj in [*ev.subjects, *(i.lot for i in ev.inputs)]:
        b = born(subj)
        if b is not None and ev.occurred_at < b:
            return Refusal(422, "occurred_at", "before_subject",
                           f"{ev.occurred_at} is before {subj} existed (made {b[:10]})", ev.occurred_at)
    actor = Caller(ev.actor, _roles(actor_roles))
    checks: list[tuple[str, str, str]] = []  # (action, subject, field)
    for n, i in enumerate(ev.inputs):
        if lot_kind(i.lot) in _CUSTODY_LOT_KINDS:
            checks.append(("trace.consume", i.lot, f"inputs[{n}].lot"))
    if not ev.inputs and not ev.outputs:
        checks.extend((f"trace.append.{ev.kind}", s, f"subjects[{n}]") for n, s in enumerate(ev.subjects))
    else:
        checks.extend(("trace.consume", s, f"subjects[{n}]") for n, s in enumerate(ev.subjects) if custody(s) is not None)
    for action, subj, fld in checks:
        cur = custody(subj)
        op = operator(subj)
        if cur is None and op is None and action != "trace.append.annotation":
            continue  # a subject the ledger and the registry do not know yet: its first event makes the actor its holder
        holder = cur.get("holder") if cur is not None else op  # no custody record yet: the operator holds it
        d = decide(actor, action, Resource("pack" if lot_kind(subj) in (None, "pack") else "lot", subj,
                                           operator=op, custodian=holder, delegates=delegates(subj)))
        if isinstance(d, Deny):
            return Refusal(403, fld, "custody", d.reason, subj)  # the holder is not named: custody is not public
    return None
