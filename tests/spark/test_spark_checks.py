"""Drift, quality and performance of Spark DataFrames equal the single-machine results.

Each window of a DataFrame is judged on Spark (profiles or performance states built in
the tasks, merged) and on one machine from the same rows (profile_table, profile_drift,
run_quality_checks_on_profile, PerformanceState.of_arrays): the verdicts are the same,
and the statistics agree within the error bounds the results state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from mlvigil.checks.drift import profile_drift
from mlvigil.checks.performance_state import PerformanceState
from mlvigil.checks.quality import CompletenessConfig, QualityConfig, run_quality_checks_on_profile
from mlvigil.profile import profile_table

START = datetime(2026, 3, 1, tzinfo=UTC)
HOURS = 4
ROWS_PER_HOUR = 1500


def _features(rng: np.random.Generator, rows: int, hour: int) -> dict[str, Any]:
    """Hour 2 drifts: ``amount`` shifts, ``device`` changes its mix, ``age`` stays."""
    drifted = hour == 2
    amount = rng.gamma(2.0, 30.0 if drifted else 20.0, rows)
    amount[rng.random(rows) < (0.2 if hour == 3 else 0.01)] = np.nan  # hour 3: nulls
    shares = [0.2, 0.3, 0.5] if drifted else [0.6, 0.3, 0.1]
    return {
        "amount": pa.array(amount, from_pandas=True),
        "age": rng.normal(40.0, 12.0, rows),
        "device": rng.choice(["mobile", "desktop", "tablet"], rows, p=shares),
        "plan": rng.choice(["free", "pro"], rows, p=[0.7, 0.3]),
    }


def _labelled(rng: np.random.Generator, rows: int, hour: int) -> dict[str, Any]:
    label = rng.integers(0, 2, rows)
    noise = 0.35 if hour == 1 else 0.15  # hour 1: a worse model
    score = np.clip(label + rng.normal(0, noise * 2, rows), 0, 1)
    labels = pa.array(label, mask=rng.random(rows) < 0.1)  # a tenth not labelled yet
    return {"label": labels, "prediction": (score > 0.5).astype(np.int64), "score": score}


@pytest.fixture(scope="module")
def current() -> pa.Table:
    rng = np.random.default_rng(11)
    parts = []
    for hour in range(HOURS):
        offsets = rng.integers(0, 3600 * 10**6, ROWS_PER_HOUR)
        stamps = [START + timedelta(hours=hour, microseconds=int(o)) for o in offsets]
        columns = _features(rng, ROWS_PER_HOUR, hour) | _labelled(rng, ROWS_PER_HOUR, hour)
        parts.append(pa.table(columns | {"ts": pa.array(stamps, pa.timestamp("us", "UTC"))}))
    return pa.concat_tables(parts)


@pytest.fixture(scope="module")
def reference() -> pa.Table:
    return pa.table(_features(np.random.default_rng(12), 4000, 0))


def _frame(spark: Any, table: pa.Table, directory: Path, name: str, parts: int) -> Any:
    path = directory / f"{name}.parquet"
    pq.write_table(table, path)
    return spark.read.parquet(str(path)).repartition(parts)


@pytest.fixture(scope="module")
def frames(spark: Any, current: pa.Table, reference: pa.Table, tmp_path_factory: Any) -> Any:
    directory = tmp_path_factory.mktemp("checks")
    return (
        _frame(spark, reference, directory, "reference", 2),
        _frame(spark, current, directory, "current", 3),
    )


def _hours(table: pa.Table) -> dict[datetime, pa.Table]:
    hours = pc.floor_temporal(table["ts"], unit="hour")
    return {
        hour: table.filter(pc.equal(hours, pa.scalar(hour, hours.type)))
        for hour in pc.unique(hours).to_pylist()
    }


FEATURES = ["amount", "age", "device", "plan"]


def test_spark_drift_verdicts_equal_the_single_machine_profile_drift_verdicts(
    frames: Any, current: pa.Table, reference: pa.Table
) -> None:
    from mlvigil.spark import ProfileKey, drift_dataframe

    reference_df, current_df = frames
    reports = drift_dataframe(
        reference_df, current_df, timestamp="ts", window=timedelta(hours=1), columns=FEATURES
    )
    assert [key.window_start for key in reports] == [START + timedelta(hours=h) for h in range(4)]
    local_reference = profile_table(reference)
    for hour, rows in _hours(current).items():
        spark_report = reports[ProfileKey(hour, ())]
        local = profile_drift(local_reference, profile_table(rows), columns=FEATURES)
        assert spark_report.dataset_drift == local.dataset_drift
        for mine, theirs in zip(spark_report, local, strict=True):
            assert (mine.column, mine.method, mine.status, mine.drifted) == (
                theirs.column,
                theirs.method,
                theirs.status,
                theirs.drifted,
            )
            slack = (mine.approximation_error or 0.0) + (theirs.approximation_error or 0.0)
            assert mine.statistic == pytest.approx(theirs.statistic, abs=slack + 1e-9)
    drifted = {k.window_start: {c.column for c in r if c.drifted} for k, r in reports.items()}
    assert drifted[START + timedelta(hours=2)] == {"amount", "device"}
    assert drifted[START] == set()


def test_drift_from_profiles_already_computed_needs_no_second_pass(
    frames: Any, reference: pa.Table
) -> None:
    from mlvigil.spark import drift_dataframe, profile_dataframe

    profiles = profile_dataframe(frames[1], timestamp="ts", window=timedelta(hours=1))
    reports = drift_dataframe(profile_table(reference), profiles)
    assert list(reports) == list(profiles)
    # Without a column list: the reference's columns the windows have, timestamp left out.
    assert [c.column for c in next(iter(reports.values()))] == FEATURES


def test_spark_quality_results_equal_the_single_machine_results(
    frames: Any, current: pa.Table
) -> None:
    from mlvigil.spark import ProfileKey, quality_dataframe

    config = QualityConfig(completeness=CompletenessConfig(default_max_null_rate=0.05))
    reports = quality_dataframe(frames[1], config, timestamp="ts", window=timedelta(hours=1))
    for hour, rows in _hours(current).items():
        local = run_quality_checks_on_profile(
            profile_table(rows, timestamp="ts"), config, now=hour + timedelta(hours=1)
        )
        found = reports[ProfileKey(hour, ())]
        assert [(r.metric, r.column, r.status, r.value) for r in found] == [
            (r.metric, r.column, r.status, r.value) for r in local
        ]
    failed = {(k.window_start, r.column) for k, report in reports.items() for r in report.failures}
    assert (START + timedelta(hours=3), "amount") in failed


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_spark_performance_states_equal_the_single_machine_states(
    frames: Any, current: pa.Table, task: str
) -> None:
    from mlvigil.spark import ProfileKey, performance_state_dataframe

    options: dict[str, Any] = (
        {"score": "score", "positive_label": 1} if task == "classification" else {}
    )
    states = performance_state_dataframe(
        frames[1],
        label="label",
        prediction="score" if task == "regression" else "prediction",
        task=task,
        timestamp="ts",
        window=timedelta(hours=1),
        **options,
    )
    assert len(states) == HOURS
    for hour, rows in _hours(current).items():
        local = PerformanceState.of_arrays(
            task=task,  # type: ignore[arg-type]
            y_true=rows["label"],
            y_pred=rows["score" if task == "regression" else "prediction"],
            y_score=rows["score"] if task == "classification" else None,
            positive_label=options.get("positive_label"),
        )
        found = states[ProfileKey(hour, ())]
        assert (found.rows, found.labelled) == (ROWS_PER_HOUR, local.labelled)
        assert found.confusion.tolist() == local.confusion.tolist()
        assert found.positives.tolist() == local.positives.tolist()
        assert found.metrics() == pytest.approx(local.metrics(), rel=1e-9)
    if task == "classification":
        by_hour = {k.window_start: s.metrics()["roc_auc"] for k, s in states.items()}
        assert by_hour[START + timedelta(hours=1)] < by_hour[START] - 0.05
        total = states.total()
        assert total is not None
        assert total.rows == HOURS * ROWS_PER_HOUR
