"""Verification of stored events and chains: pure functions over rows, reporting each problem found.

Each :class:`Problem` names the event (and the subject and position in its chain where relevant) and a
rule:

* ``body_unreadable`` / ``body_not_canonical`` / ``body_invalid`` — the stored body is not JSON, is
  not in canonical form (a byte was changed and the text still parses), or breaks the event schema;
* ``hash_mismatch`` — the SHA-256 of the stored body is not the stored hash (a changed byte);
* ``id_mismatch`` — the body's id is not the row's id;
* ``row_mismatch`` — a column copied from the body (kind, actor, time, country) was changed;
* ``actor_unknown`` / ``actor_no_key`` — the actor is not in the participant registry or has no key;
* ``signature_invalid`` — the signature does not verify under the actor's registered key (content
  changed, or signed by another key);
* ``chain_gap`` — a position of the subject's chain is missing (removed event);
* ``genesis`` — the first event of a chain does not start from 64 zeros (removed first event);
* ``prev_mismatch`` — a link does not point at the hash of the event before it (reordered,
  inserted or removed event);
* ``link_not_signed`` — the stored link differs from the ``prev`` the actor signed;
* ``link_hash_mismatch`` — the stored link names another hash than the event's;
* ``link_missing`` / ``link_orphan`` — the signed event names a subject with no link, or a link
  names an event that is not stored;
* ``store_seq_gap`` — a store-wide sequence number is missing (removed event);
* ``checkpoint_mismatch`` — the store no longer matches a checkpoint recorded earlier (truncation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from ..errors import InvalidData
from .canonical import GENESIS, canonical_json, sha256_hex
from .events import normalize
from .keys import PublicKey, verify_signature


@dataclass(frozen=True)
class Problem:
    event_id: str | None
    rule: str
    message: str
    subject: str | None = None
    seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class VerifyReport:
    scope: str
    events_checked: int = 0
    links_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "ok": self.ok, "events_checked": self.events_checked,
                "links_checked": self.links_checked, "problems": [p.as_dict() for p in self.problems],
                "checkpoint": self.checkpoint}


KeyLookup = Callable[[str], PublicKey | None | bool]
"""actor id → public key; ``None`` if the actor is unknown, ``False`` if it has no key."""


_NO_COLUMN = object()
_COLUMNS = ("kind", "actor", "occurred_at", "country")  # the row's copies of body fields, used by indexes and queries


def check_event_row(row: Any, key_for: KeyLookup, *, full_schema: bool = True) -> tuple[list[Problem], dict[str, Any] | None]:
    """Check one stored event row (id, hash, body, signature). Returns its problems and parsed body."""
    return check_event_fields(row.id, row.body, row.hash, row.signature,
                              tuple(getattr(row, c, _NO_COLUMN) for c in _COLUMNS), key_for, full_schema=full_schema)


def check_event_fields(eid: str, text: str | bytes, stored_hash: str, signature: str,
                       columns: tuple[Any, ...] | None, key_for: KeyLookup, *, full_schema: bool = True
                       ) -> tuple[list[Problem], dict[str, Any] | None]:
    """:func:`check_event_row` of a row given as its values: id, body, hash, signature and the columns copied from
    the body (kind, actor, occurred_at, country; ``None``: the row has none of them)."""
    problems: list[Problem] = []
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return [Problem(eid, "body_unreadable", f"event {eid}: stored body is not JSON ({exc})")], None
    if not isinstance(body, dict):
        return [Problem(eid, "body_unreadable", f"event {eid}: stored body is not a JSON object")], None
    raw = text.encode() if isinstance(text, str) else bytes(text)
    computed = sha256_hex(raw)
    if computed != stored_hash:
        problems.append(Problem(eid, "hash_mismatch", f"event {eid}: SHA-256 of the stored body is {computed[:16]}…, "
                                                      f"the stored hash is {stored_hash[:16]}… — the body was changed"))
    if canonical_json(body) != raw:
        problems.append(Problem(eid, "body_not_canonical", f"event {eid}: stored body is not in canonical form"))
    if full_schema:
        try:
            _, canon, _h = normalize(body)
            if canon != raw and not any(p.rule == "body_not_canonical" for p in problems):
                problems.append(Problem(eid, "body_not_canonical",
                                        f"event {eid}: stored body differs from its normalized form"))
        except InvalidData as exc:
            problems.append(Problem(eid, "body_invalid", f"event {eid}: stored body breaks the event schema: {exc.detail}"))
    if body.get("id") != eid:
        problems.append(Problem(eid, "id_mismatch", f"event {eid}: body says id {body.get('id')!r}"))
    actor = body.get("actor")
    if columns is not None:
        place = body.get("place") if isinstance(body.get("place"), dict) else {}
        for col, have, want in zip(_COLUMNS, columns, (body.get("kind"), actor, body.get("occurred_at"),
                                                       place.get("country")), strict=True):
            if have is not _NO_COLUMN and have != want:
                problems.append(Problem(eid, "row_mismatch", f"event {eid}: column {col} is {have!r}, the signed body "
                                                             f"says {want!r}"))
    key = key_for(actor) if isinstance(actor, str) else None
    if key is None:
        problems.append(Problem(eid, "actor_unknown", f"event {eid}: actor {actor!r} is not in the participant registry"))
    elif key is False:
        problems.append(Problem(eid, "actor_no_key", f"event {eid}: actor {actor} has no public key in the registry"))
    elif not verify_signature(key, stored_hash, signature) or computed != stored_hash:
        problems.append(Problem(eid, "signature_invalid",
                                f"event {eid}: signature does not verify under the registered key of {actor} "
                                "(content changed or signed by another key)"))
    return problems, body


def _order_problems(subject: str, link: Any, expected_seq: int, expected_prev: str) -> list[Problem]:
    """A link's place in its chain: no gap before it, and it links to the event before it (or to GENESIS)."""
    out: list[Problem] = []
    eid = link.event_id
    if link.seq != expected_seq:
        out.append(Problem(eid, "chain_gap", f"chain {subject}: position {expected_seq}"
                           f"{'–' + str(link.seq - 1) if link.seq - 1 > expected_seq else ''} is missing "
                           f"before event {eid} (removed event)", subject, link.seq))
    if link.prev_hash != expected_prev:
        rule = "genesis" if expected_prev == GENESIS else "prev_mismatch"
        what = ("does not start from 64 zeros (its first event was removed)" if rule == "genesis" else
                f"links to {link.prev_hash[:16]}…, but the event before it has hash {expected_prev[:16]}… "
                "(reordered, inserted or removed event)")
        out.append(Problem(eid, rule, f"chain {subject}: event {eid} at position {link.seq} {what}", subject, link.seq))
    return out


def check_chain_links(subject: str, links: Iterable[Any], events: dict[str, tuple[str, dict[str, Any] | None]]) -> list[Problem]:
    """Check one subject's links (rows with seq, event_id, prev_hash, event_hash, ordered by seq).

    ``events`` maps event id → (stored hash, parsed body) for the events the links name.
    """
    problems: list[Problem] = []
    expected_prev = GENESIS
    expected_seq = 1
    for link in links:
        eid = link.event_id
        problems += _order_problems(subject, link, expected_seq, expected_prev)
        stored = events.get(eid)
        if stored is None:
            problems.append(Problem(eid, "link_orphan", f"chain {subject}: position {link.seq} names event {eid}, "
                                    "which is not stored (removed event)", subject, link.seq))
        else:
            h, body = stored
            if link.event_hash != h:
                problems.append(Problem(eid, "link_hash_mismatch", f"chain {subject}: position {link.seq} names hash "
                                        f"{link.event_hash[:16]}… but event {eid} has hash {h[:16]}…", subject, link.seq))
            if body is not None:
                signed_prev = (body.get("prev") or {}).get(subject)
                if signed_prev is None:
                    problems.append(Problem(eid, "link_not_signed", f"chain {subject}: event {eid} does not name "
                                            f"{subject} among its signed links", subject, link.seq))
                elif signed_prev != link.prev_hash:
                    problems.append(Problem(eid, "link_not_signed", f"chain {subject}: stored link of event {eid} "
                                            f"({link.prev_hash[:16]}…) is not the prev the actor signed "
                                            f"({signed_prev[:16]}…)", subject, link.seq))
        expected_prev = link.event_hash
        expected_seq = link.seq + 1
    return problems


class Checkpoint:
    """A running digest over the store's event hashes in store order: record it, compare it later."""

    def __init__(self) -> None:
        import hashlib

        self._h = hashlib.sha256()
        self.count = 0
        self.last_gseq = 0

    def add(self, gseq: int, event_hash: str) -> None:
        self._h.update(bytes.fromhex(event_hash))
        self.count += 1
        self.last_gseq = gseq

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.count, "last_gseq": self.last_gseq, "digest": self._h.hexdigest()}


def check_event_links(event_id: str, event_hash: str, body: dict[str, Any] | None,
                      links: Iterable[Any]) -> list[Problem]:
    """An event's own links (rows with subject, seq, prev_hash, event_hash) against what its actor signed."""
    problems: list[Problem] = []
    signed = (body or {}).get("prev") or {}
    seen = set()
    for ln in links:
        seen.add(ln.subject)
        if ln.event_hash != event_hash:
            problems.append(Problem(event_id, "link_hash_mismatch", f"chain {ln.subject}: position {ln.seq} names hash "
                                    f"{ln.event_hash[:16]}… but event {event_id} has hash {event_hash[:16]}…",
                                    ln.subject, ln.seq))
        if body is not None:
            sp = signed.get(ln.subject)
            if sp is None:
                problems.append(Problem(event_id, "link_not_signed", f"chain {ln.subject}: event {event_id} does not "
                                        f"name {ln.subject} among its signed links", ln.subject, ln.seq))
            elif sp != ln.prev_hash:
                problems.append(Problem(event_id, "link_not_signed", f"chain {ln.subject}: stored link of event "
                                        f"{event_id} ({ln.prev_hash[:16]}…) is not the prev the actor signed "
                                        f"({sp[:16]}…)", ln.subject, ln.seq))
    for subj in sorted(set(signed) - seen):
        problems.append(Problem(event_id, "link_missing", f"event {event_id} names {subj} in its signed links but "
                                f"the chain of {subj} has no link to it (removed)", subj))
    return problems


def check_chain_sequence(subject: str, links: Iterable[Any], known: Callable[[str], bool]) -> list[Problem]:
    """A subject's links in seq order: no gap, starts at GENESIS, each links to the one before, names a stored event."""
    problems: list[Problem] = []
    expected_prev = GENESIS
    expected_seq = 1
    for link in links:
        eid = link.event_id
        problems += _order_problems(subject, link, expected_seq, expected_prev)
        if not known(eid):
            problems.append(Problem(eid, "link_orphan", f"chain {subject}: position {link.seq} names event {eid}, "
                                    "which is not stored (removed event)", subject, link.seq))
        expected_prev = link.event_hash
        expected_seq = link.seq + 1
    return problems
