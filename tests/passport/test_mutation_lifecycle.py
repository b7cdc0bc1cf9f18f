"""The lifecycle refusals say *why*, in words a person can act on (the error is the contract, not only 409).

Derivation by hand from Regulation (EU) 2023/1542 (REFERENCE.md section 1), not from ``TRANSITIONS``:

* Art. 77(8): a recycled battery's passport ceases to exist; it is kept archived, **read-only**. The
  refusal must say both: that it is archived and that it is read-only.
* Art. 77(7): a repurposed or remanufactured battery gets a new passport; the old one names its
  successor, and a refusal points there.
* From which live statuses each event is allowed (Annex XIII (4) statuses; waste per Art. 3(1)(29)-(30),
  see ``test_lifecycle_table.py`` for the full argument):

  - re-use, repair, waste: only a battery that is not waste (original, repurposed, re-used,
    remanufactured) — re-use is of a non-waste product, waste is entered once;
  - repurpose, remanufacture, recycle: any live battery, waste included.

  A refusal lists exactly those statuses (each once, by its Annex XIII value), so the caller learns what
  the event needs. The list is read back from the message as a comma-separated enumeration.
"""

from __future__ import annotations

import re

import pytest

from batteryloop.passport.lifecycle import LifecycleError, StatusEvent, check_transition
from batteryloop.passport.model import BatteryStatus

E = StatusEvent
S = BatteryStatus
NOT_WASTE = {S.ORIGINAL, S.REPURPOSED, S.REUSED, S.REMANUFACTURED}
LIVE = NOT_WASTE | {S.WASTE}

ALLOWED_FROM: dict[StatusEvent, set[BatteryStatus]] = {
    E.REUSE: NOT_WASTE,
    E.REPAIR: NOT_WASTE,
    E.WASTE: NOT_WASTE,
    E.REPURPOSE: LIVE,
    E.REMANUFACTURE: LIVE,
    E.RECYCLE: LIVE,
}

REFUSED = [(e, s) for e in StatusEvent for s in BatteryStatus if s not in ALLOWED_FROM[e]]


def _words(msg: str, *phrases: str) -> None:
    """Each phrase occurs in ``msg`` as whole words (not glued to other letters)."""
    for p in phrases:
        assert re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", msg), f"{p!r} not a word of {msg!r}"


def test_every_event_has_a_row() -> None:
    assert set(ALLOWED_FROM) == set(StatusEvent)
    assert len(REFUSED) == 3 * 2 + 3 * 1  # three events refuse waste and recycled, three only recycled


@pytest.mark.parametrize(("event", "status"), REFUSED, ids=[f"{e.value}-from-{s.value}" for e, s in REFUSED])
def test_refusal_lists_exactly_the_statuses_the_event_is_allowed_from(event: StatusEvent, status: BatteryStatus) -> None:
    with pytest.raises(LifecycleError) as exc:
        check_transition(event, status, archived=False, successor_id=None)
    msg = str(exc.value)
    _words(msg, event.value, status.value)
    m = re.search(r"allowed from: ([^)]*)\)", msg)
    assert m, f"the refusal does not say where {event.value} is allowed from: {msg!r}"
    listed = m.group(1).split(", ")
    assert sorted(listed) == sorted(s.value for s in ALLOWED_FROM[event]), msg
    assert len(listed) == len(set(listed))


@pytest.mark.parametrize("event", list(StatusEvent))
def test_archived_refusal_says_archived_and_read_only_as_words(event: StatusEvent) -> None:
    """Art. 77(8): the refusal tells the reader that the record is archived and read-only."""
    with pytest.raises(LifecycleError) as exc:
        check_transition(event, S.RECYCLED, archived=True, successor_id=None)
    msg = str(exc.value)
    _words(msg, "archived", "read-only", "recycled")
    assert msg[0].isalpha() and msg[-1].isalpha(), f"the message is a plain sentence: {msg!r}"


@pytest.mark.parametrize("event", list(StatusEvent))
def test_superseded_refusal_names_the_successor_as_a_word(event: StatusEvent) -> None:
    with pytest.raises(LifecycleError) as exc:
        check_transition(event, S.ORIGINAL, archived=False, successor_id="BL.ACME.SN-2")
    _words(str(exc.value), "BL.ACME.SN-2")


def test_archived_is_checked_before_supersession_and_status() -> None:
    """An archived passport is refused as archived even if it also names a successor: the end of the
    passport (Art. 77(8)) is the stronger fact."""
    with pytest.raises(LifecycleError, match="archived"):
        check_transition(E.REPAIR, S.ORIGINAL, archived=True, successor_id="BL.ACME.SN-2")
