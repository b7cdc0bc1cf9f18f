"""Client side of the ledger: keep the chain heads you know and sign events against them.

A participant that writes a sequence of events (a mine, a cell plant, a generator of test data)
keeps the hash of each subject's last event, fills ``prev`` from it and signs; the ledger checks the
same links. :class:`ChainWriter` does this bookkeeping for events written in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .canonical import GENESIS
from .events import SealedEvent, chain_subjects, seal
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
