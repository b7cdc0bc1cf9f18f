"""What a database URL names, for code that handles store files without opening the store."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL (``None``: another store, or SQLite in memory)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        return u.database
    return None
