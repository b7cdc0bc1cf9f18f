"""The participants repository: the ``participants`` registry and the ``api_tokens`` (SHA-256 hashes of the
bearer tokens, never the tokens).

Functions take the connection of the caller's transaction (``store.read()`` / ``store.write()``); the
service that calls them owns the transaction. Participants come out as dicts (roles as a list), tokens as
:class:`TokenRecord` (never with their hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from .tables import api_tokens, participants


def _participant(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "id_scheme": row.id_scheme,
        "name": row.name,
        "country": row.country,
        "roles": orjson.loads(row.roles),
        "public_key": row.public_key,
        "created_at": row.created_at,
    }


def participant_exists(conn: Connection, participant_id: str) -> bool:
    return conn.execute(select(participants.c.id).where(participants.c.id == participant_id)).first() is not None


def insert_participant(conn: Connection, row: dict[str, Any]) -> None:
    """A new participant (``roles`` as JSON text)."""
    conn.execute(insert(participants), row)


def find_participant(conn: Connection, participant_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(participants).where(participants.c.id == participant_id)).first()
    return _participant(row) if row is not None else None


def list_participants(conn: Connection) -> list[dict[str, Any]]:
    """Every participant, by id."""
    return [_participant(r) for r in conn.execute(select(participants).order_by(participants.c.id)).all()]


def public_keys(conn: Connection) -> list[tuple[str, str | None]]:
    """(id, public key or ``None``) of every participant."""
    return [(r.id, r.public_key) for r in conn.execute(select(participants.c.id, participants.c.public_key)).all()]


def set_public_key(conn: Connection, participant_id: str, public_key: str) -> None:
    conn.execute(update(participants).where(participants.c.id == participant_id).values(public_key=public_key))


# ----------------------------------------------------------------------------------- tokens
@dataclass(frozen=True)
class TokenRecord:
    """An API token as its owner may see it (no hash)."""

    id: int
    participant_id: str
    label: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


_TOKEN_COLUMNS = (api_tokens.c.id, api_tokens.c.participant_id, api_tokens.c.label, api_tokens.c.created_at,
                  api_tokens.c.expires_at, api_tokens.c.revoked_at, api_tokens.c.last_used_at)


def _token(row: Any) -> TokenRecord:
    return TokenRecord(row.id, row.participant_id, row.label, row.created_at, row.expires_at, row.revoked_at,
                       row.last_used_at)


def insert_token(conn: Connection, row: dict[str, Any]) -> int:
    """A new token (``participant_id``, ``token_hash``, ``label``, ``created_at``, ``expires_at``); its id."""
    return int(conn.execute(insert(api_tokens).returning(api_tokens.c.id), row).scalar_one())


def tokens_of(conn: Connection, participant_id: str) -> list[TokenRecord]:
    """A participant's tokens, newest first."""
    return [_token(r) for r in conn.execute(select(*_TOKEN_COLUMNS).where(api_tokens.c.participant_id == participant_id)
                                            .order_by(api_tokens.c.id.desc())).all()]


def find_token(conn: Connection, participant_id: str, token_id: int) -> TokenRecord | None:
    row = conn.execute(select(*_TOKEN_COLUMNS).where(api_tokens.c.id == token_id,
                                                     api_tokens.c.participant_id == participant_id)).first()
    return _token(row) if row is not None else None


def revoke_token(conn: Connection, participant_id: str, token_id: int, at: str) -> None:
    """Mark one of a participant's tokens revoked at ``at``, unless it was already."""
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.participant_id == participant_id,
                                          api_tokens.c.revoked_at.is_(None)).values(revoked_at=at))


def revoke_tokens(conn: Connection, participant_id: str, at: str) -> int:
    """Mark all of a participant's tokens still in force revoked at ``at``; how many were."""
    res = conn.execute(update(api_tokens)
                       .where(api_tokens.c.participant_id == participant_id, api_tokens.c.revoked_at.is_(None))
                       .values(revoked_at=at))
    return res.rowcount


@dataclass(frozen=True)
class TokenHolder:
    """Who a token hash stands for, and the token's state: what authentication decides on."""

    participant_id: str
    roles: list[str]
    token_id: int
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


def token_holder(conn: Connection, token_hash: str) -> TokenHolder | None:
    row = conn.execute(
        select(participants.c.id, participants.c.roles, api_tokens.c.id.label("token_id"),
               api_tokens.c.expires_at, api_tokens.c.revoked_at, api_tokens.c.last_used_at)
        .join(api_tokens, api_tokens.c.participant_id == participants.c.id)
        .where(api_tokens.c.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    return TokenHolder(row.id, orjson.loads(row.roles), row.token_id, row.expires_at, row.revoked_at,
                       row.last_used_at)


def record_token_use(conn: Connection, token_id: int, at: str) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=at))
