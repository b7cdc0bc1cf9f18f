"""API token lifecycle: expiry and last use

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:00:00

Tokens issued before this revision never expired; they now expire one default TTL
(BATTERYLOOP_TOKEN_TTL_DAYS, 90 days unless set; 0 leaves them without expiry) after the upgrade,
so that none lives on forever unnoticed and none stops working the moment the node is upgraded.
"""
import os
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.String(length=32), nullable=True))
    days = int(os.environ.get("BATTERYLOOP_TOKEN_TTL_DAYS", "90"))
    if days > 0:
        expires = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        tokens = sa.table("api_tokens", sa.column("expires_at", sa.String), sa.column("revoked_at", sa.String))
        op.execute(tokens.update().where(tokens.c.revoked_at.is_(None)).values(expires_at=expires))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
