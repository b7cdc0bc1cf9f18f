"""Participant registry and API tokens (stored as SHA-256 hashes, never in clear)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from .access import Caller
from .errors import Conflict, NotFound, invalid
from .participants import ParticipantIn, Role
from .store.db import Store, utcnow_iso
from .store.tables import api_tokens, participants

TOKEN_PREFIX = "blt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _row_to_participant(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "id_scheme": row.id_scheme,
        "name": row.name,
        "country": row.country,
        "roles": orjson.loads(row.roles),
        "public_key": row.public_key,
        "created_at": row.created_at,
    }


class ParticipantService:
    def __init__(self, store: Store, admin_token: str | None = None, cache_seconds: float = 2.0) -> None:
        self.store = store
        self._admin_hash = hash_token(admin_token) if admin_token else None
        self._cache: dict[str, tuple[float, Caller | None]] = {}
        self._cache_seconds = cache_seconds

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
            with self.store.write() as conn:
                if conn.execute(select(participants.c.id).where(participants.c.id == p.id)).first():
                    raise Conflict(f"participant {p.id} already exists")
                conn.execute(insert(participants), row)
        except IntegrityError:
            raise Conflict(f"participant {p.id} already exists") from None
        return self.get(p.id)

    def get(self, participant_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            row = conn.execute(select(participants).where(participants.c.id == participant_id)).first()
        if row is None:
            raise NotFound(f"no participant with id {participant_id!r}")
        return _row_to_participant(row)

    def list(self, role: Role | None = None) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            rows = conn.execute(select(participants).order_by(participants.c.id)).all()
        out = [_row_to_participant(r) for r in rows]
        if role is not None:
            out = [p for p in out if role.value in p["roles"]]
        return out

    # ----------------------------------------------------------------------- tokens
    def issue_token(self, participant_id: str, label: str = "") -> str:
        """Create an API token for a participant; the clear token is returned once and never stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.write() as conn:
            if conn.execute(select(participants.c.id).where(participants.c.id == participant_id)).first() is None:
                raise NotFound(f"no participant with id {participant_id!r}")
            conn.execute(
                insert(api_tokens),
                {"participant_id": participant_id, "token_hash": hash_token(token), "label": label[:100],
                 "created_at": utcnow_iso()},
            )
        return token

    def revoke_tokens(self, participant_id: str) -> int:
        with self.store.write() as conn:
            res = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.participant_id == participant_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=utcnow_iso())
            )
        self._cache.clear()
        return res.rowcount

    def authenticate(self, token: str) -> Caller | None:
        """The caller a bearer token stands for, or ``None`` if the token is unknown or revoked."""
        h = hash_token(token)
        if self._admin_hash is not None and hmac.compare_digest(h, self._admin_hash):
            return Caller(is_admin=True)
        now = time.monotonic()
        hit = self._cache.get(h)
        if hit is not None and now - hit[0] < self._cache_seconds:
            return hit[1]
        with self.store.read() as conn:
            row = conn.execute(
                select(participants.c.id, participants.c.roles)
                .join(api_tokens, api_tokens.c.participant_id == participants.c.id)
                .where(api_tokens.c.token_hash == h, api_tokens.c.revoked_at.is_(None))
            ).first()
        caller = None if row is None else Caller(row.id, frozenset(Role(r) for r in orjson.loads(row.roles)))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[h] = (now, caller)
        return caller
