"""Tables of the data-space exchange (batteryloop.exchange), on the shared ``metadata``.

* ``exchange_negotiations`` — Dataspace Protocol contract negotiations, one row per negotiation and
  side (``role`` provider or consumer), with the offer, the agreement once agreed, and the state.
* ``exchange_transfers`` — transfer processes under an agreement, with the data address (HTTP pull).
* ``exchange_credentials`` — credentials this node issued as an issuer, with their status-list index
  (revocation sets ``revoked_at``; the published status list is built from these rows).
* ``exchange_ouranos`` — JSON documents of the exchange adapters by kind and id: the Ouranos-compatible
  records (parts, parts structures, trades, CFP values, certifications, commitments) and the Digital Twin
  Registry's shell descriptors (kind ``dtr.shell``).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint

from .tables import metadata

exchange_negotiations = Table(
    "exchange_negotiations",
    metadata,
    Column("pid", String(100), primary_key=True),
    Column("role", String(10), nullable=False),
    Column("peer_pid", String(100)),
    Column("counterparty_did", String(300), nullable=False),
    Column("counterparty_address", String(500), nullable=False),
    Column("dataset_id", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("offer", Text, nullable=False),
    Column("agreement_id", String(100), unique=True),
    Column("agreement", Text),
    Column("claims", Text),  # what the counterparty's credentials proved when the agreement was made
    Column("reason", Text),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
Index("ix_exchange_negotiations_peer_pid", exchange_negotiations.c.peer_pid)

exchange_transfers = Table(
    "exchange_transfers",
    metadata,
    Column("pid", String(100), primary_key=True),
    Column("role", String(10), nullable=False),
    Column("peer_pid", String(100)),
    Column("counterparty_did", String(300), nullable=False),
    Column("counterparty_address", String(500), nullable=False),
    Column("agreement_id", String(100), nullable=False),
    Column("format", String(50), nullable=False),
    Column("state", String(16), nullable=False),
    Column("data_address", Text),
    Column("reason", Text),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
Index("ix_exchange_transfers_agreement_id", exchange_transfers.c.agreement_id)

exchange_credentials = Table(
    "exchange_credentials",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("issuer_did", String(300), nullable=False),
    Column("subject_did", String(300), nullable=False),
    Column("type", String(100), nullable=False),
    Column("status_list", String(100), nullable=False),
    Column("status_index", Integer, nullable=False),
    Column("issued_at", String(32), nullable=False),
    Column("expires_at", String(32)),
    Column("revoked_at", String(32)),
    UniqueConstraint("status_list", "status_index", name="uq_exchange_credentials_status_list_status_index"),
)

exchange_ouranos = Table(
    "exchange_ouranos",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("id", String(100), primary_key=True),
    Column("operator_id", String(32), nullable=False),
    Column("trace_id", String(100)),
    Column("body", Text, nullable=False),
    Column("updated_at", String(32), nullable=False),
)
Index("ix_exchange_ouranos_trace_id", exchange_ouranos.c.trace_id)
