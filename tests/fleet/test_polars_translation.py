"""The guard of the Polars translation (fleet/analysis.py, check_polars_translation): the session number is a
cumulative sum over a chunk's frame of several packs, rebased per pack after the aggregation; any other running
sum would carry one pack's total into the next. The guard refuses such a definition, and runs once per sample
interval, not once per call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from batteryloop.fleet import analysis
from tests.fleet.test_analysis import tiny_fleet

TWO_PACKS = pl.DataFrame({"_pk": [0, 0, 0, 1, 1], "x": [1, 1, 1, 1, 1]})


def test_what_the_guard_protects_a_frame_wide_running_sum_carries_one_packs_total_into_the_next() -> None:
    frame = analysis._PolarsSamples("_pk", "t_s", running_sum_over_frame=True)
    per_pack = analysis._PolarsSamples("_pk", "t_s")
    assert TWO_PACKS.select(frame.running_sum("x"))["x"].to_list() == [1, 2, 3, 4, 5]
    assert TWO_PACKS.select(per_pack.running_sum("x"))["x"].to_list() == [1, 2, 3, 1, 2]


def test_the_definition_passes_and_other_running_sums_are_refused_by_name() -> None:
    stages, aggregates = analysis.sample_stages(60.0), analysis.SESSION_AGGREGATES
    analysis.check_polars_translation(stages, aggregates)  # the project's definition: accepted
    extra = [*stages, {"odo_total": lambda E: E.running_sum("odo")}]
    with pytest.raises(NotImplementedError, match="not 'odo_total'"):
        analysis.check_polars_translation(extra, aggregates)
    other_sess = [({"sess": lambda E: E.running_sum("mode")} if "sess" in st else st) for st in stages]
    with pytest.raises(NotImplementedError, match=r"not 'sess' \(running_sum of 'mode'\)"):
        analysis.check_polars_translation(other_sess, aggregates)
    in_aggregate = [*aggregates, ("late_ah", "last", lambda E: E.running_sum("i"))]
    with pytest.raises(NotImplementedError, match="inside the session aggregate 'late_ah'"):
        analysis.check_polars_translation(stages, in_aggregate)


def test_sessions_polars_refuses_a_definition_it_would_mistranslate(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    tiny_fleet(tmp_path)
    real = analysis.sample_stages
    monkeypatch.setattr(analysis, "sample_stages", lambda s: [*real(s), {"odo_total": lambda E: E.running_sum("odo")}])
    analysis._polars_translation_checked.cache_clear()
    try:
        with pytest.raises(NotImplementedError, match="not 'odo_total'"):
            analysis.sessions_polars(tmp_path)
    finally:
        analysis._polars_translation_checked.cache_clear()


def test_the_guard_runs_once_per_interval_not_per_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny_fleet(tmp_path)
    calls: list[Any] = []
    real = analysis.check_polars_translation
    monkeypatch.setattr(analysis, "check_polars_translation", lambda *a: calls.append(a) or real(*a))
    analysis._polars_translation_checked.cache_clear()
    try:
        first, second = analysis.sessions_polars(tmp_path), analysis.sessions_polars(tmp_path)
    finally:
        analysis._polars_translation_checked.cache_clear()
    assert len(calls) == 1 and first.equals(second) and first.height == 3
