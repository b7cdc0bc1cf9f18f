"""Status rules of Art. 77(7)-(8): which change keeps the passport and which issues a new one.

* re-use and repair update the same passport;
* repurposing and remanufacturing issue a **new** passport linked to its predecessor, which becomes
  read-only (its ``successor_id`` names the new one);
* a battery that becomes waste keeps its passport until it is recycled;
* recycling ends the passport: it is archived read-only for audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..errors import Conflict
from .model import BatteryStatus


class StatusEvent(StrEnum):
    REUSE = "reuse"
    REPAIR = "repair"
    REPURPOSE = "repurpose"
    REMANUFACTURE = "remanufacture"
    WASTE = "waste"
    RECYCLE = "recycle"


@dataclass(frozen=True)
class Transition:
    new_status: BatteryStatus | None  # None: status unchanged (repair)
    new_passport: bool
    archive: bool
    allowed_from: frozenset[BatteryStatus]


_ACTIVE = frozenset(
    {BatteryStatus.ORIGINAL, BatteryStatus.REUSED, BatteryStatus.REPURPOSED, BatteryStatus.REMANUFACTURED}
)
_ANY_LIVE = _ACTIVE | {BatteryStatus.WASTE}

TRANSITIONS: dict[StatusEvent, Transition] = {
    StatusEvent.REUSE: Transition(BatteryStatus.REUSED, False, False, _ACTIVE),
    StatusEvent.REPAIR: Transition(None, False, False, _ACTIVE),
    StatusEvent.REPURPOSE: Transition(BatteryStatus.REPURPOSED, True, False, _ANY_LIVE),
    StatusEvent.REMANUFACTURE: Transition(BatteryStatus.REMANUFACTURED, True, False, _ANY_LIVE),
    StatusEvent.WASTE: Transition(BatteryStatus.WASTE, False, False, _ACTIVE),
    StatusEvent.RECYCLE: Transition(BatteryStatus.RECYCLED, False, True, _ANY_LIVE),
}
"""What each status event does and from which statuses; who may trigger it is :mod:`batteryloop.access`'s
``passport.status.*`` rules (by relation: operator, owner, custodian, delegate)."""


#: the default serial number of a successor passport: the predecessor's, with a suffix that says which
#: operation made it (both operations start with "re": their first two letters would not tell them apart)
SUCCESSOR_SUFFIX: dict[StatusEvent, str] = {StatusEvent.REPURPOSE: "RP", StatusEvent.REMANUFACTURE: "RM"}


def successor_serial_number(serial_number: str, event: StatusEvent | str) -> str:
    """The default serial number of the passport a repurpose or a remanufacture issues: the predecessor's
    serial with ``-RP`` or ``-RM``. The passport service issues it (when no other is given) and a caller
    that must know the new passport's id beforehand (the pilot) derives it here: one rule for both."""
    ev = StatusEvent(event)
    if ev not in SUCCESSOR_SUFFIX:
        raise ValueError(f"{ev.value} issues no new passport (only {', '.join(e.value for e in SUCCESSOR_SUFFIX)} do)")
    return f"{serial_number}-{SUCCESSOR_SUFFIX[ev]}"


class LifecycleError(Conflict, ValueError):
    """A status change the rules forbid (409); the message says why."""


def check_transition(event: StatusEvent, current: BatteryStatus, *, archived: bool, successor_id: str | None) -> Transition:
    if archived:
        raise LifecycleError("the passport is archived (the battery was recycled): it is read-only")
    if successor_id:
        raise LifecycleError(
            f"the passport was superseded by {successor_id} (repurposed or remanufactured): change that one"
        )
    t = TRANSITIONS[event]
    if current not in t.allowed_from:
        allowed = ", ".join(sorted(s.value for s in t.allowed_from))
        raise LifecycleError(f"cannot {event.value} a battery whose status is {current.value} (allowed from: {allowed})")
    return t
