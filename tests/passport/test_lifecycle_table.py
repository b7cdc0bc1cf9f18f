"""The passport status machine, checked cell by cell against a table written from the regulation.

Source: Regulation (EU) 2023/1542 (REFERENCE.md section 1), not ``lifecycle.TRANSITIONS``:

* Annex XIII (4): the battery status is one of original, repurposed, re-used, remanufactured, waste.
  ``recycled`` is the project's name for the end of the passport (Art. 77(8)).
* Art. 77(7): re-use and repair only *update* the existing passport; repurposing and remanufacturing
  issue a *new* passport linked to the old one (the responsibility passes to the operator that places
  the battery on the market again). The old passport is kept read-only, so it accepts no event.
* Art. 77(8): the passport ceases to exist once the battery is recycled: kept archived, read-only for
  audit, so a recycled (archived) passport accepts no event.
* Art. 3(1)(30), "preparing for repurposing": an operation by which a **waste** battery is prepared for
  a different purpose; Art. 3(1)(1) counts a battery that underwent preparation for re-use or
  repurposing, repurposing or remanufacturing as a battery again. So a waste battery may still be
  repurposed (or remanufactured) into a new battery with a new passport. (Therefore "nothing leaves
  waste except recycling" is *not* what the regulation says; the table follows the regulation.)
* "Re-use" (Directive 2008/98/EC Art. 3(13), to which Art. 3 of the regulation refers) is using again a
  product that is **not waste**; bringing a waste battery back for the same use is "preparing for re-use"
  (Art. 3(1)(29)), a waste-treatment operation that the platform does not model as a status event. So
  ``reuse`` and ``repair`` are refused on a waste battery, as is ``waste`` (it already is waste).

Project choices, not fixed by the regulation (documented in ``passport/lifecycle.py``):

* a battery whose status is repurposed, re-used or remanufactured may be re-used, repaired, repurposed
  or remanufactured again; ``reuse`` sets the status to ``reused`` whatever it was (Annex XIII keeps one
  status, the latest operation);
* ``recycle`` is accepted from every live status, not only from ``waste``: handing a battery to a
  recycler is discarding it (it becomes waste then), recorded as one event rather than waste+recycle;
* ``repair`` keeps the status unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest

from batteryloop.errors import Conflict, InvalidData
from batteryloop.passport.lifecycle import LifecycleError, StatusEvent, check_transition
from batteryloop.passport.model import BatteryStatus
from batteryloop.sim import pilot

E = StatusEvent
S = BatteryStatus
REFUSED = None
SAME = "unchanged"
NEW = "new passport"
UPDATE = "same passport"
ARCHIVE = "archived"

# event -> status -> REFUSED, or (resulting status (SAME: unchanged), passport effect)
# Written out cell by cell: every StatusEvent x every BatteryStatus.
EXPECTED: dict[StatusEvent, dict[BatteryStatus, tuple[Any, str] | None]] = {
    E.REUSE: {
        S.ORIGINAL: (S.REUSED, UPDATE),          # Art. 77(7): re-use updates the passport
        S.REPURPOSED: (S.REUSED, UPDATE),        # project choice: latest operation
        S.REUSED: (S.REUSED, UPDATE),            # re-used again (a further user)
        S.REMANUFACTURED: (S.REUSED, UPDATE),
        S.WASTE: REFUSED,                        # re-use is of a battery that is not waste
        S.RECYCLED: REFUSED,                     # Art. 77(8): the passport has ended
    },
    E.REPAIR: {
        S.ORIGINAL: (SAME, UPDATE),              # Art. 77(7): repair updates the passport
        S.REPURPOSED: (SAME, UPDATE),
        S.REUSED: (SAME, UPDATE),
        S.REMANUFACTURED: (SAME, UPDATE),
        S.WASTE: REFUSED,                        # repairing waste = preparing for re-use (not an event here)
        S.RECYCLED: REFUSED,
    },
    E.REPURPOSE: {
        S.ORIGINAL: (S.REPURPOSED, NEW),         # Art. 77(7): a new passport linked to the old one
        S.REPURPOSED: (S.REPURPOSED, NEW),
        S.REUSED: (S.REPURPOSED, NEW),
        S.REMANUFACTURED: (S.REPURPOSED, NEW),
        S.WASTE: (S.REPURPOSED, NEW),            # Art. 3(1)(30): preparing a waste battery for repurposing
        S.RECYCLED: REFUSED,
    },
    E.REMANUFACTURE: {
        S.ORIGINAL: (S.REMANUFACTURED, NEW),     # Art. 77(7): a new passport linked to the old one
        S.REPURPOSED: (S.REMANUFACTURED, NEW),
        S.REUSED: (S.REMANUFACTURED, NEW),
        S.REMANUFACTURED: (S.REMANUFACTURED, NEW),
        S.WASTE: (S.REMANUFACTURED, NEW),        # Art. 3(1)(1): a remanufactured battery is a battery again
        S.RECYCLED: REFUSED,
    },
    E.WASTE: {
        S.ORIGINAL: (S.WASTE, UPDATE),           # Art. 77(8): the passport lives on until recycling
        S.REPURPOSED: (S.WASTE, UPDATE),
        S.REUSED: (S.WASTE, UPDATE),
        S.REMANUFACTURED: (S.WASTE, UPDATE),
        S.WASTE: REFUSED,                        # already waste
        S.RECYCLED: REFUSED,
    },
    E.RECYCLE: {
        S.ORIGINAL: (S.RECYCLED, ARCHIVE),       # project choice: discarded to the recycler in one step
        S.REPURPOSED: (S.RECYCLED, ARCHIVE),
        S.REUSED: (S.RECYCLED, ARCHIVE),
        S.REMANUFACTURED: (S.RECYCLED, ARCHIVE),
        S.WASTE: (S.RECYCLED, ARCHIVE),          # Art. 77(8): recycling ends the passport (archived)
        S.RECYCLED: REFUSED,                     # recycled once only
    },
}

CELLS = [(e, s) for e in StatusEvent for s in BatteryStatus]


def test_the_table_covers_every_cell() -> None:
    assert set(EXPECTED) == set(StatusEvent)
    for e in StatusEvent:
        assert set(EXPECTED[e]) == set(BatteryStatus), e
    assert len(CELLS) == 36


@pytest.mark.parametrize(("event", "status"), CELLS, ids=[f"{e.value}-from-{s.value}" for e, s in CELLS])
def test_live_passport_cell(event: StatusEvent, status: BatteryStatus) -> None:
    expected = EXPECTED[event][status]
    if expected is REFUSED:
        with pytest.raises(LifecycleError) as exc:
            check_transition(event, status, archived=False, successor_id=None)
        assert isinstance(exc.value, Conflict) and exc.value.status == 409
        msg = str(exc.value)
        assert event.value in msg and status.value in msg, msg
        return
    new_status, effect = expected
    t = check_transition(event, status, archived=False, successor_id=None)
    assert t.new_status == (None if new_status == SAME else new_status)
    assert t.new_passport == (effect == NEW)
    assert t.archive == (effect == ARCHIVE)


@pytest.mark.parametrize(("event", "status"), CELLS, ids=[f"{e.value}-from-{s.value}" for e, s in CELLS])
def test_archived_passport_accepts_nothing(event: StatusEvent, status: BatteryStatus) -> None:
    """Art. 77(8): a recycled battery's passport is an archived, read-only record."""
    with pytest.raises(LifecycleError, match="archived"):
        check_transition(event, status, archived=True, successor_id=None)


@pytest.mark.parametrize(("event", "status"), CELLS, ids=[f"{e.value}-from-{s.value}" for e, s in CELLS])
def test_superseded_passport_accepts_nothing(event: StatusEvent, status: BatteryStatus) -> None:
    """Art. 77(7): after repurposing/remanufacturing the new passport is the one to change; the old one,
    linked from it, stays read-only and names its successor in the refusal."""
    with pytest.raises(LifecycleError, match="urn:successor:1"):
        check_transition(event, status, archived=False, successor_id="urn:successor:1")


def test_service_refuses_reuse_of_waste_with_conflict(pilot_services: Any) -> None:
    """A refused cell through PassportService.change_status: 409 naming the status and the event,
    nothing written."""
    svc = pilot_services.passports
    op = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    pid = svc.create_passport(next(pilot.generate_batteries(1, seed=21)), op)["passport_id"]
    svc.change_status(pid, "waste", op)
    before = svc.get_record(pid)
    assert before.status == "waste"
    with pytest.raises(Conflict) as exc:
        svc.change_status(pid, "reuse", op)
    assert exc.value.status == 409
    assert "reuse" in str(exc.value) and "waste" in str(exc.value)
    after = svc.get_record(pid)
    assert (after.version, after.status, after.archived) == (before.version, "waste", False)


def test_successor_serial_numbers_say_which_operation_made_them(pilot_services: Any) -> None:
    """Art. 77(7) issues a new passport for repurposing and for remanufacturing: without a serial number
    given, the successor's is the predecessor's plus a suffix per operation — RP for repurposing, RM for
    remanufacturing (their first two letters, "re", would not tell them apart)."""
    svc = pilot_services.passports
    op = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    made = {}
    for event, battery in zip(("repurpose", "remanufacture"), pilot.generate_batteries(2, seed=22)):
        pid = svc.create_passport(battery, op)["passport_id"]
        new = svc.change_status(pid, event, op)
        made[event] = (battery["serial_number"], svc.get_record(new["passport_id"]).data["serial_number"])
    assert made["repurpose"][1] == made["repurpose"][0] + "-RP"
    assert made["remanufacture"][1] == made["remanufacture"][0] + "-RM"


def test_every_status_entry_point_names_an_unknown_event(pilot_services: Any) -> None:
    """One refusal for an unknown event, whichever entry point: single, batch, batch in order — it lists the
    events there are (the batch call raised a bare ValueError before), and nothing is written."""
    svc = pilot_services.passports
    op = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    pid = svc.create_passport(next(pilot.generate_batteries(1, seed=22)), op)["passport_id"]
    before = svc.get_record(pid).version
    for call in (lambda: svc.change_status(pid, "scrap", op), lambda: svc.change_statuses([pid], "scrap", op),
                 lambda: svc.change_statuses_in_order([(pid, "waste", op, None), (pid, "scrap", op, None)])):
        with pytest.raises(InvalidData, match="unknown status event 'scrap'") as exc:
            call()
        assert "use one of" in exc.value.errors[0]["message"] and "recycle" in exc.value.errors[0]["message"]
    assert svc.get_record(pid).version == before
    assert svc.change_statuses([pid], "waste", op) == {pid: pid}


def test_a_repurposed_or_remanufactured_passport_declares_no_recycled_content(pilot_services: Any) -> None:
    """Review note (Art. 8(4)): the repurposed passport carried a recycled-content figure copied from its
    predecessor, as if it declared one; the obligation does not apply to re-used, repurposed or remanufactured
    batteries. The new passport declares none; the original battery's declaration stays on the passport it
    supersedes (its predecessor_ids)."""
    svc = pilot_services.passports
    op = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    for event, battery in zip(("repurpose", "remanufacture"), pilot.generate_batteries(2, seed=23)):
        rc = {"lithium_pct": 8.5, "lithium_pre_consumer_pct": 3.5, "lithium_post_consumer_pct": 5.0,
              "allocation_rule": "mass_balance"}
        pid = svc.create_passport({**battery, "recycled_content": rc}, op)["passport_id"]
        new = svc.get_record(svc.change_status(pid, event, op)["passport_id"])
        assert "recycled_content" not in new.data and new.data["predecessor_ids"] == [pid], event
        assert svc.get_record(pid).data["recycled_content"] == rc
