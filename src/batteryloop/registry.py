"""A registry of named extensions: what the formats, the cycler readers and the route options share.

A :class:`Registry` is a ``dict`` from name to item (each item has a ``name``) that keeps registration
order, refuses a name registered twice and can hold an item for a ``with`` block only (tests, plug-ins).
Each feature's module keeps its own registry and says in its docstring how to add to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, Protocol, TypeVar


class Named(Protocol):
    name: str


T = TypeVar("T", bound=Named)


class Registry(dict[str, T], Generic[T]):
    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what  #: what an item is, for messages ("route", "cycler format", "format")

    def register(self, item: T) -> T:
        """Add ``item`` after those registered before; its name must be new."""
        if item.name in self:
            raise ValueError(f"{self.what} {item.name!r} is already registered")
        self[item.name] = item
        return item

    def unregister(self, name: str) -> T:
        """Remove an item; KeyError if it is not registered."""
        return self.pop(name)

    @contextmanager
    def registered(self, item: T) -> Iterator[T]:
        """Register ``item`` for the ``with`` block only."""
        self.register(item)
        try:
            yield item
        finally:
            if self.get(item.name) is item:
                del self[item.name]


__all__ = ["Registry"]


