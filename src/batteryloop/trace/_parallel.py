"""Signature and body checks spread over worker processes (Ed25519 verification is CPU-bound); the outflow
report's replay of ranges of packs, for big ledgers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..pools import in_order
from .keys import KeyFormatError, public_key_from_text

if TYPE_CHECKING:
    import datetime as dt

    from .outflows import OutflowParams

_KEYS: dict[str, Any] = {}


def _key(actor: str, texts: dict[str, str | None]) -> Any:
    if actor not in _KEYS:
        t = texts.get(actor, "__unknown__")
        if t == "__unknown__":
            return None
        try:
            _KEYS[actor] = public_key_from_text(t) if t else False
        except (KeyFormatError, ValueError):
            _KEYS[actor] = False
    return _KEYS[actor]


# ----------------------------------------------------------------- admission (ingest)

_TEXTS: dict[str, str | None] = {}


def _init_admit(texts: dict[str, str | None]) -> None:
    global _TEXTS
    _TEXTS = texts
    _KEYS.clear()


def _admit_chunk(args: tuple[int, list[Any], list[int] | None]) -> tuple[int, list[tuple[Any, ...]]]:
    """Validate and signature-check a chunk (its events from ``start``, and their lines in their file if
    known); stop at its first invalid event.

    Returns ``(body, hash, signature)`` per event, or ``("error", detail, errors, extra, type)``.
    """
    import orjson

    from ..errors import InvalidData
    from .events import normalize_full
    from .keys import verify_signature

    start, items, lines = args
    out: list[tuple[Any, ...]] = []
    for k, item in enumerate(items):
        try:
            if isinstance(item, str | bytes):
                try:
                    item = orjson.loads(item)
                except orjson.JSONDecodeError as exc:
                    n = lines[k] if lines else start + k + 1
                    raise InvalidData(f"line {n} is not JSON: {exc}", [{"field": "(line)", "rule": "json",
                                                                         "message": str(exc), "value": None}]) from None
            _, body, h, dump = normalize_full(item)
            eid, actor = dump["id"], dump["actor"]
            sig = item.get("signature")
            if not isinstance(sig, str) or not sig:
                raise InvalidData(f"event {eid}: signature is missing", [{
                    "field": "signature", "rule": "required", "value": None,
                    "message": "signature: the actor's Ed25519 signature (base64url) of the event hash"}], event_id=eid)
            key = _key(actor, _TEXTS)
            if key is None:
                raise InvalidData(f"event {eid}: actor {actor} is not in the participant registry", [{
                    "field": "actor", "rule": "registered", "value": actor,
                    "message": f"actor: {actor} is not a registered participant"}], event_id=eid)
            if key is False:
                raise InvalidData(f"event {eid}: actor {actor} has no public key in the participant registry", [{
                    "field": "actor", "rule": "public_key", "value": actor,
                    "message": f"actor: register an Ed25519 public key for {actor}"}], event_id=eid)
            if not verify_signature(key, h, sig):
                raise InvalidData(
                    f"event {eid}: signature does not verify under the registered key of {actor} "
                    f"(event hash {h[:16]}…; was it signed over the canonical form by that key?)", [{
                        "field": "signature", "rule": "signature_valid", "value": sig[:20],
                        "message": "signature: not a valid signature of the event hash by the actor's registered key"}],
                    event_id=eid)
            out.append((body, h, sig))
        except InvalidData as exc:
            out.append(("error", exc.detail, exc.errors, {k2: v for k2, v in exc.extra.items() if k2 != "errors"},
                        "InvalidData"))
            break
    return start, out


def fork_pool(workers: int, initializer: Any, initargs: tuple[Any, ...]) -> Any:
    """A process pool of ``workers``, forked where the platform can (the workers inherit the loaded modules)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=initializer, initargs=initargs)


def admit_chunks(items: list[Any], key_texts: dict[str, str | None], workers: int, chunk: int,
                 line_numbers: list[int] | None = None) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """Admission results chunk by chunk, in order, computed by ``workers`` processes ahead of the caller
    (``line_numbers``: each event's line in its file, for the error texts)."""
    size = max(100, min(chunk, len(items) // (workers * 4) or 1))
    parts = [(i, items[i:i + size], line_numbers[i:i + size] if line_numbers else None)
             for i in range(0, len(items), size)]
    with fork_pool(workers, _init_admit, (key_texts,)) as pool:
        yield from in_order(pool, _admit_chunk, parts)


def _verify_sealed_chunk(args: tuple[int, list[tuple[str, str, str | None]]]) -> tuple[int, list[bool | None]]:
    """Signature checks of events already validated and hashed (``(actor, hash, signature)`` each): ``True``
    verifies, ``False`` does not, ``None`` the actor has no usable registered key; stops at the first failure."""
    from .keys import verify_signature

    start, items = args
    out: list[bool | None] = []
    for actor, h, sig in items:
        key = _key(actor, _TEXTS)
        if not key or not sig:
            out.append(None if not key else False)
            break
        ok = verify_signature(key, h, sig)
        out.append(ok)
        if not ok:
            break
    return start, out


def _verify_sealed_chunk_keys(args: tuple[dict[str, str | None], int, list[tuple[str, str, str | None]]]
                              ) -> tuple[int, list[bool | None]]:
    """:func:`_verify_sealed_chunk` in a pool made elsewhere: the registered keys come with the chunk."""
    texts, start, items = args
    if texts != _TEXTS:
        _init_admit(texts)
    return _verify_sealed_chunk((start, items))


def verify_sealed_chunks(items: list[tuple[str, str, str | None]], key_texts: dict[str, str | None], workers: int,
                         chunk: int, executor: Any = None) -> Iterator[tuple[int, list[bool | None]]]:
    """:func:`admit_chunks` for events validated and hashed in this process (sealed by its own signers): only the
    signatures are checked in the workers, chunk by chunk, in order — in a pool forked for the call, or in
    ``executor`` (a process pool the caller keeps, e.g. the pilot's: the registered keys travel with each chunk)."""
    size = max(100, min(chunk, len(items) // (workers * 4) or 1))
    parts = [(i, items[i:i + size]) for i in range(0, len(items), size)]
    if executor is not None:
        yield from in_order(executor, _verify_sealed_chunk_keys, [(key_texts, *p) for p in parts])
        return
    with fork_pool(workers, _init_admit, (key_texts,)) as pool:
        yield from in_order(pool, _verify_sealed_chunk, parts)


# ------------------------------------------------------------- store verification

_STORE: Any = None


def _init_verify(url: str | None, texts: dict[str, str | None], cache_mib: int | None = None) -> None:
    global _STORE, _TEXTS
    _TEXTS = texts
    _KEYS.clear()
    if url is not None:
        from ..store.db import Store

        _STORE = Store(url, sqlite_cache_mib=cache_mib)


def verify_range(args: tuple[int, int, bool], store: Any = None) -> tuple[list[tuple[int, str, str]], list[Any]]:
    """Check the events with gseq in [lo, hi]: body, hash, signature, and their links against what was signed.

    Returns ([(gseq, id, hash)], problems).
    """
    from ..store import ledger as repo
    from .verify import check_event_links, check_event_row

    lo, hi, full = args
    st = store or _STORE
    with st.read() as conn:
        rows = repo.events_in_range(conn, lo, hi)
        links = repo.links_in_range(conn, lo, hi)
    by_event: dict[str, list[Any]] = {}
    for ln in links:
        by_event.setdefault(ln.event_id, []).append(ln)
    seen: list[tuple[int, str, str]] = []
    problems: list[Any] = []
    for r in rows:
        p, body = check_event_row(r, lambda a: _key(a, _TEXTS), full_schema=full)
        problems += p
        problems += check_event_links(r.id, r.hash, body, by_event.get(r.id, ()))
        seen.append((r.gseq, r.id, r.hash))
    return seen, problems


# ------------------------------------------------------------------- outflows


def _init_outflows(url: str, cache_mib: int | None = None) -> None:
    global _STORE
    from ..store.db import Store

    _STORE = Store(url, sqlite_cache_mib=cache_mib)


def outflow_range(args: tuple[Any, ...]) -> tuple[int, list[dict[str, Any]]]:
    """The outflow findings of the packs with ids in [first, last] (:func:`replay_packs`)."""
    first, last, as_of, regs, params = args
    return replay_packs(_STORE, first, last, as_of, regs, params)


def replay_packs(store: Any, first: str | None, last: str | None, as_of: dt.datetime,
                 regs: Mapping[str, frozenset[str]], p: OutflowParams) -> tuple[int, list[dict[str, Any]]]:
    """The packs with ids from ``first`` to ``last`` (``None``: no bound) and their outflow findings, unsorted."""
    import itertools

    import orjson

    from ..store import trace_queries as repo
    from .outflows import pack_findings

    findings: list[dict[str, Any]] = []
    packs = 0
    with store.read() as conn:
        rows = repo.pack_events(conn, first, last)
        for (pack, model_id), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
            events = [orjson.loads(body) if body is not None else
                      {"id": eid, "kind": kind, "actor": actor, "occurred_at": at, "place": {"country": country},
                       "subjects": [pack]}
                      for _, _, eid, kind, actor, at, country, body in group]
            packs += 1
            findings += pack_findings(pack, events, as_of=as_of, regions=regs, params=p, model_id=model_id)
    return packs, findings


# ------------------------------------------------------------------- sealing (the simulator's own signers)

_SIGNERS: dict[str, Any] = {}


def _init_seal(signers: dict[str, Any]) -> None:
    """Forked workers inherit the signers (private keys never travel: fork copies the parent's memory)."""
    global _SIGNERS
    _SIGNERS = signers


def validate_unsealed(raws: list[bytes]) -> list[bytes | None]:
    """Each event (JSON bytes, without ``prev`` and signature) validated and canonicalized with a placeholder
    ``prev`` (GENESIS for each chain subject): the canonical bytes, or ``None`` for an invalid one. The schema's
    rules on ``prev`` are about its keys (exactly the chain subjects) and the form of its values (SHA-256 hex);
    the real heads, filled in afterwards in chain order (:class:`~.client.BatchSealer`), have that form."""
    import orjson

    from .canonical import GENESIS
    from .events import chain_subjects, normalize_full

    from ..errors import InvalidData

    out: list[bytes | None] = []
    for raw in raws:
        d = orjson.loads(raw)
        d["prev"] = {s: GENESIS for s in chain_subjects(d)}
        try:
            out.append(normalize_full(d)[1])
        except InvalidData:
            out.append(None)  # the caller validates it again in its own process, which raises the error
    return out


def sign_hashes(items: list[tuple[str, str]]) -> list[str]:
    """``(actor, event hash)`` → the actor's signature of the hash, by the signers inherited at fork."""
    return [_SIGNERS[actor].sign_hash(h) for actor, h in items]
