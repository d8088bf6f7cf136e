"""The top-level function: chunking, reports, errors, options and determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pyarrow as pa
import pytest
from multivariate_data import correlated

from mlvigil.checks.chunks import size_chunks
from mlvigil.checks.details import MultivariateDetails, typed_details
from mlvigil.checks.result import CheckStatus, Severity
from mlvigil.exceptions import ConfigError, InputError
from mlvigil.multivariate import (
    MultivariateConfig,
    MultivariateDetector,
    MultivariateReport,
    multivariate_drift,
)

ALL = MultivariateConfig(methods=("reconstruction_error", "domain_classifier", "mmd"))


@pytest.fixture(scope="module")
def tables() -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(21)
    reference = correlated(rng, 8_000, 0.8)
    current = pa.concat_tables([correlated(rng, 600, 0.8), correlated(rng, 600, -0.8)])
    return reference, current


@pytest.fixture(scope="module")
def report(tables: tuple[pa.Table, pa.Table]) -> MultivariateReport:
    return multivariate_drift(*tables, chunk_size=600, config=ALL)


def _plain(report: MultivariateReport) -> list[list[dict[str, object]]]:
    return [
        [{k: v for k, v in r.to_dict().items() if k != "timestamp"} for r in chunk.results]
        for chunk in report
    ]


def test_the_report_lists_each_chunk_and_its_drifted_methods(report):
    assert [c.chunk.key for c in report] == ["rows 0-599", "rows 600-1199"]
    assert [c.chunk.key for c in report.drifted_chunks] == ["rows 600-1199"]
    assert (None, "domain_classifier_auc") in report[1].drifted_methods
    assert (None, "reconstruction_error") in report[1].drifted_methods
    assert report.reference_rows == 8_000
    assert report.current_rows == 1_200
    assert len(report.results) == 6


def test_the_report_as_json_and_as_a_dataframe(report):
    data = orjson.loads(report.to_json())
    assert data["number_of_chunks"] == 2
    assert data["drifted_chunks"] == ["rows 600-1199"]
    assert data["columns"] == ["a", "b", "c0", "c1", "c2"]
    assert data["chunks"][1]["drifted"] is True
    first = data["chunks"][0]["results"][0]
    assert first["metric"] == "reconstruction_error"
    assert first["details"]["limits"]["chunk_rows"] == 600

    frame = report.to_dataframe()
    assert len(frame) == 6
    assert set(frame["metric"]) == {"reconstruction_error", "domain_classifier_auc", "mmd"}
    assert frame.loc[frame["metric"] == "mmd", "p_value"].notna().all()
    assert list(frame["status"])[3:5] == ["failed", "failed"]


def test_stored_details_read_back_as_typed_multivariate_details(report):
    for result in report.results:
        row = result.to_dict()
        back = typed_details("drift", row["metric"], row["column"], row["status"], row["details"])
        assert isinstance(back, MultivariateDetails)
        assert back == result.details


def test_the_same_inputs_give_the_same_results(tables, report):
    again = multivariate_drift(*tables, chunk_size=600, config=ALL)
    assert _plain(again) == _plain(report)


def test_the_same_window_gives_the_same_results_wherever_it_comes(tables):
    reference, current = tables
    detector = MultivariateDetector.fit(
        reference, columns=reference.column_names, schema={}, config=ALL
    )
    window = current.slice(600, 600)

    first = detector.evaluate(window)
    detector.evaluate(current.slice(0, 600))
    second = detector.evaluate(window)

    assert [r.value for r in first] == [r.value for r in second]
    other = MultivariateDetector.fit(
        reference,
        columns=reference.column_names,
        schema={},
        config=MultivariateConfig(methods=ALL.methods, seed=1),
    )
    assert other.evaluate(window)[1].value != first[1].value  # the seed is used


def test_without_a_chunk_option_the_whole_current_table_is_one_chunk(tables):
    reference, current = tables
    report = multivariate_drift(
        reference, current, config=MultivariateConfig(methods=("reconstruction_error",))
    )

    assert [(c.chunk.key, c.chunk.rows) for c in report] == [("all rows", 1_200)]
    assert report[0].results[0].details.limits.chunk_rows == 1_200


def test_period_chunks_by_a_timestamp_column(tables):
    reference, current = tables
    start = datetime(2026, 3, 1, tzinfo=UTC)
    times = [start + timedelta(hours=i // 50) for i in range(1_200)]  # 600 rows a half-day
    stamped = current.append_column("at", pa.array(times, pa.timestamp("us", tz="UTC")))

    report = multivariate_drift(
        reference,
        stamped,
        chunk_period="12h",
        timestamp="at",
        config=MultivariateConfig(methods=("reconstruction_error",)),
    )

    assert [c.chunk.rows for c in report] == [600, 600]
    assert report.columns == ("a", "b", "c0", "c1", "c2")  # the timestamp is not compared
    assert [c.drifted for c in report] == [False, True]


def test_too_few_rows_give_error_results_that_say_what_to_change(tables):
    reference, _ = tables
    detector = MultivariateDetector.fit(
        reference, columns=reference.column_names, schema={}, config=ALL
    )

    results = detector.evaluate(reference.slice(0, 12))

    assert [r.status for r in results] == [CheckStatus.ERROR] * 3
    assert [r.metric for r in results] == ["reconstruction_error", "domain_classifier_auc", "mmd"]
    for result in results:
        assert result.value is None
        assert "12 rows" in result.message
        assert "larger windows or chunks" in result.message


def test_a_tiny_reference_gives_error_results(tables):
    reference, current = tables
    detector = MultivariateDetector.fit(
        reference.slice(0, 10), columns=reference.column_names, schema={}, config=ALL
    )

    results = detector.evaluate(current)

    assert {r.status for r in results} == {CheckStatus.ERROR}
    assert "the reference has 10 rows" in results[0].message


def test_no_usable_column_gives_error_results():
    table = pa.table({"k": [1.0] * 50, "z": pa.array([None] * 50, pa.float64())})

    report = multivariate_drift(table, table, schema={"z": "numerical"})

    results = report[0].results
    assert [(r.metric, r.status.value) for r in results] == [
        ("reconstruction_error", "error"),
        ("domain_classifier_auc", "error"),
    ]
    assert "'k' (constant)" in results[0].message
    assert "'z' (all null)" in results[0].message
    assert report.dropped == (("k", "constant"), ("z", "all null"))


def test_datetime_and_text_columns_are_left_out_unless_named():
    rng = np.random.default_rng(22)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    table = pa.table(
        {
            "x": rng.normal(size=300),
            "y": rng.normal(size=300),
            "at": pa.array([start + timedelta(minutes=i) for i in range(300)]),
            "note": [f"free text {i}" for i in range(300)],
        }
    )

    assert multivariate_drift(table, table).columns == ("x", "y")
    named = multivariate_drift(table, table, columns=["x", "y", "at"])
    assert named.columns == ("x", "y", "at")


def test_severity_is_that_of_the_configuration(tables):
    reference, current = tables
    config = MultivariateConfig(methods=("reconstruction_error",), severity="warning")

    report = multivariate_drift(reference, current, chunk_size=600, config=config)

    assert {r.severity for r in report.results} == {Severity.WARNING}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"methods": ("pca",)}, "unknown multivariate method"),
        ({"embedding_methods": ("reconstruction_error",)}, "unknown multivariate method"),
        ({"methods": (), "embedding_methods": ()}, "at least one method"),
        ({"variance": 1.0}, "variance"),
        ({"alpha": 0.0}, "alpha"),
        ({"folds": 1}, "folds"),
        ({"threads": 0}, "threads"),
        ({"permutations": 10}, "at least 20 permutations"),
        ({"mmd_rows": 5}, "mmd_rows"),
        ({"seed": -1}, "seed"),
    ],
)
def test_invalid_options_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        MultivariateConfig(**options)


def test_invalid_calls_are_refused(tables):
    reference, current = tables
    with pytest.raises(ConfigError, match="at most one"):
        multivariate_drift(reference, current, chunk_size=10, chunk_period="1h")
    with pytest.raises(ConfigError, match="timestamp"):
        multivariate_drift(reference, current, chunk_period="1h")
    with pytest.raises(ConfigError, match="not compared"):
        multivariate_drift(reference, current, columns=["a", "b"], schema={"c0": "numerical"})
    with pytest.raises(InputError, match="no rows"):
        multivariate_drift(reference, current.slice(0, 0))
    with pytest.raises(InputError, match="'nope'"):
        multivariate_drift(reference, current, columns=["a", "nope"])
    with pytest.raises(InputError, match="'nope'"):
        MultivariateDetector.fit(reference, columns=["nope"], schema={}, config=ALL)


def test_reference_chunks_of_the_window_size_judge_the_reconstruction_error(tables):
    reference, current = tables
    config = MultivariateConfig(methods=("reconstruction_error",))
    learned = MultivariateDetector.fit(
        reference, columns=["a", "b"], schema={}, config=config, chunks=size_chunks(8_000, 600)
    )

    (result,) = learned.evaluate(current.slice(0, 600))

    assert result.details.limits.chunks == 13  # 8,000 rows: 13 chunks of 600 (and 200 left)
    assert result.threshold == result.details.limits.upper
