"""The ledger service: append signed events, batch ingest, read chains, verify one event, a chain, the store.

Appends run in one write transaction each (a batch in one transaction for all its events): the event
row, one chain link per subject, the lots it produces, the edges to the lots it consumes, and the
custody state of its subjects. Either all of it is stored or nothing is.

Chains never fork. A link's key is (subject, seq) and (subject, prev_hash) is unique, and the event's
signed ``prev`` must equal the subject's current head. On SQLite writers queue on ``BEGIN
IMMEDIATE``; on PostgreSQL two writers that extend the same head collide on the key and the loser
gets :class:`StaleChain` (pre-signed events) or is re-signed against the new head and retried
(:meth:`Ledger.record`, for participants whose key this node holds).
"""

from __future__ import annotations

import dataclasses
import gc
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..access import Caller
from ..errors import Conflict, Forbidden, InvalidData, NotFound
from ..store import ledger as repo
from ..store import participants as participants_repo
from ..store import relations as relations_repo
from ..store import rc_years as rc_years_repo
from ..store import waste as waste_repo
from ..store import trace_reach
from ..store.db import Store, StoreBusy, backoff, utcnow_iso
from ..store.errors import IntegrityViolation
from .canonical import GENESIS
from .custody import custody_changes
from .events import FlatEvent, LotKind, SealedEvent, chain_subjects, normalize_full, seal
from .keys import KeyFormatError, PublicKey, Signer, public_key_from_text, verify_signature
from ..relations import in_force
from .policy import LotFacts, WasteShares, check_event, namespace_owner, recovery_inputs
from .lots import LotState, check_transformation, edge_rows, lot_row, pack_sources
from .verify import Checkpoint, Problem, VerifyReport, check_chain_links, check_chain_sequence, check_event_row


class StaleChain(Conflict):
    """The event's ``prev`` is not the current head of a subject's chain (someone appended first)."""


@dataclass
class SubmitResult:
    event_id: str
    hash: str
    status: str  # "stored" or "duplicate"
    gseq: int | None = None


@dataclass
class IngestReport:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    ok: bool = True
    error: dict[str, Any] | None = None  # the first invalid event: index, line, event_id, detail, errors
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"received": self.received, "stored": self.stored, "duplicates": self.duplicates, "ok": self.ok,
                "error": self.error, "seconds": round(self.seconds, 4)}


class _Rejected(Exception):
    def __init__(self, index: int, exc: Exception) -> None:
        super().__init__(str(exc))
        self.index = index
        self.exc = exc


def _one(field_: str, rule: str, message: str, value: Any = None) -> list[dict[str, Any]]:
    return [{"field": field_, "rule": rule, "message": message, "value": value}]


@dataclass
class _TxState:
    """Per-transaction caches: chain heads, lots, next store sequence number."""

    next_gseq: int
    recorded_at: str = field(default_factory=utcnow_iso)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    lots: dict[str, LotState | None] = field(default_factory=dict)
    custody: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)  # event id -> hash stored in this transaction
    rows_events: list[dict[str, Any]] = field(default_factory=list)
    rows_chain: list[dict[str, Any]] = field(default_factory=list)
    rows_lots: list[dict[str, Any]] = field(default_factory=list)
    rows_edges: list[dict[str, Any]] = field(default_factory=list)
    rows_sources: list[dict[str, Any]] = field(default_factory=list)
    inputs_of: dict[str, list[str]] = field(default_factory=dict)  # lot -> its input lots
    consumed: dict[str, float] = field(default_factory=dict)
    custody_new: dict[str, dict[str, Any]] = field(default_factory=dict)
    custody_upd: dict[str, dict[str, Any]] = field(default_factory=dict)
    born: dict[str, str | None] = field(default_factory=dict)  # passport subject -> its manufacture date
    operators: dict[str, str | None] = field(default_factory=dict)  # subject -> economic operator of that passport
    delegates: dict[str, list[tuple[str, frozenset[str], str]]] = field(default_factory=dict)
    carry: _Carry | None = None  # what this ledger's previous transactions left (no other writer since)
    last_hash: str | None = None  # the hash of the last event written in this transaction
    rc_years: dict[int, bool] | None = None  # applied recycled-content years → marked in this transaction (read once)
    made: dict[str, FlatEvent] = field(default_factory=dict)  # lot made in this transaction -> the event that made it
    waste: dict[str, Any] = field(default_factory=dict)  # lot -> (mass, waste share): policy.WasteShares


def _facts_of_row(r: Any, edges: list[tuple[str, float]]) -> LotFacts:
    return LotFacts(r.kind, r.mass_kg, orjson.loads(r.elements), r.origin_type, r.producer, r.event_kind, tuple(edges))


def _stored_facts(conn: Any, ids: list[str]) -> dict[str, LotFacts]:
    return {r.id: _facts_of_row(r, edges) for r, edges in waste_repo.lot_facts(conn, ids)}


CARRY_ENTRIES = 600_000
"""At most this many chain heads, lots, custody states and lots' input lists are kept between transactions
(then only the last transaction's)."""


def _copy_lot(v: LotState | None) -> LotState | None:
    return None if v is None else dataclasses.replace(v, elements_kg=dict(v.elements_kg))


def _copy_custody(v: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if v is None else dict(v)


@dataclass
class _Carry:
    """Chain heads, lots, custody states and lots' inputs as this ledger's last committed transaction left them
    in the store, for its next transaction: they change only through appends, so while the store's last event is
    still the one this ledger wrote (no other writer appended since) they are what the store holds."""

    gseq: int
    last_hash: str
    heads: dict[str, tuple[int, str]]
    lots: dict[str, LotState | None]
    custody: dict[str, dict[str, Any] | None]
    inputs_of: dict[str, list[str]]


class Ledger:
    """The signed, hash-chained lifecycle ledger on a :class:`Store`."""

    def __init__(self, store: Store, key_cache_seconds: float = 30.0, max_future_seconds: float | None = None) -> None:
        self.store = store
        # how far after the moment of recording an event's time may be (clock skew between participants)
        self.max_future_seconds = float(max_future_seconds if max_future_seconds is not None else
                                        os.environ.get("BATTERYLOOP_TRACE_MAX_FUTURE_SECONDS", "300"))
        self._keys: dict[str, tuple[float, PublicKey | None | bool]] = {}
        self._role_cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._key_ttl = key_cache_seconds
        self._carry: _Carry | None = None
        self._carry_lock = threading.Lock()

    # ------------------------------------------------------------------ keys
    def public_key(self, actor: str) -> PublicKey | None | bool:
        """The actor's registered key; ``None`` if unknown, ``False`` if it has none (or an unreadable one)."""
        now = time.monotonic()
        hit = self._keys.get(actor)
        if hit is not None and now - hit[0] < self._key_ttl:
            return hit[1]
        with self.store.read() as conn:
            row = repo.public_key_row(conn, actor)
        key: PublicKey | None | bool
        if row is None:
            key = None
        elif not row.public_key:
            key = False
        else:
            try:
                key = public_key_from_text(row.public_key)
            except (KeyFormatError, ValueError):
                key = False
        self._keys[actor] = (now, key)
        return key

    def forget_keys(self) -> None:
        self._keys.clear()

    def registry_keys(self) -> dict[str, PublicKey | bool]:
        """Every participant's key as now registered (no cache): what verification uses."""
        with self.store.read() as conn:
            texts = dict(participants_repo.public_keys(conn))
        out: dict[str, PublicKey | bool] = {}
        for pid, text in texts.items():
            try:
                out[pid] = public_key_from_text(text) if text else False
            except (KeyFormatError, ValueError):
                out[pid] = False
        return out

    # ------------------------------------------------------------- admission
    def admit(self, data: Mapping[str, Any] | SealedEvent, caller: Caller | None = None) -> SealedEvent:
        """Validate an event and check its signature against the actor's registered key."""
        if isinstance(data, SealedEvent):
            sealed = data
        else:
            _, body, h, dump = normalize_full(dict(data))
            sig = data.get("signature")
            sealed = SealedEvent(FlatEvent(dump), body, h, sig if isinstance(sig, str) else None)
        ev = sealed.event
        if caller is not None and not caller.is_admin and caller.participant_id != ev.actor:
            raise Forbidden(f"event {ev.id}: {caller.participant_id or 'an anonymous caller'} may not submit "
                            f"events whose actor is {ev.actor}")
        if not sealed.signature:
            raise InvalidData(f"event {ev.id}: signature is missing", _one(
                "signature", "required", "signature: the actor's Ed25519 signature (base64url) of the event hash"),
                event_id=ev.id)
        key = self.public_key(ev.actor)
        if key is None:
            raise InvalidData(f"event {ev.id}: actor {ev.actor} is not in the participant registry", _one(
                "actor", "registered", f"actor: {ev.actor} is not a registered participant", ev.actor), event_id=ev.id)
        if key is False:
            raise InvalidData(f"event {ev.id}: actor {ev.actor} has no public key in the participant registry", _one(
                "actor", "public_key", f"actor: register an Ed25519 public key for {ev.actor}", ev.actor),
                event_id=ev.id)
        if not verify_signature(key, sealed.hash, sealed.signature):  # type: ignore[arg-type]
            raise InvalidData(
                f"event {ev.id}: signature does not verify under the registered key of {ev.actor} "
                f"(event hash {sealed.hash[:16]}…; was it signed over the canonical form by that key?)",
                _one("signature", "signature_valid", "signature: not a valid signature of the event hash by the "
                     "actor's registered key", sealed.signature[:20]), event_id=ev.id)
        return sealed

    # --------------------------------------------------------------- append
    def submit(self, data: Mapping[str, Any] | SealedEvent, caller: Caller | None = None) -> SubmitResult:
        """Append one signed event (idempotent: the same id and content again is a no-op)."""
        sealed = self.admit(data, caller)
        return self._apply_batch([sealed], stop_on_stale=True)[0]

    def record(self, data: Mapping[str, Any], signer: Signer, attempts: int = 50) -> SubmitResult:
        """Fill in ``prev`` from the current chain heads, sign with ``signer`` and append; retry if beaten.

        For nodes that hold their participants' keys (the demo, a company's own node).
        """
        last: Exception | None = None
        for i in range(attempts):
            d = dict(data)
            d.pop("signature", None)
            d["prev"] = self.heads(chain_subjects(_loose(d)))
            sealed = seal(d, signer)
            try:
                return self.submit(sealed)
            except StaleChain as exc:
                last = exc
                time.sleep(backoff(i, base=0.001, cap=0.04))  # jittered: racing writers fall out of step
        raise last or RuntimeError("unreachable")

    def heads(self, subjects: Iterable[str], conn: Any = None) -> dict[str, str]:
        """The hash of each subject's last event (64 zeros for a subject with no events yet)."""
        subjects = list(subjects)
        if conn is None:
            with self.store.read() as c:
                return self.heads(subjects, c)
        out = {}
        for s in subjects:
            h = repo.head(conn, s)
            out[s] = h[1] if h else GENESIS
        return out

    def ingest(self, events: Iterable[Mapping[str, Any] | str | bytes], caller: Caller | None = None, *,
               workers: int | None = 1, chunk: int = 2000,
               line_numbers: list[int] | None = None, executor: Any = None, sealed_by: Any = None) -> IngestReport:
        """Append a batch all-or-nothing. The report names the first invalid event and why.

        ``events`` are dicts or JSON texts (JSON lines). With ``workers`` > 1 (the CLI passes one per
        CPU; ``None`` means one per CPU for batches of 4,000 events or more) validation and signature
        checks run in that many forked processes while this process writes the events already checked,
        all in one transaction. The default, 1, forks nothing (safe inside a threaded server).
        ``line_numbers`` (one per event) are the events' lines in their source file: the report names
        those instead of the events' positions (``ingest_file`` skips blank lines). ``executor`` (a process
        pool the caller keeps) checks the signatures of sealed events (:class:`SealedEvent`) in its workers
        instead of a pool forked for the call, whatever their number. ``sealed_by`` (the in-process
        :class:`~.client.BatchSealer` that sealed them, e.g. the pilot's): the events it vouches for — the very
        objects its last ``seal`` returned, signed with the key registered for their actor — are not checked a
        second time here (it just made those signatures); each is checked once, by the whole-ledger verification
        (``verify_store`` or the verification behind the ledger) before anyone is told the ledger verifies.
        """
        t0 = time.perf_counter()
        items = events if isinstance(events, list) else list(events)
        rep = IngestReport(received=len(items))
        gc_was = gc.isenabled()
        gc.disable()  # millions of short-lived objects and no cycles: the collector only costs time here
        try:
            return self._ingest(items, caller, workers, chunk, rep, t0, line_numbers, executor, sealed_by)
        finally:
            if gc_was:
                gc.enable()

    def _ingest(self, items: list[Any], caller: Caller | None, workers: int | None, chunk: int,
                rep: IngestReport, t0: float, line_numbers: list[int] | None = None,
                executor: Any = None, sealed_by: Any = None) -> IngestReport:
        if workers is None:
            workers = (os.cpu_count() or 1) if len(items) >= 4000 else 1
        sealed = (executor is not None or sealed_by is not None) and bool(items) and all(
            isinstance(x, SealedEvent) for x in items)
        if sealed and sealed_by is not None and self._vouched(items, caller, sealed_by):
            source: Iterator[list[SealedEvent]] = (items[i:i + chunk] for i in range(0, len(items), chunk))
        elif sealed and executor is not None:
            source = self._admit_sealed_parallel(items, caller, max(workers, 2), chunk, self._key_texts(), executor)
        elif workers > 1:
            source = self._admit_parallel(items, caller, workers, chunk, line_numbers)
        else:
            source = self._admit_serial(items, caller, chunk, line_numbers)
        try:
            results = self._apply_stream(source)
        except _Rejected as rj:
            rep.ok = False
            item = items[rj.index]
            if isinstance(item, str | bytes):
                try:
                    item = orjson.loads(item)
                except orjson.JSONDecodeError:
                    item = None
            rep.error = _error_report(rj.index, rj.exc, item, line_numbers)
            rep.seconds = time.perf_counter() - t0
            return rep
        rep.stored = sum(r.status == "stored" for r in results)
        rep.duplicates = sum(r.status == "duplicate" for r in results)
        rep.seconds = time.perf_counter() - t0
        return rep

    def ingest_file(self, path: str | Path, caller: Caller | None = None, **kw: Any) -> IngestReport:
        """Ingest a JSON-lines file (one signed event per line; blank lines ignored)."""
        with open(path, "rb") as fh:
            numbered = [(n, ln) for n, ln in enumerate(fh.read().splitlines(), 1) if ln.strip()]
        return self.ingest([ln for _, ln in numbered], caller, line_numbers=[n for n, _ in numbered], **kw)

    def _admit_serial(self, items: list[Any], caller: Caller | None, chunk: int,
                      line_numbers: list[int] | None = None) -> Iterator[list[SealedEvent]]:
        out: list[SealedEvent] = []
        for n, item in enumerate(items):
            try:
                if isinstance(item, str | bytes):
                    try:
                        item = orjson.loads(item)
                    except orjson.JSONDecodeError as exc:
                        line = line_numbers[n] if line_numbers else n + 1
                        raise InvalidData(f"line {line} is not JSON: {exc}", _one("(line)", "json", str(exc))) from None
                out.append(self.admit(item, caller))
            except (InvalidData, Forbidden) as exc:
                if out:
                    yield out
                raise _Rejected(n, exc) from None
            if len(out) >= chunk:
                yield out
                out = []
        if out:
            yield out

    def _admit_parallel(self, items: list[Any], caller: Caller | None, workers: int,
                        chunk: int, line_numbers: list[int] | None = None) -> Iterator[list[SealedEvent]]:
        from ._parallel import admit_chunks

        texts = self._key_texts()
        if items and all(isinstance(x, SealedEvent) for x in items):
            yield from self._admit_sealed_parallel(items, caller, workers, chunk, texts)
            return
        for start, results in admit_chunks(items, texts, workers, chunk, line_numbers):
            out: list[SealedEvent] = []
            for k, res in enumerate(results):
                if res[0] == "error":
                    if out:
                        yield out
                    _, detail, errors, extra, kind = res
                    exc: Exception = InvalidData(detail, errors, **extra)
                    raise _Rejected(start + k, exc)
                body, h, sig = res
                ev = FlatEvent.from_body(body)
                if caller is not None and not caller.is_admin and caller.participant_id != ev.actor:
                    if out:
                        yield out
                    raise _Rejected(start + k, Forbidden(
                        f"event {ev.id}: {caller.participant_id or 'an anonymous caller'} may not submit events "
                        f"whose actor is {ev.actor}"))
                out.append(SealedEvent(ev, body, h, sig))
            yield out

    def _vouched(self, items: list[SealedEvent], caller: Caller | None, sealed_by: Any) -> bool:
        """Whether the in-process sealer vouches for every event (``BatchSealer.vouches``) against the keys the
        store has registered, and the caller may submit each (its own events, or an admin; the pilot: no caller)."""
        texts = self._key_texts()
        if caller is not None and not caller.is_admin and any(caller.participant_id != s.event.actor for s in items):
            return False
        return all(sealed_by.vouches(s, texts.get(s.event.actor)) for s in items)

    def _key_texts(self) -> dict[str, str | None]:
        """Every registered participant's public key text (what worker processes check signatures against)."""
        with self.store.read() as conn:
            return dict(participants_repo.public_keys(conn))

    def _admit_sealed_parallel(self, items: list[SealedEvent], caller: Caller | None, workers: int, chunk: int,
                               texts: dict[str, str | None], executor: Any = None) -> Iterator[list[SealedEvent]]:
        """Events validated and hashed in this process (:func:`.events.seal`: the simulator's own signers): the
        workers check their signatures against the registered keys; a refusal is the serial admitter's."""
        from ._parallel import verify_sealed_chunks

        triples = [(s.event.actor, s.hash, s.signature) for s in items]
        for start, results in verify_sealed_chunks(triples, texts, workers, chunk, executor):
            out: list[SealedEvent] = []
            for k, ok in enumerate(results):
                s = items[start + k]
                if not ok or (caller is not None and not caller.is_admin and caller.participant_id != s.event.actor):
                    if out:
                        yield out
                    try:  # the serial admitter words the refusal (unknown actor, no key, bad signature, not yours)
                        self.admit(s, caller)
                    except (InvalidData, Forbidden) as exc:
                        raise _Rejected(start + k, exc) from None
                    raise AssertionError(f"event {s.event.id}: refused by a worker, admitted here")  # pragma: no cover
                out.append(s)
            yield out

    # ------------------------------------------------------------ internals
    def _apply_batch(self, batch: list[SealedEvent], *, stop_on_stale: bool = True) -> list[SubmitResult]:
        try:
            return self._apply_stream(iter([batch]), single=len(batch) == 1)
        except _Rejected as rj:  # pragma: no cover - single events raise directly
            raise rj.exc from None

    def _apply_stream(self, chunks: Iterator[list[SealedEvent]], single: bool = False) -> list[SubmitResult]:
        """Apply chunks of admitted events in one write transaction; retried if another writer wins a race."""
        received: list[list[SealedEvent]] = []
        source = iter(chunks)

        def replay() -> Iterator[list[SealedEvent]]:
            yield from received
            for c in source:
                received.append(c)
                yield c

        for attempt in range(8):
            try:
                results: list[SubmitResult] = []
                with self._carry_lock:  # one transaction at a time takes it (the API's thread pool shares a ledger)
                    carry, self._carry = self._carry, None  # kept again only once this transaction is committed
                with repo.append_transaction(self.store) as conn:
                    top = repo.max_gseq(conn)
                    st = _TxState(next_gseq=top + 1)
                    if carry is not None and carry.gseq == top and repo.stored_hash_at(conn, top) == carry.last_hash:
                        st.carry = carry
                    n = 0
                    for batch in replay():
                        existing = self._existing(conn, [s.event.id for s in batch])
                        self._prefetch(conn, st, batch)
                        for s in batch:
                            try:
                                results.append(self._apply(conn, st, s, existing))
                            except (Conflict, InvalidData, Forbidden) as exc:
                                if single:
                                    raise
                                raise _Rejected(n, exc) from None
                            n += 1
                        self._flush(conn, st)
                carried = self._carried(st, top)
                with self._carry_lock:
                    self._carry = carried
                return results
            except IntegrityViolation as exc:
                # another writer (PostgreSQL) took a chain position or store sequence number first
                if attempt == 7:
                    raise Conflict(f"could not append after {attempt + 1} attempts: {exc.orig}") from None
                time.sleep(0.002 * 2**attempt)
            except repo.TransientStoreError as exc:  # deadlocks, serialization failures, SQLite busy: run it again
                if attempt == 7:
                    raise StoreBusy(f"could not append after {attempt + 1} attempts: {exc.orig}; retry later") from None
                self.store.note_retry()
                time.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    @staticmethod
    def _carried(st: _TxState, top: int) -> _Carry | None:
        """What the transaction just committed leaves for the next one (:class:`_Carry`)."""
        c = st.carry
        if st.last_hash is None:  # nothing written: what was carried still holds
            return c
        if c is None or len(c.heads) + len(c.lots) + len(c.custody) + len(c.inputs_of) > CARRY_ENTRIES:
            c = _Carry(0, "", {}, {}, {}, {})
        c.gseq, c.last_hash = st.next_gseq - 1, st.last_hash
        c.heads.update(st.heads)
        c.lots.update(st.lots)
        c.custody.update(st.custody)
        c.inputs_of.update(st.inputs_of)
        return c

    def _existing(self, conn: Any, ids: list[str]) -> dict[str, str]:
        return repo.stored_hashes(conn, ids)

    def _prefetch(self, conn: Any, st: _TxState, batch: list[SealedEvent]) -> None:
        """Load chain heads, lots and custody rows for the whole batch in a few IN queries."""
        subjects: set[str] = set()
        lots: set[str] = set()
        custody: set[str] = set()
        for s in batch:
            ev = s.event
            subjects.update(ev.prev)
            lots.update(i.lot for i in ev.inputs)
            lots.update(o.lot for o in ev.outputs)
            custody.update(ev.subjects)
            lots.update(ev.subjects)
            custody.update(i.lot for i in ev.inputs)
            custody.update(o.lot for o in ev.outputs if o.kind in (LotKind.PACK, LotKind.MODULE))
        subjects.difference_update(st.heads)
        lots.difference_update(st.lots)
        custody.difference_update(st.custody)
        c = st.carry
        if c is not None:
            # copies: this transaction changes lots and custody states in place, and the carry must stay what the
            # store holds if it is rolled back (a refused event later in the batch)
            for have, want, mine, copy in ((c.heads, subjects, st.heads, None), (c.lots, lots, st.lots, _copy_lot),
                                           (c.custody, custody, st.custody, _copy_custody)):
                found = [x for x in want if x in have]
                for x in found:
                    mine[x] = have[x] if copy is None else copy(have[x])  # type: ignore[assignment,operator]
                want.difference_update(found)
        st.heads.update(repo.heads(conn, sorted(subjects)))
        for subj in subjects:
            st.heads.setdefault(subj, (0, GENESIS))
        for r in repo.lots(conn, sorted(lots)):
            st.lots[r.id] = LotState(r.id, r.kind, r.mass_kg, r.consumed_kg, orjson.loads(r.elements),
                                     r.produced_at, r.producer)
        for lot_id in lots:
            st.lots.setdefault(lot_id, None)
        # inputs of the modules that packs of this batch consume (for trace_pack_sources)
        modules = {i.lot for s in batch for i in s.event.inputs
                   if any(o.kind == "pack" for o in s.event.outputs)} - set(st.inputs_of)
        if c is not None:
            for m in [m for m in modules if m in c.inputs_of]:
                st.inputs_of[m] = list(c.inputs_of[m])
                modules.discard(m)
        modules = {m for m in modules if (st.lots.get(m) is not None and st.lots[m].kind == "module")}  # type: ignore[union-attr]
        for chunk in _chunks(sorted(modules)):
            found: dict[str, list[str]] = {m: [] for m in chunk}
            for out_id, in_id in repo.lot_inputs(conn, chunk):
                found[out_id].append(in_id)
            st.inputs_of.update(found)
        st.custody.update(repo.custody_states(conn, sorted(custody)))
        for subj in custody:
            st.custody.setdefault(subj, None)
        ev_ids = {x for s in batch for x in (*s.event.subjects, *(i.lot for i in s.event.inputs),
                                             *(o.lot for o in s.event.outputs))}
        self._prefetch_policy(conn, st, ev_ids)
        # what the batch's recoveries consume holds from waste, read together (a few queries a batch, not two a
        # recovery); only lots stored before the batch (those it makes are known when their turn comes)
        made_here = {o.lot for s in batch for o in s.event.outputs}
        need = sorted(recovery_inputs(s.event for s in batch) - made_here - set(st.waste) - set(st.made))
        if need:
            WasteShares(lambda ids: _stored_facts(conn, ids), lambda x: "manufacturer" in self._roles(conn, x),
                        st.waste).get(need)

    def _prefetch_policy(self, conn: Any, st: _TxState, subjects: set[str]) -> None:
        """What the custody rules need of the batch's subjects: passports' operators and manufacture dates (a
        pack that is no lot of the ledger did not exist before it was made), and the delegations in force."""
        todo = sorted(subjects - set(st.operators))
        for chunk in _chunks(todo):
            for r in repo.passport_births(conn, chunk):
                st.operators[r.id] = r.economic_operator_id
                st.born[r.id] = _date_text(r.manufacture_date)
            for r in relations_repo.delegations_on(conn, chunk):
                if in_force(r, st.recorded_at):
                    st.delegates.setdefault(r.subject, []).append(
                        (r.grantee_id, frozenset(r.actions), r.grantor_id))
        for x in todo:
            st.operators.setdefault(x, None)

    def _roles(self, conn: Any, participant_id: str) -> frozenset[str]:
        hit = self._role_cache.get(participant_id)
        if hit is None or time.monotonic() - hit[0] > self._key_ttl:
            text = repo.roles_text(conn, participant_id)
            roles = frozenset(orjson.loads(text)) if text is not None else frozenset()
            hit = self._role_cache[participant_id] = (time.monotonic(), roles)
        return hit[1]

    def _inputs_of(self, conn: Any, st: _TxState, lot_id: str) -> list[str]:
        hit = st.inputs_of.get(lot_id)
        if hit is None:
            hit = st.inputs_of[lot_id] = repo.inputs_of(conn, lot_id)
        return hit

    def _head(self, conn: Any, st: _TxState, subject: str) -> tuple[int, str]:
        h = st.heads.get(subject)
        if h is None:
            h = repo.head(conn, subject) or (0, GENESIS)
            st.heads[subject] = h
        return h

    def _lot(self, conn: Any, st: _TxState, lot_id: str) -> LotState | None:
        if lot_id in st.lots:
            return st.lots[lot_id]
        row = repo.lot(conn, lot_id)
        lot = None if row is None else LotState(row.id, row.kind, row.mass_kg, row.consumed_kg, orjson.loads(row.elements))
        st.lots[lot_id] = lot
        return lot

    def _apply(self, conn: Any, st: _TxState, s: SealedEvent, existing: dict[str, str]) -> SubmitResult:
        ev = s.event
        prior = st.seen.get(ev.id) or existing.get(ev.id)
        if prior is not None:
            if prior == s.hash:
                return SubmitResult(ev.id, s.hash, "duplicate")
            raise Conflict(f"event {ev.id} is already stored with other content (stored hash {prior[:16]}…, "
                           f"submitted {s.hash[:16]}…): an event id is never reused", event_id=ev.id)
        self._check_policy(conn, st, ev)  # before the heads: a caller who may not append never learns them
        subjects = sorted(ev.prev)  # validated: exactly the chain subjects
        heads = {}
        for subj in subjects:
            seq, h = self._head(conn, st, subj)
            if ev.prev[subj] != h:
                # On PostgreSQL (READ COMMITTED) another writer may have stored this very event between
                # our duplicate check and our read of the head: then it is a duplicate, not a stale one.
                stored = repo.stored_hash(conn, ev.id)
                if stored is not None:
                    return self._apply(conn, st, s, {ev.id: stored})
                raise StaleChain(f"event {ev.id}: prev[{subj}] is {ev.prev[subj][:16]}… but the chain of {subj} is at "
                                 f"position {seq} with hash {h[:16]}…: fetch the head, re-sign and resubmit",
                                 event_id=ev.id, subject=subj, head_seq=seq, head_hash=h)
            heads[subj] = seq
        # lots
        if ev.inputs:
            lots = {i.lot: self._lot(conn, st, i.lot) for i in ev.inputs}
            errors = check_transformation(ev, lots)
            if errors:
                more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
                raise InvalidData(f"event {ev.id}: {errors[0]['message']}{more}", errors, event_id=ev.id)
        for n, o in enumerate(ev.outputs):  # a recycled origin's certifier: policy.check_recycled_origin
            if self._lot(conn, st, o.lot) is not None:
                raise InvalidData(f"event {ev.id}: output lot {o.lot} already exists", _one(
                    f"outputs[{n}].lot", "new_lot", f"outputs[{n}].lot: lot {o.lot} was produced by an earlier event; "
                    "a lot is produced once", o.lot), event_id=ev.id)
        if ev.inputs:  # any transformation: the accounts balance mass whatever the kind (waste treatment too)
            self._stale_years(conn, st, ev)
        # rows
        gseq = st.next_gseq
        st.next_gseq += 1
        occurred = ev.occurred_at
        st.last_hash = s.hash
        st.rows_events.append({"gseq": gseq, "id": ev.id, "hash": s.hash, "kind": ev.kind, "actor": ev.actor,
                               "occurred_at": occurred, "country": ev.place.country, "recorded_at": st.recorded_at,
                               "body": s.body.decode(), "signature": s.signature})
        for subj in subjects:
            seq = heads[subj] + 1
            st.rows_chain.append({"subject": subj, "seq": seq, "event_id": ev.id, "prev_hash": ev.prev[subj],
                                  "event_hash": s.hash})
            st.heads[subj] = (seq, s.hash)
        for i in ev.inputs:
            lot = st.lots[i.lot]
            assert lot is not None
            lot.consumed_kg += i.mass_kg
            st.consumed[i.lot] = lot.consumed_kg
        for o in ev.outputs:
            st.lots[o.lot] = LotState(o.lot, o.kind, o.mass_kg, 0.0, dict(o.elements_kg), occurred, ev.actor)
            st.made[o.lot] = ev
            st.rows_lots.append(lot_row(ev, o))
        st.rows_edges.extend(edge_rows(ev))
        if ev.outputs:
            ins = [i.lot for i in ev.inputs]
            for o in ev.outputs:
                st.inputs_of[o.lot] = ins
                if o.kind == "pack":
                    st.rows_sources.extend(pack_sources(
                        o.lot, ins, lambda i: getattr(st.lots.get(i), "kind", None),
                        lambda i: self._inputs_of(conn, st, i)))
        self._custody(conn, st, ev, occurred)
        st.seen[ev.id] = s.hash
        return SubmitResult(ev.id, s.hash, "stored", gseq)

    def _stale_years(self, conn: Any, st: _TxState, ev: FlatEvent) -> None:
        """A transformation dated in a year whose recycled content was applied already changes that year's
        production accounts — and through the lots it makes, the later years': mark them stale (in this
        transaction), so that applying the recycled content names them (``TraceService.apply_recycled_content``)."""
        if st.rc_years is None:
            st.rc_years = {y: False for y in rc_years_repo.years(conn)}  # year → marked in this transaction
        year = int(ev.occurred_at[:4])
        if any(y >= year and not marked for y, marked in st.rc_years.items()):
            # (a year stale already is marked again: the mark names the last late event, which an apply that
            # began before it must not clear — rc_years.set_applied); once per year and transaction
            rc_years_repo.mark_stale(conn, year, st.recorded_at, ev.id)
            for y in st.rc_years:
                if y >= year:
                    st.rc_years[y] = True

    def _namespace(self, conn: Any, subject: str) -> str | None:
        """The registered participant whose ISO/IEC 15459 namespace ``subject`` is in (``None``: no one's)."""
        owner = namespace_owner(subject)
        return owner if owner is not None and self._roles(conn, owner) else None

    def _check_policy(self, conn: Any, st: _TxState, ev: FlatEvent) -> None:
        def lot(x: str) -> tuple[str, str | None] | None:
            found = self._lot(conn, st, x)
            return (found.kind, found.producer) if found is not None else None

        def born(x: str) -> str | None:
            lot = self._lot(conn, st, x)
            if lot is not None:
                return lot.produced_at
            if x not in st.operators:
                self._prefetch_policy(conn, st, {x})
            return st.born.get(x)

        def operator(x: str) -> str | None:
            if x not in st.operators:
                self._prefetch_policy(conn, st, {x})
            return st.operators.get(x)

        def custody(x: str) -> dict[str, Any] | None:
            if x not in st.custody:
                st.custody[x] = repo.custody_state(conn, x)
            return st.custody[x]

        def facts(ids: list[str]) -> dict[str, LotFacts]:
            out: dict[str, LotFacts] = {}
            rest = []
            for x in ids:
                made = st.made.get(x)
                if made is None:
                    rest.append(x)
                    continue
                o = next(o for o in made.outputs if o.lot == x)
                total = sum(p.mass_kg for p in made.outputs)
                share = o.mass_kg / total if total > 0 else 0.0
                out[x] = LotFacts(o.kind, o.mass_kg, o.elements_kg, (o.origin or {}).get("type"), made.actor,
                                  made.kind, tuple((i.lot, i.mass_kg * share) for i in made.inputs))
            if rest:
                out.update(_stored_facts(conn, rest))
            return out

        shares = WasteShares(facts, lambda x: "manufacturer" in self._roles(conn, x), st.waste)
        refusal = check_event(ev, actor_roles=self._roles(conn, ev.actor), recorded_at=st.recorded_at,
                              namespace=lambda x: self._namespace(conn, x), waste_shares=shares.get,
                              max_future_s=self.max_future_seconds, custody=custody, lot=lot, born=born,
                              operator=operator, delegates=lambda x: st.delegates.get(x, []),
                              known=lambda x: self._head(conn, st, x)[0] > 0)
        if refusal is not None:
            cls = Forbidden if refusal.status == 403 else InvalidData
            detail = f"event {ev.id}: {refusal.message}"
            if cls is Forbidden:
                raise Forbidden(detail, event_id=ev.id, errors=[refusal.error()])
            raise InvalidData(detail, [refusal.error()], event_id=ev.id)

    def _custody(self, conn: Any, st: _TxState, ev: FlatEvent, occurred: str) -> None:
        def current(subj: str) -> dict[str, Any] | None:
            if subj in st.custody:
                return st.custody[subj]
            st.custody[subj] = repo.custody_state(conn, subj)
            return st.custody[subj]

        def put(subj: str, **vals: Any) -> None:
            cur = current(subj)
            base = {"holder": None, "country": ev.place.country, "status": "new", "exported_to": None} if cur is None else cur
            new = {**base, **vals, "subject": subj, "last_event_id": ev.id, "last_kind": ev.kind,
                   "last_event_at": occurred}
            if cur is None and subj not in st.custody_new:
                st.custody_new[subj] = new
            elif subj in st.custody_new:
                st.custody_new[subj] = new
            else:
                st.custody_upd[subj] = new
            st.custody[subj] = new

        for subj, new in custody_changes(ev, current).items():
            put(subj, **new)

    def _flush(self, conn: Any, st: _TxState) -> None:
        new_lots = {r["id"]: r for r in st.rows_lots}
        for lot_id, kg in st.consumed.items():
            if lot_id in new_lots:  # produced and consumed in the same batch
                new_lots[lot_id]["consumed_kg"] = kg
        repo.append(conn, events=st.rows_events, chain=st.rows_chain, lots=st.rows_lots, edges=st.rows_edges,
                    sources=st.rows_sources,
                    consumed={lot_id: kg for lot_id, kg in st.consumed.items() if lot_id not in new_lots},
                    custody_new=list(st.custody_new.values()), custody_changed=list(st.custody_upd.values()))
        for buf in (st.rows_events, st.rows_chain, st.rows_lots, st.rows_edges, st.rows_sources):
            buf.clear()
        st.consumed.clear()
        st.custody_new.clear()
        st.custody_upd.clear()

    # -------------------------------------------------------------- reading
    def get_event(self, event_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            row = repo.event(conn, event_id)
        if row is None:
            raise NotFound(f"no event with id {event_id!r}")
        d = orjson.loads(row.body)
        d["signature"] = row.signature
        return {"event": d, "hash": row.hash, "gseq": row.gseq, "recorded_at": row.recorded_at}

    def chain(self, subject: str) -> list[dict[str, Any]]:
        """A subject's events in chain order (event, hash, seq)."""
        with self.store.read() as conn:
            rows = repo.chain_events(conn, subject)
        if not rows:
            raise NotFound(f"no events for subject {subject!r}")
        out = []
        for r in rows:
            d = orjson.loads(r.body)
            d["signature"] = r.signature
            out.append({"seq": r.seq, "hash": r.event_hash, "event": d})
        return out

    def iter_events(self, batch: int = 5000) -> Iterator[dict[str, Any]]:
        """Every event in store order, as submitted (signature included): an export for re-ingest."""
        last = 0
        while True:
            with self.store.read() as conn:
                rows = repo.events_after(conn, last, batch)
            if not rows:
                return
            for r in rows:
                d = orjson.loads(r.body)
                d["signature"] = r.signature
                yield d
            last = rows[-1].gseq

    # --------------------------------------------------------- verification
    def _key_lookup(self) -> Any:
        keys = self.registry_keys()
        return lambda actor: keys.get(actor)

    def verify_event(self, event_id: str) -> VerifyReport:
        """Check one stored event: body, hash, signature and its links in each chain it joins."""
        rep = VerifyReport(scope=f"event {event_id}")
        with self.store.read() as conn:
            row = repo.event(conn, event_id)
            links = repo.links_of_event(conn, event_id)
            if row is None and not links:
                raise NotFound(f"no event with id {event_id!r}")
            prevs = {}
            for ln in links:
                prevs[(ln.subject, ln.seq)] = repo.link_hash(conn, ln.subject, ln.seq - 1)
        if row is None:
            rep.problems.append(Problem(event_id, "link_orphan", f"event {event_id} is named by chain links but not stored"))
            return rep
        problems, body = check_event_row(row, self._key_lookup())
        rep.problems += problems
        rep.events_checked = 1
        if body is not None:
            linked = {ln.subject for ln in links}
            for subj in sorted(set(body.get("prev") or {}) - linked):
                rep.problems.append(Problem(event_id, "link_missing", f"event {event_id} names {subj} in its signed "
                                            f"links but the chain of {subj} has no link to it (removed)", subj))
        for ln in links:
            rep.links_checked += 1
            expected = GENESIS if ln.seq == 1 else prevs[(ln.subject, ln.seq)]
            if expected is None:
                rep.problems.append(Problem(event_id, "chain_gap", f"chain {ln.subject}: position {ln.seq - 1} before "
                                            f"event {event_id} is missing", ln.subject, ln.seq))
            elif ln.prev_hash != expected:
                rep.problems.append(Problem(event_id, "prev_mismatch", f"chain {ln.subject}: event {event_id} links to "
                                            f"{ln.prev_hash[:16]}…, the event before it has hash {expected[:16]}…",
                                            ln.subject, ln.seq))
            if ln.event_hash != row.hash:
                rep.problems.append(Problem(event_id, "link_hash_mismatch", f"chain {ln.subject}: link names hash "
                                            f"{ln.event_hash[:16]}…, event has {row.hash[:16]}…", ln.subject, ln.seq))
            if body is not None and (body.get("prev") or {}).get(ln.subject) != ln.prev_hash:
                rep.problems.append(Problem(event_id, "link_not_signed", f"chain {ln.subject}: stored link of event "
                                            f"{event_id} is not the prev the actor signed", ln.subject, ln.seq))
        return rep

    def verify_chain(self, subject: str) -> VerifyReport:
        """Check every event of one subject's chain and every link between them."""
        rep = VerifyReport(scope=f"chain {subject}")
        keys = self._key_lookup()
        with self.store.read() as conn:
            links = repo.chain_links(conn, subject)
            if not links:
                raise NotFound(f"no events for subject {subject!r}")
            rows = repo.events(conn, [ln.event_id for ln in links])
        events: dict[str, tuple[str, dict[str, Any] | None]] = {}
        for r in rows:
            problems, body = check_event_row(r, keys)
            rep.problems += problems
            rep.events_checked += 1
            events[r.id] = (r.hash, body)
        rep.problems += check_chain_links(subject, links, events)
        rep.links_checked = len(links)
        return rep

    def verify_store(self, *, checkpoint: Mapping[str, Any] | None = None, full_schema: bool = False,
                     workers: int = 1, batch: int = 20_000, meanwhile: Any = None) -> VerifyReport:
        """Check every event, every chain and the store sequence; compare with an earlier checkpoint.

        ``full_schema`` also re-validates each body against its kind's schema (slower). ``workers`` > 1
        checks events (body, hash, signature, signed links) in that many processes, each reading its
        own range of the store; the chains' order is checked here. ``meanwhile`` (a callable) runs in this
        process while the workers check (else after the events are checked), e.g. :meth:`verify_policy`.
        """
        from ._parallel import _init_verify, fork_pool, in_order, verify_range

        rep = VerifyReport(scope="store")
        with self.store.read() as conn:
            texts = dict(participants_repo.public_keys(conn))
            top = repo.max_gseq(conn)
        ranges = [(lo, min(lo + batch - 1, top), full_schema) for lo in range(1, top + 1, batch)]
        if ":memory:" in self.store.url:
            workers = 1
        cp = Checkpoint()
        cp_at: dict[str, Any] | None = None
        want = int(checkpoint["events"]) if checkpoint else None
        known: set[str] = set()
        expected_gseq = 1

        def consume(seen: list[tuple[int, str, str]], problems: list[Problem]) -> None:
            nonlocal expected_gseq, cp_at
            rep.problems.extend(problems)
            for gseq, eid, h in seen:
                if gseq != expected_gseq:
                    rep.problems.append(Problem(eid, "store_seq_gap", f"store sequence {expected_gseq}"
                                                f"{'–' + str(gseq - 1) if gseq - 1 > expected_gseq else ''} "
                                                f"is missing before event {eid} (removed event)"))
                expected_gseq = gseq + 1
                known.add(eid)
                cp.add(gseq, h)
                if want is not None and cp.count == want:
                    cp_at = cp.as_dict()
            rep.events_checked += len(seen)

        if workers > 1 and len(ranges) > 0:
            with fork_pool(workers, _init_verify, (self.store.url, texts, self.store.sqlite_cache_mib)) as pool:
                results = in_order(pool, verify_range, ranges)
                try:
                    if meanwhile is not None:
                        meanwhile()
                    for r in results:
                        consume(*r)
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)  # the ranges not started are not checked
                    raise
        else:
            _init_verify(None, texts)
            for r in ranges:
                consume(*verify_range(r, self.store))
            if meanwhile is not None:
                meanwhile()
        # the chains: order, gaps, genesis, links to stored events
        with self.store.read() as conn:
            res = repo.all_chain_links(conn)
            cur_subject = None
            group: list[Any] = []
            n = 0
            for ln in res:
                n += 1
                if ln.subject != cur_subject:
                    if group:
                        rep.problems += check_chain_sequence(cur_subject, group, known.__contains__)  # type: ignore[arg-type]
                    cur_subject, group = ln.subject, []
                group.append(ln)
            if group:
                rep.problems += check_chain_sequence(cur_subject, group, known.__contains__)  # type: ignore[arg-type]
        rep.links_checked = n
        if checkpoint is not None:
            if cp_at is None:
                rep.problems.append(Problem(None, "checkpoint_mismatch", f"the checkpoint covers {want} events, the "
                                            f"store holds {cp.count}: events were removed"))
            elif cp_at["digest"] != checkpoint.get("digest"):
                rep.problems.append(Problem(None, "checkpoint_mismatch", f"the first {want} events no longer match the "
                                            "checkpoint's digest: stored history was changed"))
        rep.checkpoint = cp.as_dict()
        return rep


    def verify_policy(self, subject: str | None = None, batch: int = 20_000) -> VerifyReport:
        """Replay the custody rules (:mod:`.policy`) over the stored events, in store order: every event whose
        actor had no right to it when it was recorded — one that slipped in before the rules, or was written
        to the store directly — is reported as ``policy_<rule>`` (``policy_custody``, ``policy_in_the_future``,
        ``policy_before_subject``, ``policy_certified_by_actor``, ``policy_recycled_from_waste`` …). With
        ``subject``, only that chain's events (other subjects' custody is not replayed then, so only rules about
        ``subject`` itself can fail)."""
        rep = VerifyReport(scope="custody rules" + (f" of {subject}" if subject else ""))
        with self.store.read() as conn:
            replay = PolicyReplay(repo.all_roles(conn), relations_repo.all_delegations(conn), self.max_future_seconds)
        last = 0
        while True:
            with self.store.read() as conn:
                rows = repo.events_after(conn, last, batch, subject)
                if not rows:
                    break
                replay.feed(conn, rows, rep)
            last = rows[-1].gseq
        return rep

    def verify_derived(self, batch: int = 20_000) -> VerifyReport:
        """Rebuild the lots, lot edges, pack sources, custody and recall's jumps over packs from the signed
        events and compare them with the stored tables: these tables are not signed, so a change to them (a
        lot's element contents, an edge's mass, a holder, a jump) would otherwise go unnoticed by hash and
        signature checks.

        Reports ``derived_mismatch``, ``derived_missing`` and ``derived_extra`` naming table, key and column.
        """
        from collections import defaultdict

        rep = VerifyReport(scope="derived tables")
        lots: dict[str, dict[str, Any]] = {}
        consumed: dict[str, float] = defaultdict(float)
        edges: dict[tuple[str, str], dict[str, Any]] = {}
        sources: set[tuple[str, str]] = set()
        inputs_of: dict[str, list[str]] = {}
        custody: dict[str, dict[str, Any]] = {}
        jumps: dict[tuple[str, str], dict[str, Any]] = {}
        jumps_into: dict[str, set[str]] = defaultdict(set)
        last = 0
        while True:
            with self.store.read() as conn:
                rows = repo.events_after(conn, last, batch)
            if not rows:
                break
            last = rows[-1].gseq
            for r in rows:
                try:
                    ev = FlatEvent.from_body(r.body.encode())
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    continue  # an unreadable body is reported by verify_store
                rep.events_checked += 1
                for i in ev.inputs:
                    consumed[i.lot] += i.mass_kg
                for o in ev.outputs:
                    lots[o.lot] = lot_row(ev, o)
                ev_edges = edge_rows(ev)
                for e in ev_edges:
                    edges[(e["output_id"], e["input_id"])] = e
                ins = [i.lot for i in ev.inputs]
                ev_sources: list[dict[str, Any]] = []
                for o in ev.outputs:
                    inputs_of[o.lot] = ins
                    if o.kind == "pack":
                        ev_sources += pack_sources(o.lot, ins, lambda i: lots.get(i, {}).get("kind"),
                                                   lambda i: inputs_of.get(i, []))
                sources.update((x["source_id"], x["pack_id"]) for x in ev_sources)
                # recall's jumps over the packs this event's arcs leave (store.trace_reach)
                for y, t, k in trace_reach.event_jumps(trace_reach.recall_arcs(ev_edges, ev_sources),
                                                       lambda i: lots.get(i, {}).get("kind"),
                                                       lambda i: inputs_of.get(i, ()), lambda i: jumps_into.get(i, ())):
                    jumps[(y, t)] = {"target_id": y, "source_id": t, "target_kind": k}
                    jumps_into[y].add(t)
                for subj, new in custody_changes(ev, custody.get).items():
                    custody[subj] = {**new, "last_event_id": ev.id, "last_kind": ev.kind,
                                     "last_event_at": ev.occurred_at}
        for lot_id, kg in consumed.items():
            if lot_id in lots:
                lots[lot_id]["consumed_kg"] = kg

        def same(a: Any, b: Any) -> bool:
            if isinstance(a, float) or isinstance(b, float):
                return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
            return a == b

        def compare(table: str, stored: dict[Any, dict[str, Any]], rebuilt: dict[Any, dict[str, Any]]) -> None:
            for key, want in rebuilt.items():
                have = stored.pop(key, None)
                if have is None:
                    rep.problems.append(Problem(want.get("event_id") or want.get("last_event_id"), "derived_missing",
                                                f"{table} {key}: the events create it but the table has no row"))
                    continue
                for col, v in want.items():
                    if col in have and not same(have[col], v):
                        rep.problems.append(Problem(want.get("event_id") or want.get("last_event_id"),
                                                    "derived_mismatch", f"{table} {key}: {col} is {have[col]!r}, "
                                                    f"the signed events give {v!r}"))
            for key, have in stored.items():
                rep.problems.append(Problem(have.get("event_id") or have.get("last_event_id"), "derived_extra",
                                            f"{table} {key}: a row no signed event accounts for"))

        with self.store.read() as conn:
            stored_lots, stored_edges, stored_sources, stored_custody = repo.derived_tables(conn)
            stored_jumps = {(y, t): {"target_id": y, "source_id": t, "target_kind": k}
                            for y, t, k in trace_reach.stored(conn)}
        for d in (stored_lots, stored_edges, stored_sources, stored_custody, stored_jumps):
            rep.links_checked += len(d)
        compare("trace_lots", stored_lots, lots)
        compare("trace_lot_edges", stored_edges, edges)
        compare("trace_pack_sources", stored_sources, {k: {"source_id": k[0], "pack_id": k[1]} for k in sources})
        compare("trace_custody", stored_custody, {k: {"subject": k, **v} for k, v in custody.items()})
        compare("trace_recall_jumps", stored_jumps, jumps)
        return rep


def _date_text(value: Any) -> str | None:
    """A manufacture date as the ISO text event times compare with (midnight UTC)."""
    if value is None:
        return None
    return (value.isoformat() if hasattr(value, "isoformat") else str(value))[:10] + "T00:00:00.000000Z"


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _loose(d: Mapping[str, Any]) -> dict[str, Any]:
    return dict(d)


def _error_report(index: int, exc: Exception, item: Any,
                  line_numbers: list[int] | None = None) -> dict[str, Any]:
    eid = item.get("id") if isinstance(item, Mapping) else item.event.id if isinstance(item, SealedEvent) else None
    out: dict[str, Any] = {"index": index, "line": line_numbers[index] if line_numbers else index + 1,
                           "event_id": eid, "type": type(exc).__name__, "detail": getattr(exc, "detail", str(exc))}
    errs = getattr(exc, "errors", None)
    if errs:
        out["errors"] = errs
    return out


class PolicyReplay:
    """The custody rules replayed over stored events in store order (:meth:`Ledger.verify_policy`), in steps:
    the custody, lots, births and chains seen so far are kept between :meth:`feed` calls (a replay behind
    the ledger, :mod:`.verify_behind`). ``roles`` (participant → roles) and ``delegations`` (rows) are the
    registry's at the start; :meth:`set_registry` replaces them for the events fed afterwards."""

    def __init__(self, roles: Mapping[str, frozenset[str]], delegations: Iterable[Any], max_future_seconds: float
                 ) -> None:
        self.max_future_seconds = max_future_seconds
        self.custody: dict[str, dict[str, Any]] = {}
        self.lots: dict[str, tuple[str, str, str]] = {}  # lot -> (kind, produced_at, producer)
        self.born: dict[str, str | None] = {}
        self.ops: dict[str, str | None] = {}
        self.chains: set[str] = set()
        # lot → (mass, waste share) of the lots recoveries consumed (policy.WasteShares, read from the store)
        self.waste: dict[str, Any] = {}
        self.last_recorded_at = ""
        self.unregistered: set[str] = set()  # actors and namespace owners asked about that were not registered
        self.set_registry(roles, delegations)

    def set_registry(self, roles: Mapping[str, frozenset[str]], delegations: Iterable[Any]) -> None:
        self.roles = roles
        self.dels: dict[str, list[Any]] = {}
        for r in delegations:
            self.dels.setdefault(r.subject, []).append(r)

    def _delegates_at(self, x: str, at: str) -> list[tuple[str, frozenset[str], str]]:
        return [(r.grantee_id, frozenset(r.actions), r.grantor_id) for r in self.dels.get(x, ()) if in_force(r, at)]

    def feed(self, conn: Any, rows: Iterable[Any], rep: VerifyReport) -> None:
        """Replay ``rows`` (gseq, body, recorded_at; the next ones in store order), reading the passports'
        births they name through ``conn``; refusals are added to ``rep``."""
        evs = []
        for r in rows:
            try:
                evs.append((r.recorded_at, FlatEvent.from_body(r.body.encode())))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue  # an unreadable body is reported by verify_store
        self.feed_events(conn, evs, rep)

    def feed_events(self, conn: Any, evs: list[tuple[str, FlatEvent]], rep: VerifyReport) -> None:
        """:meth:`feed` of events already read: (recorded_at, event) each, in store order."""
        ops, born, lots, custody, chains, roles = self.ops, self.born, self.lots, self.custody, self.chains, self.roles
        unregistered = self.unregistered

        def namespace(x: str) -> str | None:
            o = namespace_owner(x)
            if o is None:
                return None
            if o in roles:
                return o
            unregistered.add(o)
            return None
        todo = sorted({x for _, ev in evs for x in (*ev.subjects, *(o.lot for o in ev.outputs)) if x not in ops})
        for chunk in _chunks(todo):
            for p in repo.passport_births(conn, chunk):
                ops[p.id] = p.economic_operator_id
                born[p.id] = _date_text(p.manufacture_date)
        for x in todo:
            ops.setdefault(x, None)
        # what the lots a recovery consumes hold from waste: read from the store (the lots as they were made and
        # their edges), also those this replay has not seen (a replay of one subject's chain)
        shares = WasteShares(lambda ids: _stored_facts(conn, ids), lambda x: "manufacturer" in roles.get(x, ()),
                             self.waste)
        # the inputs of this step's recoveries read together (a few queries a step, not two a recovery)
        need = sorted(recovery_inputs(ev for _, ev in evs))
        if need:
            shares.get(need)
        for recorded_at, ev in evs:
            rep.events_checked += 1
            if ev.actor not in roles:
                unregistered.add(ev.actor)
            refusal = check_event(
                ev, actor_roles=roles.get(ev.actor, frozenset()), recorded_at=recorded_at, namespace=namespace,
                max_future_s=self.max_future_seconds, custody=custody.get,
                lot=lambda x: (lots[x][0], lots[x][2]) if x in lots else None,
                born=lambda x: lots[x][1] if x in lots else born.get(x), operator=ops.get,
                delegates=lambda x, at=recorded_at: self._delegates_at(x, at), known=chains.__contains__,
                waste_shares=shares.get)
            if refusal is not None:
                rep.problems.append(Problem(ev.id, f"policy_{refusal.rule}", refusal.message,
                                            subject=str(refusal.value) if refusal.field != "occurred_at" else None))
            for o in ev.outputs:
                lots[o.lot] = (o.kind, ev.occurred_at, ev.actor)
            chains.update(ev.prev)
            for x, state in custody_changes(ev, custody.get).items():
                custody[x] = state
            if recorded_at > self.last_recorded_at:
                self.last_recorded_at = recorded_at
