"""Database failures as the store's own exceptions, so that services catch them without importing SQLAlchemy.

:func:`translated` turns the database errors raised inside its block into:

* :class:`IntegrityViolation` — a row broke a key, a uniqueness or a reference (SQLAlchemy's
  ``IntegrityError``): a writer stored the same row first, or the input names something absent;
* with ``all_errors``, :class:`StoreFailure` — any other database error (a wrong type, a lock, a lost
  connection); without, those pass through as they are (a transient one is still retried by
  :meth:`~batteryloop.store.db.Store.run_write`).

Both keep the driver's message in ``orig`` (what the services quote) and chain the original exception.
Put the ``with translated():`` around the whole transaction (``with translated(), store.write() as conn``)
so that failures at ``BEGIN`` and ``COMMIT`` are translated too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError


class StoreFailure(Exception):
    """A database error, with SQLAlchemy's message; ``orig`` is the driver's exception (or the error itself
    when there is none)."""

    def __init__(self, message: str, orig: Any) -> None:
        super().__init__(message)
        self.orig = orig


class IntegrityViolation(StoreFailure):
    """A write broke a primary key, a unique constraint or a foreign key."""


@contextmanager
def translated(*, all_errors: bool = False) -> Iterator[None]:
    """Raise the store's exceptions for the database errors raised in the block (see the module)."""
    try:
        yield
    except IntegrityError as exc:
        raise IntegrityViolation(str(exc), exc.orig) from exc
    except (StatementError, DBAPIError) as exc:
        if not all_errors:
            raise
        raise StoreFailure(str(exc), getattr(exc, "orig", None) or exc) from exc
