"""The whole-ledger verification done behind the ledger, in steps, while it is still being written (the pilot).

Stored events never change once committed, so a range of them can be checked as soon as it is committed —
body, hash, signature, the links it signed, its place in each chain and in the store sequence, and the custody
rules replayed over it (:meth:`~.ledger.Ledger.verify_store` and :meth:`~.ledger.Ledger.verify_policy`, the same
checks by the same functions) — in a worker process while the simulation goes on. At the end
(:meth:`BehindState.finish`) the tail is checked the same way, and one cheap pass makes sure that what was
checked is still what is stored:

* every event row (each column) and every chain link row of the checked ranges is read again and its digest
  compared with the digest of the rows that were checked — a body, hash, signature, column or link changed,
  removed or inserted since it was checked changes it; the number of links stored must be the number checked
  (a link naming no stored event is not in any range);
* the participants' registered keys the signatures were checked with are still the registered ones (new
  participants may have been added);
* the custody rules' inputs besides the events — roles, delegations and the passports' operators and births —
  are those they were replayed with; where one changed (a delegation revoked, a role granted…), the rules are
  replayed again over the whole ledger with the registry's final state (in the worker).

So the signatures are checked once each, and the final answer covers every stored event exactly as the
whole-ledger pass does. It is only a fast path for a ledger that checks out: if any check found a problem,
or anything checked was changed, :meth:`finish` gives ``None`` with the reason, and the caller runs the
whole-ledger verification (:meth:`~.service.TraceService.verify`), which names each problem as before.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import time
from typing import Any, NamedTuple

import orjson

from ..store import ledger as repo
from ..store import participants as participants_repo
from ..store import relations as relations_repo
from .canonical import GENESIS
from .keys import KeyFormatError, public_key_from_text
from .verify import Checkpoint, Problem, VerifyReport, _order_problems, check_event_fields, check_event_links

log = logging.getLogger(__name__)


def _row_digest(h: tuple[Any, Any], rows: list[tuple[Any, ...]], links: list[tuple[Any, ...]]) -> None:
    """Events and links (plain tuples, each in store order) into two digests: the same whatever the ranges read —
    each row's JSON array followed by a comma, a range's rows written by one ``orjson.dumps`` of the list."""
    for d, part in zip(h, (rows, links), strict=True):
        if part:
            d.update(orjson.dumps(part)[1:-1])
            d.update(b",")


class _Link(NamedTuple):
    """A chain link row as read (:func:`~batteryloop.store.ledger.link_tuples_in_range`)."""

    event_id: str
    subject: str
    seq: int
    prev_hash: str
    event_hash: str


class BehindState:
    """The verification's state between steps (in the worker process, or in this one for tests)."""

    def __init__(self, store: Any, max_future_seconds: float, batch: int = 20_000) -> None:
        self.store = store
        self.max_future_seconds = max_future_seconds
        self.batch = batch
        self.upto = 0  # the last store sequence checked
        self.problems: list[Problem] = []
        self.cp = Checkpoint()
        self.heads: dict[str, tuple[int, str]] = {}  # subject -> (seq, hash) of its last link checked
        self.links = 0
        self.digest = (hashlib.sha256(), hashlib.sha256())
        self.texts: dict[str, str | None] | None = None  # the registered keys the signatures were checked with
        self._keys: dict[str, Any] = {}
        self.policy: Any = None
        self.policy_report = VerifyReport(scope="custody rules")
        self.registry: tuple[dict[str, frozenset[str]], list[Any]] | None = None  # roles, delegations replayed with
        self.registry_changed: str | None = None
        self.stale: str | None = None  # why the fast path cannot answer
        self.replayed_again = ""  # why the final pass replayed the custody rules over the whole ledger again

    def _key(self, actor: str) -> Any:
        if actor not in self._keys:
            assert self.texts is not None
            if actor not in self.texts:
                return None
            t = self.texts[actor]
            try:
                self._keys[actor] = public_key_from_text(t) if t else False
            except (KeyFormatError, ValueError):
                self._keys[actor] = False
        return self._keys[actor]

    def _registry(self, conn: Any) -> None:
        """The keys, roles and delegations now: new participants and delegations created after the events
        replayed so far are taken in; any other change is noted (the keys: the fast path gives up; the custody
        rules: replayed again at the end)."""
        from .ledger import PolicyReplay

        texts = dict(participants_repo.public_keys(conn))
        roles = repo.all_roles(conn)
        dels = relations_repo.all_delegations(conn)
        if self.texts is None:
            self.texts = texts
            self.registry = (roles, dels)
            self.policy = PolicyReplay(roles, dels, self.max_future_seconds)
            return
        if any(texts.get(a, "__gone__") != t for a, t in self.texts.items()):
            self.stale = "a participant's registered key changed after events signed by it were checked"
        self.texts = texts
        assert self.registry is not None and self.policy is not None
        old_roles, old_dels = self.registry
        if self.registry_changed is None:
            after = self.policy.last_recorded_at
            before = {d.id: d for d in old_dels}
            if any(roles.get(p) != r for p, r in old_roles.items()):
                self.registry_changed = "a participant's roles changed"
            elif any(p not in old_roles and p in self.policy.unregistered for p in roles):
                self.registry_changed = "a participant was registered after the rules were replayed over events naming it"
            elif any(before.get(d.id, d) != d for d in dels) or len({d.id for d in dels} & set(before)) != len(before):
                self.registry_changed = "a delegation changed or was removed"
            elif any(d.id not in before and d.created_at <= after for d in dels):
                self.registry_changed = "a delegation was created before events already replayed"
        self.registry = (roles, dels)
        self.policy.set_registry(roles, dels)

    def step(self) -> int:
        """Check every event committed since the last step; returns the last store sequence checked."""
        with self.store.read() as conn:
            top = repo.max_gseq(conn)
            self._registry(conn)
        lo = self.upto + 1
        while lo <= top:
            hi = min(lo + self.batch - 1, top)
            with self.store.read() as conn:
                rows = repo.event_tuples_in_range(conn, lo, hi)
                links = repo.link_tuples_in_range(conn, lo, hi)
                events = self._check(rows, links)
                self.policy.feed_events(conn, events, self.policy_report)
            _row_digest(self.digest, rows, links)
            lo = hi + 1
        self.upto = top
        return top

    def _check(self, rows: list[tuple[Any, ...]], links: list[tuple[Any, ...]]) -> list[tuple[str, Any]]:
        """Check a range's event rows (tuples: gseq, id, hash, body, signature, kind, actor, occurred_at, country,
        recorded_at) and their links (event_id, subject, seq, prev_hash, event_hash; by the event's store sequence);
        returns (recorded_at, :class:`~.events.FlatEvent`) of each event whose body reads as one, for the custody
        rules (the body parsed once)."""
        from .events import FlatEvent

        by_event: dict[str, list[tuple[Any, ...]]] = {}
        for ln in links:
            mine = by_event.get(ln[0])
            if mine is None:
                by_event[ln[0]] = [ln]
            else:
                mine.append(ln)
        problems = self.problems
        heads = self.heads
        key = self._key
        cp_add = self.cp.add
        events: list[tuple[str, Any]] = []
        expected_gseq = self.cp.last_gseq + 1
        for gseq, eid, h, text, sig, kind, actor, occurred_at, country, recorded_at in rows:
            if gseq != expected_gseq:
                problems.append(Problem(eid, "store_seq_gap", f"store sequence {expected_gseq} is missing before "
                                        f"event {eid} (removed event)"))
            expected_gseq = gseq + 1
            p, body = check_event_fields(eid, text, h, sig, (kind, actor, occurred_at, country), key, full_schema=False)
            if p:
                problems += p
            mine = by_event.get(eid, ())
            signed = (body.get("prev") if body is not None else None) or {}
            # each link names this event's hash and the prev its actor signed, one link per signed subject:
            # nothing to report (else check_event_links names each problem)
            if (body is None or not isinstance(signed, dict) or len(mine) != len(signed) or len({ln[1] for ln in mine}) != len(mine)
                    or not all(ln[4] == h and signed.get(ln[1]) == ln[3] for ln in mine)):
                problems += check_event_links(eid, h, body, [_Link(*ln) for ln in mine])
            for ln in mine:
                _, subj, lseq, lprev, lhash = ln
                seq, prev = heads.get(subj, (0, GENESIS))
                if lseq != seq + 1 or lprev != prev:  # its place in its chain: else _order_problems names it
                    problems += _order_problems(subj, _Link(*ln), seq + 1, prev)
                heads[subj] = (lseq, lhash)
            cp_add(gseq, h)
            if body is not None:
                try:
                    events.append((recorded_at, FlatEvent(body)))
                except (KeyError, TypeError):
                    pass  # not an event's form (reported above as the signature's or hash's problem): skipped by
                    # the custody rules, as PolicyReplay.feed skips it
        self.links += len(links)
        return events

    def finish(self) -> tuple[dict[str, Any] | None, str]:
        """The tail checked, then what was checked compared with what is stored (module text). Returns the
        report's figures (events and links checked, checkpoint), or ``None`` and the reason the whole-ledger
        verification must answer instead."""
        from .ledger import PolicyReplay

        self.step()
        if self.problems:
            return None, f"{len(self.problems)} problem(s) found by the checks behind the ledger"
        if self.policy_report.problems:
            return None, f"{len(self.policy_report.problems)} custody-rule refusal(s) found behind the ledger"
        if self.stale:
            return None, self.stale
        again = (hashlib.sha256(), hashlib.sha256())
        lo = 1
        with self.store.read() as conn:
            top = repo.max_gseq(conn)
        if top != self.upto:
            return None, "events were committed while the ledger's last range was checked"
        while lo <= top:
            hi = min(lo + self.batch - 1, top)
            with self.store.read() as conn:
                rows = repo.event_tuples_in_range(conn, lo, hi)
                links = repo.link_tuples_in_range(conn, lo, hi)
            _row_digest(again, rows, links)
            lo = hi + 1
        with self.store.read() as conn:
            if [h.digest() for h in again] != [h.digest() for h in self.digest]:
                return None, "an event or link row checked earlier has changed since"
            if repo.count_links(conn) != self.links:
                return None, "the store holds chain links that name no stored event"
            if repo.max_gseq(conn) != top:
                return None, "events were committed during the final pass"
            self._registry(conn)
            if self.stale:
                return None, self.stale
            ops, born = self.policy.ops, self.policy.born
            from .ledger import _date_text

            births = list(repo.all_passport_births(conn))
            births_changed = any(p.id in ops and (ops[p.id], born.get(p.id)) != (p.economic_operator_id,
                                                                                  _date_text(p.manufacture_date))
                                 for p in births)
            # a passport the replay read (an operator or a birth date) that is gone now: the rules read None
            now = {p.id for p in births}
            births_changed = births_changed or any(
                pid not in now and (op is not None or born.get(pid) is not None) for pid, op in ops.items())
        why = self.registry_changed or ("a passport's operator or manufacture date changed after its events were "
                                        "replayed" if births_changed else None)
        if why is not None:  # the custody rules replayed again over the whole ledger, with the final registry
            self.replayed_again = why
            rep = VerifyReport(scope="custody rules")
            with self.store.read() as conn:
                replay = PolicyReplay(repo.all_roles(conn), relations_repo.all_delegations(conn),
                                      self.max_future_seconds)
            last = 0
            while True:
                with self.store.read() as conn:
                    rows = repo.events_after(conn, last, self.batch)
                    if not rows:
                        break
                    replay.feed(conn, rows, rep)
                last = rows[-1].gseq
            if rep.problems:
                return None, f"custody rules replayed again ({why}): {len(rep.problems)} refusal(s)"
        return {"events_checked": self.cp.count, "links_checked": self.links, "checkpoint": self.cp.as_dict()}, ""


_STATE: BehindState | None = None


BEHIND_NICE = 10
"""The worker's scheduling priority below the pilot's (``os.nice``): on a machine with fewer cores than
runnable processes the simulation, whose events the worker checks, goes first, and the worker takes the CPU
time left over (it is behind the ledger by design and catches up at the end)."""


def _init_behind(url: str, max_future_seconds: float, cache_mib: int | None = None) -> None:
    global _STATE
    import os

    from ..store.db import Store

    try:
        os.nice(BEHIND_NICE)
    except OSError:  # not permitted here: the same priority as the pilot
        pass

    _STATE = BehindState(Store(url, sqlite_cache_mib=cache_mib), max_future_seconds)
    gc.set_threshold(20_000, *gc.get_threshold()[1:])  # fewer young collections (as the pilot's own process)


def _behind_ping() -> int:
    return 0


def _behind_step() -> int:
    assert _STATE is not None
    try:
        return _STATE.step()
    finally:
        # what the steps keep (the replay's custody, lots, passports' births, chain heads) grows with the ledger:
        # collected once a step and frozen, it is not scanned again by each collection of the steps after
        gc.collect()
        gc.freeze()


def _behind_fold() -> tuple[int, str]:
    """The kept mass balance (:mod:`.mb_summary`) brought up to the ledger, whole batches only (the same batches,
    to the last bit, as the pilot's own refreshes would fold): (events folded, "" or what failed). A failure is
    never the verification's: the next refresh (the pilot's, at the year's balance) folds what is left."""
    from .mb_summary import MassBalanceSummary

    assert _STATE is not None
    try:
        return MassBalanceSummary(_STATE.store).refresh(whole_batches_only=True), ""
    except Exception as exc:  # noqa: BLE001 — the store busy, a race lost thrice…: the pilot's refresh does it
        return 0, f"{type(exc).__name__}: {exc}"[:300]


def _behind_finish() -> tuple[dict[str, Any] | None, str]:
    assert _STATE is not None
    return _STATE.finish()


FINISH_TIMEOUT_S = 3600.0
"""How long the report waits for the worker's steps and final pass before it gives the worker up and runs the
whole-ledger pass itself (the final pass took 39 s at 100,000 packs)."""


class VerifierBehind:
    """The verification behind the ledger in one worker process forked from this one (module text):
    :meth:`check` after each batch of commits (returns at once), :meth:`start_finish` then :meth:`finish` for the
    report. Without ``fork`` or on an in-memory store it does nothing and :meth:`finish` gives ``None``.

    ``fold_mass_balance``: before each step the worker also folds the events committed since into the kept mass
    balance (:func:`_behind_fold`, whole batches), so that the pilot's refresh at each year's balance — its main
    process, the other core idle — finds only the tail left (``folded``: events folded there; ``fold_errors``)."""

    def __init__(self, store: Any, max_future_seconds: float, *, fold_mass_balance: bool = False) -> None:
        import multiprocessing as mp

        self.store = store
        self.reason = ""
        self.fold_mass_balance = fold_mass_balance
        self.folded = 0
        self.fold_errors: list[str] = []
        self._folds: list[Any] = []
        self._futures: list[Any] = []
        self._final: Any = None
        self._pool: Any = None
        if ":memory:" in store.url or "fork" not in mp.get_all_start_methods():
            self.reason = "no worker process (in-memory store or no fork)"
            return
        from ._parallel import fork_pool

        self._pool = fork_pool(1, _init_behind, (store.url, max_future_seconds, store.sqlite_cache_mib))
        self._futures.append(self._pool.submit(_behind_ping))  # forked now, while this process is small

    def check(self) -> None:
        """Check, in the worker, what is committed now (the worker takes the steps in order). A worker that died
        (killed for memory, a failed start) ends the verification behind: the report's whole-ledger pass
        answers, and the run goes on."""
        if self._pool is not None:
            try:
                self._futures = [f for f in self._futures if not f.done() or f.exception() is not None]
                if self.fold_mass_balance:  # first: the pilot's next balance waits for it, the verification does not
                    self._collect_folds(done_only=True)
                    self._folds.append(self._pool.submit(_behind_fold))
                self._futures.append(self._pool.submit(_behind_step))
            except Exception as exc:  # noqa: BLE001 — BrokenProcessPool and kin: never the pilot's end
                self._abandon(f"the worker failed: {type(exc).__name__}: {exc}")

    def _collect_folds(self, done_only: bool) -> None:
        """The folds' answers into ``folded`` and ``fold_errors`` (those done, or all of them, waiting)."""
        left = []
        for f in self._folds:
            if done_only and not f.done():
                left.append(f)
                continue
            try:
                n, err = f.result()
            except Exception as exc:  # noqa: BLE001 — the worker died or was given up: nothing was folded there
                n, err = 0, f"{type(exc).__name__}: {exc}"[:300]
            self.folded += n
            if err:  # not the run's end: the next refresh in this process folds what is left
                log.warning("the kept mass balance was not folded behind the ledger: %s", err)
                self.fold_errors.append(err)
        self._folds = left

    def start_finish(self) -> None:
        if self._pool is not None and self._final is None:
            try:
                self._final = self._pool.submit(_behind_finish)
            except Exception as exc:  # noqa: BLE001
                self._abandon(f"the worker failed: {type(exc).__name__}: {exc}")

    def _abandon(self, why: str) -> None:
        """Give the worker up (dead, failing or hung): :meth:`finish` gives ``None`` with ``why``."""
        self.reason = why
        pool, self._pool = self._pool, None
        if pool is not None:
            for proc in list(getattr(pool, "_processes", {}).values()):  # a hung worker would hold shutdown
                proc.terminate()
            pool.shutdown(wait=False, cancel_futures=True)

    def finish(self) -> VerifyReport | None:
        """The whole ledger's verification (events and links checked, checkpoint), or ``None`` (``reason`` says
        why) when the whole-ledger pass must answer."""
        if self._pool is None:
            return None
        self.start_finish()
        if self._pool is None:
            return None
        try:
            deadline = time.monotonic() + FINISH_TIMEOUT_S
            for f in [*self._futures, self._final]:
                f.result(timeout=max(0.0, deadline - time.monotonic()))
            out, why = self._final.result()
            self._collect_folds(done_only=False)  # all done: the worker takes its tasks in order
        except Exception as exc:  # noqa: BLE001 — a step that failed (the store busy…) or a hung worker
            self._abandon(f"the worker failed: {type(exc).__name__}: {exc}"[:300])
            return None
        finally:
            self.close()
        if out is None:
            self.reason = why
            return None
        with self.store.read() as conn:
            if repo.max_gseq(conn) != out["checkpoint"]["last_gseq"]:
                self.reason = "events were committed after the final pass"
                return None
        return VerifyReport(scope="store", events_checked=out["events_checked"], links_checked=out["links_checked"],
                            checkpoint=out["checkpoint"])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
