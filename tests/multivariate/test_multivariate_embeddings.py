"""Embedding columns: judged on their own by MMD and a domain classifier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from multivariate_data import as_list_column, embeddings

from mlvigil.checks.result import CheckStatus
from mlvigil.multivariate import MultivariateConfig, MultivariateDetector, multivariate_drift


def _table(vectors: np.ndarray, kind: pa.DataType | None = None, **columns: object) -> pa.Table:
    return pa.table({"vec": as_list_column(vectors, kind), **columns})


@pytest.fixture(scope="module")
def detector() -> MultivariateDetector:
    rng = np.random.default_rng(11)
    reference = _table(embeddings(rng, 6_000), x=rng.normal(size=6_000))
    return MultivariateDetector.fit(
        reference, columns=["vec", "x"], schema={}, config=MultivariateConfig()
    )


def _embedding_results(results: list[object]) -> dict[str, object]:
    return {r.metric: r for r in results if r.column == "vec"}  # type: ignore[attr-defined]


def test_a_shift_along_the_lowest_variance_axis_is_found_by_mmd_and_the_classifier(detector):
    rng = np.random.default_rng(12)
    window = _table(embeddings(rng, 1_500, shift=1.0), x=rng.normal(size=1_500))

    found = _embedding_results(detector.evaluate(window))

    assert set(found) == {"mmd", "domain_classifier_auc"}
    for result in found.values():
        assert result.status is CheckStatus.FAILED, result.message
        assert result.details.columns == ("vec",)
        assert result.score > 1.0
    assert found["mmd"].details.p_value < 0.05
    assert found["domain_classifier_auc"].details.importances == (
        ("vec", pytest.approx(found["domain_classifier_auc"].value - 0.5, abs=0.05)),
    )


def test_unchanged_embeddings_pass(detector):
    rng = np.random.default_rng(13)
    failures = {"mmd": 0, "domain_classifier_auc": 0}
    for _ in range(6):
        window = _table(embeddings(rng, 1_000), x=rng.normal(size=1_000))
        results = detector.evaluate(window)
        assert [(r.column, r.metric) for r in results] == [
            (None, "reconstruction_error"),
            (None, "domain_classifier_auc"),
            ("vec", "mmd"),
            ("vec", "domain_classifier_auc"),
        ]
        # One tabular column leaves no residual to measure.
        assert results[0].status is CheckStatus.ERROR
        assert "at least 2 usable columns" in results[0].message
        assert results[1].status is CheckStatus.PASSED
        for result in results[2:]:
            failures[result.metric] += result.status is CheckStatus.FAILED

    assert detector.embeddings == ("vec",)
    assert detector.columns == ("x",)
    assert failures["mmd"] <= 1  # alpha = 0.05 of 6 windows: 0.3 expected
    assert failures["domain_classifier_auc"] == 0


def test_list_columns_are_embeddings_whatever_the_schema_says():
    rng = np.random.default_rng(14)
    kind = pa.list_(pa.float64(), 16)  # fixed-size lists
    reference = _table(embeddings(rng, 2_000), kind)
    window = _table(embeddings(rng, 500, shift=1.5), kind)

    detector = MultivariateDetector.fit(
        reference, columns=["vec"], schema={"vec": "text"}, config=MultivariateConfig()
    )
    results = detector.evaluate(window)

    assert [(r.column, r.metric, r.status.value) for r in results] == [
        ("vec", "mmd", "failed"),
        ("vec", "domain_classifier_auc", "failed"),
    ]


def test_pandas_columns_of_numpy_vectors_with_missing_rows_are_read():
    rng = np.random.default_rng(15)
    reference = pd.DataFrame({"vec": list(embeddings(rng, 2_000))})
    rows = list(embeddings(rng, 1_000, shift=1.5))
    rows[3] = None
    rows[7] = np.full(16, np.nan)
    current = pd.DataFrame({"vec": rows})

    report = multivariate_drift(reference, current)

    assert report.embeddings == ("vec",)
    assert report.columns == ()
    results = report[0].results
    assert [r.status.value for r in results] == ["failed", "failed"]
    assert {r.details.rows for r in results} == {998}  # two incomplete vectors left out


def test_vectors_of_different_lengths_give_error_results():
    reference = pa.table({"vec": pa.array([[1.0, 2.0]] * 30 + [[1.0]] * 30)})

    detector = MultivariateDetector.fit(
        reference, columns=["vec"], schema={}, config=MultivariateConfig()
    )
    results = detector.evaluate(reference)

    assert [r.status for r in results] == [CheckStatus.ERROR, CheckStatus.ERROR]
    assert "same length" in results[0].message
    assert results[0].details["method"] == "mmd"


def test_a_window_with_too_few_complete_vectors_gives_error_results(detector):
    rng = np.random.default_rng(16)
    vectors = list(embeddings(rng, 40).astype(np.float32))
    window = pa.table(
        {
            "vec": pa.array([v if i < 10 else None for i, v in enumerate(vectors)],
                            pa.list_(pa.float32())),
            "x": rng.normal(size=40),
        }
    )  # fmt: skip

    found = _embedding_results(detector.evaluate(window))

    assert [r.status for r in found.values()] == [CheckStatus.ERROR, CheckStatus.ERROR]
    assert "10 complete vectors" in found["mmd"].message
    assert "at least 20" in found["mmd"].message


def test_embedding_methods_are_chosen_apart_from_the_tabular_ones():
    rng = np.random.default_rng(17)
    reference = _table(embeddings(rng, 2_000), x=rng.normal(size=2_000), y=rng.normal(size=2_000))
    config = MultivariateConfig(methods=("reconstruction_error",), embedding_methods=("mmd",))

    detector = MultivariateDetector.fit(
        reference, columns=["vec", "x", "y"], schema={}, config=config
    )
    results = detector.evaluate(reference.slice(0, 500))

    assert [(r.column, r.metric) for r in results] == [
        (None, "reconstruction_error"),
        ("vec", "mmd"),
    ]
