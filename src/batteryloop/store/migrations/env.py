"""Alembic environment: runs on the connection handed over by batteryloop.store.migrate."""

from __future__ import annotations

from alembic import context

from batteryloop.store import exchange_tables, trace_tables, twins  # noqa: F401 - their tables join the metadata
from batteryloop.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # plain `alembic` command line: build an engine from the URL
    from batteryloop.store.db import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    connection = engine.connect()

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
