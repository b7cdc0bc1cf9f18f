"""Verification as pure functions over rows: every tampering of a signed, hash-chained ledger (REFERENCE.md:
signed events, each linking to the hash of its subject's previous event) is found, and named.

Rows are plain namespaces here (no store): an event row (id, body, hash, signature and the columns copied
from the body), chain links (subject, seq, event_id, prev_hash, event_hash). Each test starts from an
honest chain of three events on one pack and applies one class of tampering to it.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from batteryloop.sim import pilot
from batteryloop.sim.supply_chain import demo_signers
from batteryloop.trace.canonical import GENESIS, canonical_json, sha256_hex
from batteryloop.trace.client import ChainWriter
from batteryloop.trace.keys import Signer
from batteryloop.trace.verify import (
    Checkpoint,
    Problem,
    VerifyReport,
    check_chain_links,
    check_chain_sequence,
    check_event_links,
    check_event_row,
)

EM = pilot.AUTOMAKER
PACK = "PACK-V-0001"
SIGNERS = demo_signers()


def soh(i: int, pack: str = PACK) -> dict[str, Any]:
    return {"id": f"{pack}-soh-{i}", "kind": "soh_update", "actor": EM,
            "occurred_at": f"2026-03-01T10:00:0{i}Z", "place": {"country": "DE", "site": "BMS gateway"},
            "subjects": [pack], "data": {"soh_capacity_pct": 99.0 - i}}


def honest(n: int = 3) -> list[Any]:
    w = ChainWriter(SIGNERS)
    return [w.sign(soh(i)) for i in range(n)]


def row(sealed: Any, **over: Any) -> SimpleNamespace:
    body = sealed.body.decode()
    fields = {"id": sealed.event.id, "body": body, "hash": sealed.hash, "signature": sealed.signature,
              "kind": sealed.event.kind, "actor": sealed.event.actor, "occurred_at": sealed.event.occurred_at,
              "country": sealed.event.place.country}
    return SimpleNamespace(**(fields | over))


def key_for(actor: str) -> Any:
    s = SIGNERS.get(actor)
    return None if s is None else s.public_key


def rules(problems: list[Problem]) -> list[str]:
    return [p.rule for p in problems]


# ------------------------------------------------------------------------------- one event row


@pytest.mark.parametrize("as_bytes", [False, True])
def test_an_honest_row_has_no_problem(as_bytes: bool) -> None:
    s = honest(1)[0]
    r = row(s, body=s.body if as_bytes else s.body.decode())
    problems, body = check_event_row(r, key_for)
    assert problems == []
    assert body == orjson.loads(s.body)
    # a row without the copied columns (an export, a view) is checked on the body alone
    bare = SimpleNamespace(id=r.id, body=r.body, hash=r.hash, signature=r.signature)
    assert check_event_row(bare, key_for) == ([], body)


@pytest.mark.parametrize(("body", "what"), [("{not json", "not JSON"), ("[1, 2]", "not a JSON object"),
                                            ('"text"', "not a JSON object"), ("", "not JSON")])
def test_unreadable_body(body: str, what: str) -> None:
    s = honest(1)[0]
    problems, parsed = check_event_row(row(s, body=body), key_for)
    assert parsed is None
    assert rules(problems) == ["body_unreadable"]
    assert s.event.id in problems[0].message and what in problems[0].message
    assert problems[0].message.startswith(f"event {s.event.id}: stored body is not ")
    assert problems[0].event_id == s.event.id


def test_changed_byte_breaks_hash_and_signature() -> None:
    """One digit of the body changed: the SHA-256 differs from the stored hash (both named by their first
    16 hex digits), and the signature, made over the stored hash, no longer covers the body."""
    s = honest(1)[0]
    text = s.body.decode().replace('"soh_capacity_pct":99.0', '"soh_capacity_pct":98.0')
    assert text != s.body.decode()
    problems, _ = check_event_row(row(s, body=text), key_for)
    assert rules(problems) == ["hash_mismatch", "signature_invalid"]
    computed = hashlib.sha256(text.encode()).hexdigest()
    assert f"{computed[:16]}…" in problems[0].message and f"{s.hash[:16]}…" in problems[0].message
    assert "body was changed" in problems[0].message
    assert EM in problems[1].message and "signature does not verify" in problems[1].message
    assert problems[1].message.endswith(f"registered key of {EM} (content changed or signed by another key)")


def test_rehashed_body_still_fails_the_signature() -> None:
    """Changing the body and storing its new hash: the signature covers the old hash only."""
    s = honest(1)[0]
    text = s.body.decode().replace("BMS gateway", "BMS gatewaX")
    problems, _ = check_event_row(row(s, body=text, hash=sha256_hex(text.encode())), key_for)
    assert rules(problems) == ["signature_invalid"]


def test_body_not_canonical() -> None:
    """Same JSON, other bytes (whitespace): not canonical, so the hash differs too."""
    s = honest(1)[0]
    spaced = orjson.dumps(orjson.loads(s.body), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    problems, _ = check_event_row(row(s, body=spaced), key_for)
    assert rules(problems) == ["hash_mismatch", "body_not_canonical", "signature_invalid"]
    assert "canonical form" in problems[1].message
    assert [(p.event_id, p.subject, p.seq) for p in problems] == [(s.event.id, None, None)] * 3
    # found once, also with the full schema check
    assert rules(check_event_row(row(s, body=spaced), key_for, full_schema=False)[0]) == rules(problems)


def resigned(body: dict[str, Any], signer: Signer | None = None) -> SimpleNamespace:
    """A body stored canonically with its own hash and a valid signature of its actor (so only the
    schema check can object)."""
    raw = canonical_json(body)
    h = sha256_hex(raw)
    sig = (signer or SIGNERS[EM]).sign_hash(h)
    return SimpleNamespace(id=body["id"], body=raw.decode(), hash=h, signature=sig)


def test_body_breaking_the_schema() -> None:
    s = honest(1)[0]
    body = orjson.loads(s.body)
    body["data"] = {"soh_capacity_pct": 400.0}  # over 120 %
    problems, _ = check_event_row(resigned(body), key_for)
    assert rules(problems) == ["body_invalid"]
    assert "schema" in problems[0].message and "soh_capacity_pct" in problems[0].message
    assert problems[0].event_id == body["id"]
    assert check_event_row(resigned(body), key_for, full_schema=False)[0] == []


def test_body_canonical_but_not_normalized() -> None:
    """Canonical JSON that normalizes to other bytes (an explicit null the model leaves out)."""
    s = honest(1)[0]
    body = orjson.loads(s.body)
    body["data"] = body["data"] | {"measured_at": None}
    problems, _ = check_event_row(resigned(body), key_for)
    assert rules(problems) == ["body_not_canonical"]
    assert "normalized form" in problems[0].message and problems[0].event_id == body["id"]
    assert check_event_row(resigned(body), key_for, full_schema=False)[0] == []


def test_id_mismatch() -> None:
    s = honest(1)[0]
    problems, _ = check_event_row(row(s, id="other-id"), key_for)
    assert rules(problems) == ["id_mismatch"]
    assert problems[0].event_id == "other-id" and repr(s.event.id) in problems[0].message


@pytest.mark.parametrize(("col", "value"), [("kind", "removal"), ("actor", pilot.RECYCLER_EU),
                                            ("occurred_at", "2020-01-01T00:00:00.000000Z"), ("country", "FR")])
def test_row_column_changed(col: str, value: str) -> None:
    """A column copied from the body (used by indexes and queries) changed: named, with both values."""
    s = honest(1)[0]
    problems, _ = check_event_row(row(s, **{col: value}), key_for)
    assert rules(problems) == ["row_mismatch"]
    assert f"column {col}" in problems[0].message and repr(value) in problems[0].message
    want = {"kind": s.event.kind, "actor": s.event.actor, "occurred_at": s.event.occurred_at,
            "country": s.event.place.country}[col]
    assert repr(want) in problems[0].message


def test_actor_unknown_or_without_key() -> None:
    s = honest(1)[0]
    p, _ = check_event_row(row(s), lambda a: None)
    assert rules(p) == ["actor_unknown"] and EM in p[0].message and "registry" in p[0].message
    assert p[0].event_id == s.event.id
    p, _ = check_event_row(row(s), lambda a: False)
    assert rules(p) == ["actor_no_key"] and EM in p[0].message and "no public key" in p[0].message
    # an actor that is not even a string is unknown (the lookup is not asked)
    body = orjson.loads(s.body) | {"actor": 42}
    asked: list[Any] = []
    p, _ = check_event_row(resigned(body), lambda a: asked.append(a) or key_for(EM), full_schema=False)
    assert rules(p) == ["actor_unknown"] and asked == []


def test_signed_by_another_key() -> None:
    s = honest(1)[0]
    other = SIGNERS[pilot.RECYCLER_EU].sign_hash(s.hash)
    p, _ = check_event_row(row(s, signature=other), key_for)
    assert rules(p) == ["signature_invalid"] and "another key" in p[0].message


def test_problem_and_report_as_dict() -> None:
    p = Problem("e1", "chain_gap", "m", "S", 3)
    assert p.as_dict() == {"event_id": "e1", "rule": "chain_gap", "message": "m", "subject": "S", "seq": 3}
    rep = VerifyReport("store")
    assert rep.ok and rep.as_dict() == {"scope": "store", "ok": True, "events_checked": 0, "links_checked": 0,
                                         "problems": [], "checkpoint": None}
    rep.problems.append(p)
    rep.events_checked, rep.links_checked, rep.checkpoint = 2, 5, {"events": 2}
    assert not rep.ok
    assert rep.as_dict() == {"scope": "store", "ok": False, "events_checked": 2, "links_checked": 5,
                             "problems": [p.as_dict()], "checkpoint": {"events": 2}}


# ------------------------------------------------------------------------------- chains


def links_of(chain: list[Any], subject: str = PACK) -> list[SimpleNamespace]:
    return [SimpleNamespace(subject=subject, seq=i + 1, event_id=s.event.id, prev_hash=s.event.prev[subject],
                            event_hash=s.hash) for i, s in enumerate(chain)]


def events_of(chain: list[Any]) -> dict[str, tuple[str, dict[str, Any] | None]]:
    return {s.event.id: (s.hash, orjson.loads(s.body)) for s in chain}


def both_checks(links: list[Any], chain: list[Any], known: set[str] | None = None) -> tuple[list[Problem], list[Problem]]:
    ev = events_of(chain)
    ids = set(ev) if known is None else known
    return check_chain_links(PACK, links, ev), check_chain_sequence(PACK, links, ids.__contains__)


def test_honest_chain() -> None:
    chain = honest()
    links = links_of(chain)
    assert links[0].prev_hash == GENESIS and links[1].prev_hash == chain[0].hash
    assert both_checks(links, chain) == ([], [])
    assert both_checks([], chain) == ([], [])


def test_removed_middle_event() -> None:
    """Link 2 removed: position 2 is missing before event 3, and event 3 links to a hash that is not the
    hash of the event now before it."""
    chain = honest()
    links = links_of(chain)
    del links[1]
    for problems in both_checks(links, chain):
        assert rules(problems) == ["chain_gap", "prev_mismatch"]
        gap, prev = problems
        assert (gap.event_id, gap.subject, gap.seq) == (chain[2].event.id, PACK, 3)
        assert "position 2 is missing" in gap.message and "removed event" in gap.message
        assert (prev.event_id, prev.subject, prev.seq) == (chain[2].event.id, PACK, 3)
        assert f"{chain[1].hash[:16]}…" in prev.message and f"{chain[0].hash[:16]}…" in prev.message
        assert "at position 3" in prev.message
        assert prev.message.endswith(f"{chain[0].hash[:16]}… (reordered, inserted or removed event)")


def test_removed_run_of_events_names_the_range() -> None:
    chain = honest(4)
    links = links_of(chain)
    del links[1:3]
    for problems in both_checks(links, chain):
        assert "position 2–3 is missing" in problems[0].message


def test_removed_first_event() -> None:
    chain = honest()
    links = links_of(chain)[1:]
    for problems in both_checks(links, chain):
        assert rules(problems) == ["chain_gap", "genesis"]
        assert "position 1 is missing" in problems[0].message
        assert "64 zeros" in problems[1].message and problems[1].seq == 2
        assert problems[1].message.endswith(" at position 2 does not start from 64 zeros (its first event was removed)")
        assert (problems[1].event_id, problems[1].subject) == (chain[1].event.id, PACK)


def test_reordered_events() -> None:
    """Events 2 and 3 swapped in the chain (positions renumbered): both links point at the wrong hash."""
    chain = honest()
    links = links_of(chain)
    links[1].event_id, links[2].event_id = links[2].event_id, links[1].event_id
    links[1].prev_hash, links[2].prev_hash = links[2].prev_hash, links[1].prev_hash
    links[1].event_hash, links[2].event_hash = links[2].event_hash, links[1].event_hash
    for problems in both_checks(links, chain):
        assert rules(problems) == ["prev_mismatch", "prev_mismatch"]
        assert [p.seq for p in problems] == [2, 3]


def test_link_to_a_removed_event() -> None:
    chain = honest()
    links = links_of(chain)
    stored = chain[:2]
    full, seq = both_checks(links, stored, known={s.event.id for s in stored})
    for problems in (full, seq):
        assert rules(problems) == ["link_orphan"]
        assert problems[0].seq == 3 and "not stored" in problems[0].message
        assert (problems[0].event_id, problems[0].subject) == (chain[2].event.id, PACK)
        assert problems[0].message.endswith(f"names event {chain[2].event.id}, which is not stored (removed event)")


def test_link_names_another_hash() -> None:
    chain = honest()
    links = links_of(chain)
    links[2].event_hash = "ab" * 32
    problems = check_chain_links(PACK, links, events_of(chain))
    assert rules(problems) == ["link_hash_mismatch"]
    assert "abababababababab…" in problems[0].message and f"{chain[2].hash[:16]}…" in problems[0].message


def test_stored_link_differs_from_the_signed_prev() -> None:
    """A re-linked chain: the stored prev of link 2 is rewritten (and link 1's hash with it), so the order
    checks pass, but the actor signed another prev."""
    chain = honest()
    links = links_of(chain)
    fake = "cd" * 32
    links[0].event_hash = fake
    links[1].prev_hash = fake
    ev = events_of(chain)
    problems = check_chain_links(PACK, links, ev)
    assert rules(problems) == ["link_hash_mismatch", "link_not_signed"]
    assert "not the prev the actor signed" in problems[1].message
    assert f"{fake[:16]}…" in problems[1].message and f"{chain[0].hash[:16]}…" in problems[1].message
    # without a body (unreadable) the signed prev cannot be compared
    ev[chain[1].event.id] = (chain[1].hash, None)
    assert rules(check_chain_links(PACK, links, ev)) == ["link_hash_mismatch"]
    # a body that does not name the subject at all
    body = orjson.loads(chain[1].body)
    ev[chain[1].event.id] = (chain[1].hash, body | {"prev": {"OTHER": GENESIS}})
    problems = check_chain_links(PACK, links, ev)
    assert rules(problems) == ["link_hash_mismatch", "link_not_signed"]
    assert "does not name" in problems[1].message
    ev[chain[1].event.id] = (chain[1].hash, {k: v for k, v in body.items() if k != "prev"})
    assert rules(check_chain_links(PACK, links, ev)) == ["link_hash_mismatch", "link_not_signed"]


# ------------------------------------------------------------------------------- an event's own links


def test_event_links() -> None:
    """An event on two subjects has one link per subject, each with the prev its actor signed."""
    w = ChainWriter(SIGNERS)
    w.sign(soh(0))
    s = w.sign({**soh(1), "subjects": [PACK, "OTHER"]})
    body = orjson.loads(s.body)
    good = [SimpleNamespace(subject=subj, seq=n, prev_hash=s.event.prev[subj], event_hash=s.hash)
            for subj, n in ((PACK, 2), ("OTHER", 1))]
    assert check_event_links(s.event.id, s.hash, body, good) == []
    # a link removed from one chain
    p = check_event_links(s.event.id, s.hash, body, good[:1])
    assert rules(p) == ["link_missing"] and p[0].subject == "OTHER" and "OTHER" in p[0].message
    assert p[0].seq is None and p[0].event_id == s.event.id and "has no link to it" in p[0].message
    # a link naming another hash
    bad = [SimpleNamespace(**{**vars(good[0]), "event_hash": "ef" * 32}), good[1]]
    p = check_event_links(s.event.id, s.hash, body, bad)
    assert rules(p) == ["link_hash_mismatch"] and (p[0].subject, p[0].seq) == (PACK, 2)
    assert "efefefefefefefef…" in p[0].message and f"{s.hash[:16]}…" in p[0].message
    # a stored prev other than the signed one
    bad = [good[0], SimpleNamespace(**{**vars(good[1]), "prev_hash": "12" * 32})]
    p = check_event_links(s.event.id, s.hash, body, bad)
    assert rules(p) == ["link_not_signed"] and (p[0].subject, p[0].seq) == ("OTHER", 1)
    assert "1212121212121212…" in p[0].message and f"{GENESIS[:16]}…" in p[0].message
    # a link for a subject the actor did not sign
    extra = good + [SimpleNamespace(subject="THIRD", seq=1, prev_hash=GENESIS, event_hash=s.hash)]
    p = check_event_links(s.event.id, s.hash, body, extra)
    assert rules(p) == ["link_not_signed"] and p[0].subject == "THIRD" and "does not name THIRD" in p[0].message
    # no body: only the hashes can be compared, and nothing is missing
    assert check_event_links(s.event.id, s.hash, None, good[:1]) == []
    assert rules(check_event_links(s.event.id, s.hash, None, bad)) == []
    assert rules(check_event_links(s.event.id, "00" * 32, None, good)) == ["link_hash_mismatch"] * 2
    # missing links listed in subject order
    p = check_event_links(s.event.id, s.hash, body, [])
    assert [(x.rule, x.subject) for x in p] == [("link_missing", "OTHER"), ("link_missing", PACK)]


# ------------------------------------------------------------------------------- checkpoints


def test_checkpoint_digest_by_hand() -> None:
    """The digest is SHA-256 over the raw 32-byte hashes in store order; count and last sequence number."""
    cp = Checkpoint()
    assert cp.as_dict() == {"events": 0, "last_gseq": 0, "digest": hashlib.sha256(b"").hexdigest()}
    hashes = [sha256_hex(str(i).encode()) for i in range(3)]
    for g, h in zip((1, 2, 5), hashes, strict=True):
        cp.add(g, h)
    assert cp.as_dict() == {"events": 3, "last_gseq": 5,
                            "digest": hashlib.sha256(b"".join(bytes.fromhex(h) for h in hashes)).hexdigest()}
    other = Checkpoint()
    for g, h in zip((1, 2, 5), reversed(hashes), strict=True):
        other.add(g, h)
    assert other.as_dict()["digest"] != cp.as_dict()["digest"]  # order matters


def test_row_problems_name_no_chain_position() -> None:
    """Problems of an event row concern the event, not a chain: no subject, no position."""
    s = honest(1)[0]
    p, _ = check_event_row(row(s, id="x", kind="removal"), lambda a: False)
    assert rules(p) == ["id_mismatch", "row_mismatch", "actor_no_key"]
    assert all(x.subject is None and x.seq is None and x.event_id == "x" for x in p)


def test_place_that_is_not_an_object() -> None:
    """A body whose place is not an object: its country is read as absent (and the column then differs)."""
    s = honest(1)[0]
    body = orjson.loads(s.body) | {"place": "DE"}
    r = resigned(body)
    r.country = "DE"
    p, _ = check_event_row(r, key_for, full_schema=False)
    assert rules(p) == ["row_mismatch"] and "column country is 'DE', the signed body says None" in p[0].message
    r.country = None
    assert check_event_row(r, key_for, full_schema=False)[0] == []


def test_every_chain_problem_says_where() -> None:
    """Whatever the tampering, a chain problem names the event of the link, the subject and the position."""
    chain = honest(4)
    ev = events_of(chain)

    def tampered() -> list[tuple[list[SimpleNamespace], dict, set[str]]]:
        out = []
        links = links_of(chain)
        links[2].event_hash = "ab" * 32  # link names another hash
        out.append((links, ev, set(ev)))
        links = links_of(chain)
        links[1].prev_hash = "cd" * 32  # stored prev not the signed one (and not the hash before)
        out.append((links, ev, set(ev)))
        links = links_of(chain)
        del links[1]  # gap
        out.append((links, ev, set(ev)))
        links = links_of(chain)[1:]  # first removed
        out.append((links, ev, set(ev)))
        links = links_of(chain)
        gone = {k: v for k, v in ev.items() if k != chain[3].event.id}
        out.append((links, gone, set(gone)))  # event not stored
        links = links_of(chain)
        nobody = dict(ev)
        nobody[chain[2].event.id] = (chain[2].hash, {**ev[chain[2].event.id][1], "prev": {}})
        out.append((links, nobody, set(ev)))  # body does not name the subject
        return out

    seen_rules = set()
    for links, events, known in tampered():
        by_seq = {ln.seq: ln for ln in links}
        problems = check_chain_links(PACK, links, events) + check_chain_sequence(PACK, links, known.__contains__)
        assert problems
        for p in problems:
            seen_rules.add(p.rule)
            assert p.subject == PACK and p.seq in by_seq, p
            assert p.event_id == by_seq[p.seq].event_id, p
            assert p.message.startswith(f"chain {PACK}: "), p
    assert seen_rules == {"link_hash_mismatch", "prev_mismatch", "link_not_signed", "chain_gap", "genesis", "link_orphan"}
    # an event's own links: every problem names the event and the subject, and the position of its link
    w = ChainWriter(SIGNERS)
    s = w.sign({**soh(0), "subjects": [PACK, "OTHER"]})
    body = orjson.loads(s.body)
    links = [SimpleNamespace(subject=PACK, seq=1, prev_hash="12" * 32, event_hash="34" * 32),
             SimpleNamespace(subject="THIRD", seq=7, prev_hash=GENESIS, event_hash=s.hash)]
    problems = check_event_links(s.event.id, s.hash, body, links)
    assert [(p.rule, p.subject, p.seq, p.event_id) for p in problems] == [
        ("link_hash_mismatch", PACK, 1, s.event.id), ("link_not_signed", PACK, 1, s.event.id),
        ("link_not_signed", "THIRD", 7, s.event.id), ("link_missing", "OTHER", None, s.event.id)]
    assert problems[0].message.startswith(f"chain {PACK}: position 1 names hash 3434343434343434… but event ")
    assert problems[0].message.endswith(f"has hash {s.hash[:16]}…")
    assert problems[1].message.endswith(f"(1212121212121212…) is not the prev the actor signed ({GENESIS[:16]}…)")
    assert problems[2].message == f"chain THIRD: event {s.event.id} does not name THIRD among its signed links"
    assert problems[3].message.startswith(f"event {s.event.id} names OTHER in its signed links but the chain of OTHER")


def test_not_canonical_is_reported_once_whatever_else_is_wrong() -> None:
    """A re-hashed, re-spaced body: not canonical (once, though the normalized form differs too). A canonical
    body with an explicit null and a wrong stored hash: the hash and the normalized form are both reported."""
    s = honest(1)[0]
    spaced = orjson.dumps(orjson.loads(s.body), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    p, _ = check_event_row(row(s, body=spaced, hash=sha256_hex(spaced.encode())), key_for)
    assert rules(p) == ["body_not_canonical", "signature_invalid"]
    body = orjson.loads(s.body)
    body["data"] = body["data"] | {"measured_at": None}
    r = resigned(body)
    r.hash = "00" * 32
    p, _ = check_event_row(r, key_for)
    assert rules(p) == ["hash_mismatch", "body_not_canonical", "signature_invalid"]
    assert "normalized form" in p[1].message
