"""Helpers of the Spark tests: the skip rule, a seeded table, comparisons of profiles."""

from __future__ import annotations

import importlib.util
import os
import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from mlvigil.profile import ColumnProfile, DatasetProfile, ProfileConfig

#: Small sketches, so that KLL compaction and the category cap happen on small data. The
#: frequent-items map (2**5 slots, 24 items) holds the 20 values of ``many``: a sketch
#: that purged all its items loses its weight in serialization (see
#: test_partition_profiler.py), which no exact comparison could pass.
CONFIG = ProfileConfig(quantile_k=32, frequent_items_lg_k=5, max_categories=8)
START = datetime(2024, 3, 1, 22, 0, tzinfo=UTC)
ROWS = 3000


def _missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark not installed: pip install 'mlvigil[spark]'"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and os.path.exists(java_home)):
        return "Java not found (Spark needs a JDK 17+): install Debian's openjdk-17-jre-headless"
    return None


def require_spark() -> None:
    """Skip (fail under ``CI=true``) unless PySpark and Java are there."""
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def make_table(rows: int = ROWS, seed: int = 7) -> pa.Table:
    """Rows over five hours, three segments, with nulls, NaN and infinities."""
    rng = np.random.default_rng(seed)
    x = rng.normal(10.0, 3.0, rows)
    x[rng.random(rows) < 0.01] = np.nan
    x[rng.random(rows) < 0.005] = np.inf
    offsets = rng.integers(0, 5 * 3600 * 10**6, rows)
    stamps = [START + timedelta(microseconds=int(o)) for o in offsets]
    null_stamps = rng.random(rows) < 0.01
    few = [f"c{i}" for i in rng.integers(0, 5, rows)]
    many = [f"v{i}" for i in rng.integers(0, 20, rows)]
    return pa.table(
        {
            "row": pa.array(np.arange(rows), pa.int64()),
            "x": pa.array(x, mask=rng.random(rows) < 0.05),
            "k": pa.array(rng.integers(0, 6, rows), pa.int64()),
            "few": pa.array(few, pa.string(), mask=rng.random(rows) < 0.02),
            "many": pa.array(many, pa.string()),
            "flag": pa.array(rng.random(rows) < 0.3),
            "seg": pa.array([("a", "b", "c")[i] for i in rng.integers(0, 3, rows)]),
            "ts": pa.array(stamps, pa.timestamp("us", tz="UTC"), mask=null_stamps),
        }
    )


def _exact(column: ColumnProfile) -> tuple[Any, ...]:
    moments = column.moments
    return (
        column.kind,
        column.type,
        column.count,
        column.nulls,
        column.nan,
        column.inf,
        column.integral,
        column.category_counts,
        column.categories_capped,
        column.distinct_sketch,
        column.time,
        None if moments is None else (moments.n, moments.minimum, moments.maximum),
        None if column.quantiles is None else column.quantiles.n,
        None if column.frequent_items is None else column.frequent_items.total_weight,
    )


def assert_same_profile(merged: DatasetProfile, whole: DatasetProfile) -> None:
    """Exact parts equal; moments to float rounding; quantile sketches of the same size."""
    assert merged.row_count == whole.row_count
    assert list(merged.columns) == list(whole.columns)
    assert (merged.timestamp, merged.config) == (whole.timestamp, whole.config)
    for name, column in merged.columns.items():
        assert _exact(column) == _exact(whole.columns[name]), name
        mine, theirs = column.moments, whole.columns[name].moments
        if mine is not None and theirs is not None and mine.n:
            assert mine.mean == pytest.approx(theirs.mean, rel=1e-9)
            assert mine.m2 == pytest.approx(theirs.m2, rel=1e-9)


def assert_quantiles_within_rank_error(profile: DatasetProfile, values: pa.Array) -> None:
    """Each estimated quantile's true rank is within the sketch's stated rank error."""
    sketch = profile.columns["x"].quantiles
    assert sketch is not None
    data = np.asarray(values.drop_null().to_numpy(zero_copy_only=False), dtype=np.float64)
    data = np.sort(data[np.isfinite(data)])
    assert sketch.n == data.size
    slack = sketch.rank_error + 1.0 / data.size
    for rank in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
        (estimate,) = sketch.quantiles([rank])
        below = np.searchsorted(data, estimate, side="left") / data.size
        upto = np.searchsorted(data, estimate, side="right") / data.size
        assert below - slack <= rank <= upto + slack, rank
