"""Participant registry and API tokens (stored as SHA-256 hashes, never in clear).

A token's lifecycle: issued (the clear token is shown once), named afterwards only by its row id,
valid until it expires (a TTL, ``BATTERYLOOP_TOKEN_TTL_DAYS`` by default) or is revoked, whichever
comes first. A revocation takes effect at once: the authentication cache is cleared.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson
from pydantic import ValidationError

from .access import Caller
from .errors import Conflict, NotFound, invalid
from .participants import ParticipantIn, Role
from .store import participants as repo
from .store.db import Store, iso_text, parse_iso, utcnow_iso
from .store.errors import IntegrityViolation, StoreFailure, translated

TOKEN_PREFIX = "blt_"
#: how stale a token's ``last_used_at`` may get before a request writes it again (one write an hour at most)
LAST_USED_RESOLUTION = timedelta(hours=1)
log = logging.getLogger("batteryloop.identity")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _when(iso: str) -> str:
    """A stored time as people read it in a message: ``2027-02-25 09:00 UTC``."""
    return iso[:16].replace("T", " ") + " UTC"


def _now() -> datetime:
    return datetime.now(UTC)


class _Hit(NamedTuple):
    """A cached authentication: the caller (``None`` if refused), why not, and when the token expires."""

    at: float
    caller: Caller | None
    refusal: str
    expires_at: str | None = None
    expires: float = math.inf  # expires_at as a POSIX timestamp, compared on every cache hit


def _row_to_token(row: Any, now: datetime) -> dict[str, Any]:
    state = ("revoked" if row.revoked_at else
             "expired" if row.expires_at and parse_iso(row.expires_at) <= now else "active")
    return {"id": row.id, "participant_id": row.participant_id, "label": row.label, "created_at": row.created_at,
            "expires_at": row.expires_at, "revoked_at": row.revoked_at, "last_used_at": row.last_used_at,
            "state": state}


class ParticipantService:
    def __init__(self, store: Store, admin_token: str | None = None, cache_seconds: float = 2.0,
                 token_ttl: timedelta | None = timedelta(days=90),
                 clock: Callable[[], datetime] = _now) -> None:
        """``token_ttl``: how long a token lives unless its issuer says otherwise (``None``: no expiry);
        ``clock``: now, as an aware datetime (tests pass a fake one)."""
        self.store = store
        self._admin_hash = hash_token(admin_token) if admin_token else None
        self._cache: dict[str, _Hit] = {}
        self._cache_seconds = cache_seconds
        self.token_ttl = token_ttl if token_ttl else None
        self.clock = clock

    # ----------------------------------------------------------------- participants
    def create(self, data: dict[str, Any] | ParticipantIn) -> dict[str, Any]:
        try:
            p = data if isinstance(data, ParticipantIn) else ParticipantIn.model_validate(data)
        except ValidationError as exc:
            raise invalid(exc, "participant") from None
        row = {
            "id": p.id,
            "id_scheme": p.id_scheme.value,
            "name": p.name,
            "country": p.country,
            "roles": orjson.dumps(sorted({r.value for r in p.roles})).decode(),
            "public_key": p.public_key,
            "created_at": utcnow_iso(),
        }
        try:
            with translated(), self.store.write() as conn:
                if repo.participant_exists(conn, p.id):
                    raise Conflict(f"participant {p.id} already exists")
                repo.insert_participant(conn, row)
        except IntegrityViolation:
            raise Conflict(f"participant {p.id} already exists") from None
        return self.get(p.id)

    def get(self, participant_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            found = repo.find_participant(conn, participant_id)
        if found is None:
            raise NotFound(f"no participant with id {participant_id!r}")
        return found

    def list(self, role: Role | None = None) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            out = repo.list_participants(conn)
        if role is not None:
            out = [p for p in out if role.value in p["roles"]]
        return out

    # ----------------------------------------------------------------------- tokens
    def issue(self, participant_id: str, label: str = "", ttl: timedelta | None = None) -> dict[str, Any]:
        """Create an API token: its record plus ``token``, the clear token, returned once and never stored.

        ``ttl``: how long it lives; ``None`` takes the node's default, ``timedelta(0)`` means it never
        expires (the adapters let only the node administrator ask for that)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        life = self.token_ttl if ttl is None else (ttl or None)
        row = {"participant_id": participant_id, "token_hash": hash_token(token), "label": label[:100],
               "created_at": iso_text(now), "expires_at": iso_text(now + life) if life else None}
        with self.store.write() as conn:
            if not repo.participant_exists(conn, participant_id):
                raise NotFound(f"no participant with id {participant_id!r}")
            token_id = repo.insert_token(conn, row)
        return {"id": token_id, "participant_id": participant_id, "label": row["label"],
                "created_at": row["created_at"], "expires_at": row["expires_at"], "token": token}

    def issue_token(self, participant_id: str, label: str = "", ttl: timedelta | None = None) -> str:
        """Like :meth:`issue`, but only the clear token."""
        return str(self.issue(participant_id, label, ttl)["token"])

    def tokens(self, participant_id: str) -> list[dict[str, Any]]:
        """A participant's tokens, newest first: id, label, times and state — never the hash."""
        self.get(participant_id)
        with self.store.read() as conn:
            rows = repo.tokens_of(conn, participant_id)
        now = self.clock()
        return [_row_to_token(r, now) for r in rows]

    def revoke_token(self, participant_id: str, token_id: int) -> dict[str, Any]:
        """Revoke one of a participant's tokens (again: no change); it is refused from the next request on."""
        with self.store.write() as conn:
            repo.revoke_token(conn, participant_id, token_id, iso_text(self.clock()))
            row = repo.find_token(conn, participant_id, token_id)
        if row is None:
            raise NotFound(f"participant {participant_id!r} has no token {token_id}")
        self._cache.clear()
        return _row_to_token(row, self.clock())

    def revoke_tokens(self, participant_id: str) -> int:
        """Revoke all of a participant's tokens still in force; how many were."""
        self.get(participant_id)
        with self.store.write() as conn:
            n = repo.revoke_tokens(conn, participant_id, iso_text(self.clock()))
        self._cache.clear()
        return n

    def authenticate(self, token: str) -> Caller | None:
        """The caller a bearer token stands for, or ``None`` if it is unknown, expired or revoked
        (:meth:`refusal` says which)."""
        h = hash_token(token)
        if self._admin_hash is not None and hmac.compare_digest(h, self._admin_hash):
            return Caller(is_admin=True)
        return self._lookup(h).caller

    def refusal(self, token: str) -> str:
        """Why :meth:`authenticate` refuses ``token``: "is unknown", "expired on …" or "was revoked on …"."""
        return self._lookup(hash_token(token)).refusal

    def _lookup(self, h: str) -> _Hit:
        now = time.monotonic()
        hit = self._cache.get(h)
        if hit is None or now - hit.at >= self._cache_seconds:
            hit = self._load(h, now)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[h] = hit
        if hit.caller is not None and hit.expires < math.inf and hit.expires <= self.clock().timestamp():
            return hit._replace(caller=None, refusal=f"expired on {_when(hit.expires_at or '')}")
        return hit

    def _load(self, h: str, at: float) -> _Hit:
        with self.store.read() as conn:
            row = repo.token_holder(conn, h)
        if row is None:
            return _Hit(at, None, "is unknown")
        if row.revoked_at is not None:
            return _Hit(at, None, f"was revoked on {_when(row.revoked_at)}")
        now = self.clock()
        expires = parse_iso(row.expires_at).timestamp() if row.expires_at else math.inf
        if expires <= now.timestamp():
            return _Hit(at, None, f"expired on {_when(row.expires_at)}")
        if row.last_used_at is None or now - parse_iso(row.last_used_at) >= LAST_USED_RESOLUTION:
            try:
                with translated(all_errors=True), self.store.write() as conn:
                    repo.record_token_use(conn, row.token_id, iso_text(now))
            except StoreFailure as exc:  # bookkeeping only: never fail a request over it
                log.warning("could not record the use of token %s: %s", row.token_id, exc)
        caller = Caller(row.participant_id, frozenset(Role(r) for r in row.roles))
        return _Hit(at, caller, "", row.expires_at, expires)
