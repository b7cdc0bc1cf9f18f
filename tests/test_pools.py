"""``pools.in_order``: results in the parts' order, and what has not started cancelled when the caller closes it
before taking any result (a refused batch's read-ahead) or stops at a failure."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from batteryloop.pools import in_order


def _slow_square(x: int) -> int:
    time.sleep(0.05)
    if x < 0:
        raise ValueError(f"part {x}")
    return x * x


def test_results_in_order() -> None:
    with ThreadPoolExecutor(3) as pool:
        assert list(in_order(pool, _slow_square, [5, 1, 4, 2, 3])) == [25, 1, 16, 4, 9]


def test_closed_before_the_first_result_cancels_what_has_not_started() -> None:
    with ThreadPoolExecutor(1) as pool:
        results = in_order(pool, _slow_square, list(range(20)))
        results.close()
        futures = results._futures
    assert sum(f.cancelled() for f in futures) >= 18  # one worker: at most the first two had started


def test_a_failed_part_cancels_the_rest() -> None:
    with ThreadPoolExecutor(1) as pool:
        results = in_order(pool, _slow_square, [1, -2, *range(3, 20)])
        assert next(results) == 1
        with pytest.raises(ValueError, match="part -2"):
            next(results)
        futures = results._futures
    assert sum(f.cancelled() for f in futures) >= 15


def test_split_into_about_eight_parts_of_at_least_a_hundred() -> None:
    from batteryloop.pools import split

    assert [len(p) for p in split(list(range(2000)))] == [251] * 7 + [243]  # 2000 // 8 + 1 = 251
    assert [len(p) for p in split(list(range(150)))] == [100, 50]
    assert split([]) == [] and sum(split(list(range(999))), []) == list(range(999))
