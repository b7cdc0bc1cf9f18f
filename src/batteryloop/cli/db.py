"""``batteryloop db``: the database's migrations."""

from __future__ import annotations

from .common import console, group

app = group("The database: migrations.")


@app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (also done at start-up)."""
    from ..config import get_settings
    from ..store.db import Store
    from ..store.migrate import current

    settings = get_settings()
    store = Store(settings.database_url)
    store.upgrade()
    console.print(f"database at revision {current(store)}: {settings.database_url}")
