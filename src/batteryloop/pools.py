"""Work shared out to a process pool, its results taken in order (the trace's and the passports' worker pools)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class InOrder(Iterator[Any]):
    """The results of futures, in their order; :meth:`close` (or dropping it) cancels what has not started —
    also before the first result is taken, unlike a generator's ``finally``."""

    def __init__(self, futures: list[Any]) -> None:
        self._futures = futures
        self._next = 0

    def __next__(self) -> Any:
        if self._next >= len(self._futures):
            raise StopIteration
        f = self._futures[self._next]
        self._next += 1
        try:
            return f.result()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for f in self._futures[self._next:]:
            f.cancel()

    def __del__(self) -> None:
        self.close()


def split(items: list[Any], parts: int = 8, at_least: int = 100) -> list[list[Any]]:
    """``items`` in about ``parts`` consecutive parts of at least ``at_least`` (fewer parts for few items: a part
    sent to a worker costs its pickling both ways)."""
    size = max(at_least, len(items) // parts + 1)
    return [items[k:k + size] for k in range(0, len(items), size)]


def in_order(pool: Any, fn: Any, parts: list[Any]) -> InOrder:
    """``fn`` of every part, submitted to ``pool`` now (the workers start while the caller does other work); the
    results are yielded in the parts' order, and what has not started is cancelled when the caller stops early
    (a refusal) or closes it."""
    return InOrder([pool.submit(fn, p) for p in parts])
