"""Client side of the ledger: keep the chain heads you know and sign events against them.

A participant that writes a sequence of events (a mine, a cell plant, a generator of test data)
keeps the hash of each subject's last event, fills ``prev`` from it and signs; the ledger checks the
same links. :class:`ChainWriter` does this bookkeeping for events written in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from typing import Any

import orjson

from ..errors import InvalidData
from .canonical import GENESIS, canonical_json, sha256_hex
from .events import FlatEvent, SealedEvent, chain_subjects, normalize_full, seal
from .keys import Signer


class ChainWriter:
    """Sign events in order, linking each to the heads of the chains it joins."""

    def __init__(self, signers: Mapping[str, Signer], heads: Mapping[str, str] | None = None) -> None:
        self.signers = dict(signers)
        self.heads: dict[str, str] = dict(heads or {})

    def sign(self, data: Mapping[str, Any]) -> SealedEvent:
        d = {k: v for k, v in data.items() if k not in ("prev", "signature")}
        d["prev"] = {s: self.heads.get(s, GENESIS) for s in chain_subjects(d)}
        signer = self.signers.get(d.get("actor", ""))
        if signer is None:
            raise KeyError(f"no signing key held for actor {d.get('actor')!r}")
        sealed = seal(d, signer)
        for s in sealed.event.prev:
            self.heads[s] = sealed.hash
        return sealed

    def wire(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Sign and return the event as sent over the wire (content plus ``signature``)."""
        return self.sign(data).to_wire()


class BatchSealer:
    """:class:`ChainWriter`'s events sealed in batches, the CPU work in worker processes.

    ``add`` takes an event as ``ChainWriter.sign`` does (without ``prev``); ``seal`` returns the events added
    since the last call, in order, sealed exactly as ``ChainWriter.sign`` would have sealed them one by one
    (same canonical bytes, hash and signature: Ed25519 signatures are deterministic). With ``workers`` > 1,
    each event is validated and canonicalized in a worker process as soon as ``chunk`` events are waiting
    (while the caller goes on producing more), with a placeholder ``prev``; ``seal`` fills in the real
    ``prev`` in chain order here (the chain heads are the writer's), hashes, and has the workers sign the
    hashes with the actors' keys, part by part as soon as a part's hashes are made (the workers sign while the
    next part is hashed here; they are forked from this process: the keys never travel). An
    invalid event raises :class:`InvalidData` from ``seal``, as ``ChainWriter.sign`` would have.
    """

    def __init__(self, writer: ChainWriter, *, workers: int = 1, chunk: int = 1000) -> None:
        self.writer = writer
        self.workers = workers
        self.chunk = chunk
        self._raw: list[bytes] = []
        self._parts: list[Any] = []  # per chunk of _raw: a future of its canonical bodies (or None: not sent)
        self._sent = 0  # events of _raw handed to the workers
        self._pool: Any = None
        self._pool_signers: frozenset[str] = frozenset()
        # the last seal's events by identity, with the body, hash and signature it gave each (what :meth:`vouches` knows)
        self._last: dict[int, tuple[SealedEvent, bytes, str, str | None]] = {}
        self._key_texts: dict[str, str] = {}  # actor → the public key of the signer that signs for it

    def __len__(self) -> int:
        return len(self._raw)

    def add(self, data: Mapping[str, Any]) -> None:
        # a copy in JSON (what the event model reads anyway): the caller may reuse its dicts afterwards
        if "prev" in data or "signature" in data:
            data = {k: v for k, v in data.items() if k not in ("prev", "signature")}
        self._raw.append(orjson.dumps(data))
        if self.workers > 1 and len(self._raw) - self._sent >= self.chunk:
            self._send()

    def executor(self) -> Any:
        """The worker processes (a ``concurrent.futures`` pool, forked from this process at first use), for other
        CPU work of the same batches (e.g. passport versions); ``None`` when sealing runs here."""
        return self._executor() if self.workers > 1 else None

    def _executor(self) -> Any:
        if self._pool is None:
            import multiprocessing as mp

            from ._parallel import _init_seal, fork_pool

            if "fork" not in mp.get_all_start_methods():  # without fork the keys would have to travel: seal here
                self.workers = 1
                return None
            self._pool = fork_pool(self.workers, _init_seal, (dict(self.writer.signers),))
            self._pool_signers = frozenset(self.writer.signers)
        return self._pool

    def _send(self) -> None:
        from ._parallel import validate_unsealed

        pool = self._executor()
        if pool is None:
            return
        part = self._raw[self._sent:]
        self._parts.append(pool.submit(validate_unsealed, part))
        self._sent = len(self._raw)

    def seal(self) -> list[SealedEvent]:
        from ._parallel import sign_hashes, validate_unsealed

        if self.workers > 1 and len(self._raw) > self._sent and len(self._raw) - self._sent >= 100:
            self._send()
        heads = self.writer.heads
        signers = self.writer.signers
        n = len(self._raw)
        pool = self._executor() if self.workers > 1 and n >= 200 else None
        size = max(100, min(self.chunk, n // (4 * self.workers) + 1))
        dumps: list[dict[str, Any]] = []
        todo: list[tuple[str, str]] = []
        out_bodies: list[bytes] = []
        signed: list[Future[list[str]]] = []  # per part of todo: its signatures (made here: a done future)
        sent = 0  # events of todo whose signing is under way

        def sign_part(upto: int) -> None:
            nonlocal sent
            part = todo[sent:upto]
            if pool is not None and {a for a, _ in part} <= self._pool_signers:
                signed.append(pool.submit(sign_hashes, part))
            else:
                done: Future[list[str]] = Future()
                done.set_result([signers[a].sign_hash(h) for a, h in part])
                signed.append(done)
            sent = upto

        def validated() -> Iterator[tuple[bytes, bytes | None]]:
            # each chunk's canonical bodies as its worker returns them, in order (the next ones are still being
            # validated while these are hashed); what was never sent, validated here
            done = 0
            for fut in self._parts:
                part = fut.result()
                yield from zip(self._raw[done:done + len(part)], part, strict=True)
                done += len(part)
            if done < n:
                yield from zip(self._raw[done:], validate_unsealed(self._raw[done:]), strict=True)

        try:
            for raw, body in validated():
                if body is None:  # invalid: validated again here, which raises the error naming the field
                    d = orjson.loads(raw)
                    d["prev"] = {s: heads.get(s, GENESIS) for s in chain_subjects(d)}
                    normalize_full(d)
                    raise AssertionError("an event refused in a worker process passed here")  # pragma: no cover
                dump = orjson.loads(body)
                actor = dump["actor"]
                signer = signers.get(actor)
                if signer is None:
                    raise KeyError(f"no signing key held for actor {actor!r}")
                if signer.participant_id != actor:
                    raise InvalidData(f"event {dump['id']}: the signer {signer.participant_id} is not the actor {actor}",
                                      [{"field": "actor", "rule": "signer_is_actor", "value": actor,
                                        "message": f"actor: the event must be signed by its actor {actor}"}])
                prev = {s: heads.get(s, GENESIS) for s in dump["prev"]}
                dump["prev"] = prev
                canonical = canonical_json(dump)
                h = sha256_hex(canonical)
                for s in prev:
                    heads[s] = h
                dumps.append(dump)
                out_bodies.append(canonical)
                todo.append((actor, h))
                if len(todo) - sent >= size:  # the workers sign these while the next ones are hashed here
                    sign_part(len(todo))
            if sent < len(todo):
                sign_part(len(todo))
            sigs: list[str] = []
            for f in signed:
                sigs += f.result()
        finally:
            for f in signed:
                f.cancel()
        out = [SealedEvent(FlatEvent(d), b, h, sig)
               for d, b, (_, h), sig in zip(dumps, out_bodies, todo, sigs, strict=True)]
        self._raw, self._parts, self._sent = [], [], 0
        self._last = {id(x): (x, x.body, x.hash, x.signature) for x in out}
        return out

    def vouches(self, sealed: SealedEvent, registered_key: str | None) -> bool:
        """Whether ``sealed`` is one of the events the last :meth:`seal` returned (this very object, with the same
        body, hash and signature it was given) and the key that signed it is ``registered_key``, the key the store has
        registered for its actor. Then its signature is the actor's registered key's signature of its hash:
        this sealer computed the hash from the canonical body and signed it with that key (Ed25519 is
        deterministic), so checking it again proves nothing new. The ledger's admission asks this to skip
        that second check (``Ledger.ingest(sealed_by=…)``); every stored signature is still checked, by the
        whole-ledger verification (``verify_store``, or the verification behind the ledger)."""
        kept = self._last.get(id(sealed))
        if (registered_key is None or kept is None or kept[0] is not sealed or sealed.body is not kept[1]
                or sealed.hash != kept[2] or sealed.signature != kept[3]):
            return False
        actor = sealed.event.actor
        mine = self._key_texts.get(actor)
        if mine is None:
            signer = self.writer.signers.get(actor)
            if signer is None:
                return False
            mine = self._key_texts[actor] = signer.public_key_text
        return mine == registered_key

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
