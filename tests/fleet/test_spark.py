"""The same analysis on Apache Spark (local[2]) gives the Polars numbers, row by row."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("PySpark needs Java (scripts/system-deps.sh installs openjdk-17-jre-headless)", allow_module_level=True)

from batteryloop.fleet.analysis import pack_figures, sessions_polars, sessions_spark, spark_session  # noqa: E402
from batteryloop.fleet.layout import read_packs  # noqa: E402
from batteryloop.fleet.simulate import simulate  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark():  # type: ignore[no-untyped-def]
    s = spark_session("local[2]", shuffle_partitions=4)
    yield s
    s.stop()


def test_polars_and_spark_agree_row_by_row(tmp_path: Path, spark) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "f"
    simulate(root, vehicles=8, days=2, seed=2, interval_s=180.0, fault_share=0.5, buckets=4)
    a = sessions_polars(root)
    b = sessions_spark(root, spark)  # the same SQL steps on Spark
    assert a.height > 100
    assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    # the per-pack step is one Python function for both engines: equal sessions give equal packs
    packs = read_packs(root)
    pa, pb = pack_figures(a, packs), pack_figures(b, packs)
    assert pa["faults"].to_list() == pb["faults"].to_list()
    assert_frame_equal(pa, pb, check_exact=False, rel_tol=1e-6, abs_tol=1e-6)
    assert pa.filter(pl.col("resistance_mohm").is_not_null()).height >= 4
