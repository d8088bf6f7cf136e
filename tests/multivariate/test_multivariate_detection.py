"""What multivariate drift finds that column-by-column tests cannot, and what it leaves alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from multivariate_data import correlated, graded
from sklearn.datasets import load_breast_cancer

from mlvigil import detect_drift
from mlvigil.checks.details import MultivariateDetails
from mlvigil.checks.result import CheckStatus
from mlvigil.multivariate import MultivariateConfig, MultivariateDetector, multivariate_drift

ALL_METHODS = MultivariateConfig(methods=("reconstruction_error", "domain_classifier", "mmd"))


def _by_metric(results: tuple[object, ...] | list[object]) -> dict[str, object]:
    return {r.metric: r for r in results}  # type: ignore[attr-defined]


@pytest.mark.parametrize("rho", [-0.8, 0.0])
def test_a_correlation_change_with_unchanged_marginals_is_found_by_both_methods(rho):
    rng = np.random.default_rng(1)
    reference = correlated(rng, 20_000, 0.8)
    current = pa.concat_tables([correlated(rng, 2_000, 0.8), correlated(rng, 2_000, rho)])

    report = multivariate_drift(reference, current, chunk_size=2_000)

    unchanged, changed = (_by_metric(c.results) for c in report)
    for metric in ("reconstruction_error", "domain_classifier_auc"):
        assert unchanged[metric].status is CheckStatus.PASSED, unchanged[metric].message
        assert changed[metric].status is CheckStatus.FAILED, changed[metric].message
        assert changed[metric].score > 1.0 > unchanged[metric].score
    assert [c.chunk.key for c in report.drifted_chunks] == ["rows 2000-3999"]


@pytest.mark.parametrize("rho", [-0.8, 0.0])
def test_every_univariate_test_misses_the_correlation_change(rho):
    rng = np.random.default_rng(1)
    reference = correlated(rng, 20_000, 0.8)
    changed = correlated(rng, 2_000, rho)

    report = detect_drift(reference, changed)  # the data the test above finds drifted

    assert [c.column for c in report if c.drifted] == []
    assert not report.dataset_drift


def test_no_false_alarm_on_same_distribution_chunks():
    rng = np.random.default_rng(7)
    reference = correlated(rng, 20_000, 0.6, extra=4)
    current = correlated(rng, 20_000, 0.6, extra=4)

    config = MultivariateConfig(methods=ALL_METHODS.methods, mmd_rows=500)
    report = multivariate_drift(reference, current, chunk_size=1_000, config=config)

    assert len(report) == 20
    alarms = dict.fromkeys(("reconstruction_error", "domain_classifier_auc", "mmd"), 0)
    for chunk in report:
        for result in chunk.results:
            assert result.status is not CheckStatus.ERROR, result.message
            alarms[result.metric] += result.status is CheckStatus.FAILED
    # Targets: at most 1 window in 20 per method (4 null SEs, 3 learned SDs, alpha 0.05).
    assert alarms["reconstruction_error"] <= 1
    assert alarms["domain_classifier_auc"] <= 1
    assert alarms["mmd"] <= 3  # alpha = 0.05: 1 expected, 3 is the binomial 92nd percentile


def test_importances_rank_the_changed_column_first_by_its_original_name():
    rng = np.random.default_rng(3)
    reference = pa.table({f"feature {i}": rng.normal(size=10_000) for i in range(6)})
    window = {f"feature {i}": rng.normal(size=2_000) for i in range(6)}
    window["feature 4"] = window["feature 4"] + 0.4
    detector = MultivariateDetector.fit(
        reference, columns=reference.column_names, schema={}, config=MultivariateConfig()
    )

    domain = _by_metric(detector.evaluate(pa.table(window)))["domain_classifier_auc"]

    assert domain.status is CheckStatus.FAILED
    names = [name for name, _ in domain.details.importances]
    assert names[0] == "feature 4"
    assert sorted(names) == sorted(reference.column_names)
    importances = [value for _, value in domain.details.importances]
    assert importances == sorted(importances, reverse=True)
    assert importances[0] > 5 * max(importances[1], 1e-3)
    assert "feature 4" in domain.message


def test_importances_name_both_columns_of_a_changed_correlation():
    rng = np.random.default_rng(4)
    reference = correlated(rng, 10_000, 0.8)
    detector = MultivariateDetector.fit(
        reference, columns=reference.column_names, schema={}, config=MultivariateConfig()
    )

    domain = _by_metric(detector.evaluate(correlated(rng, 2_000, -0.8)))["domain_classifier_auc"]

    assert {name for name, _ in domain.details.importances[:2]} == {"a", "b"}


def test_a_broken_relation_between_category_and_income_is_found_in_pandas_data():
    rng = np.random.default_rng(5)
    reference = graded(rng, 12_000, linked=True)
    current = pd.concat(
        [graded(rng, 2_000, linked=True), graded(rng, 2_000, linked=False)], ignore_index=True
    )

    report = multivariate_drift(reference, current, chunk_size=2_000)

    assert report.columns == ("grade", "income", "member", "region")
    unchanged, changed = (_by_metric(c.results) for c in report)
    assert unchanged["domain_classifier_auc"].status is CheckStatus.PASSED
    assert changed["domain_classifier_auc"].status is CheckStatus.FAILED
    top_two = {name for name, _ in changed["domain_classifier_auc"].details.importances[:2]}
    assert top_two == {"grade", "income"}
    assert not detect_drift(reference, current.iloc[2_000:]).dataset_drift
    assert not [c.column for c in detect_drift(reference, current.iloc[2_000:]) if c.drifted]


def test_shuffled_columns_of_a_bundled_dataset_are_found_and_a_fair_split_is_not():
    data = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    order = np.random.default_rng(6).permutation(len(data))
    reference, current = data.iloc[order[:369]], data.iloc[order[369:]].reset_index(drop=True)
    shuffled = current.copy()
    moved = ["mean radius", "worst radius"]  # each keeps its values, loses its relations
    for name in moved:
        shuffled[name] = np.random.default_rng(0).permutation(shuffled[name])
    detector = MultivariateDetector.fit(
        pa.Table.from_pandas(reference, preserve_index=False),
        columns=list(data.columns),
        schema={},
        config=MultivariateConfig(),
    )

    fair = _by_metric(detector.evaluate(pa.Table.from_pandas(current)))
    broken = _by_metric(detector.evaluate(pa.Table.from_pandas(shuffled)))

    for metric in ("reconstruction_error", "domain_classifier_auc"):
        assert fair[metric].status is CheckStatus.PASSED, fair[metric].message
        assert broken[metric].status is CheckStatus.FAILED, broken[metric].message
    assert broken["domain_classifier_auc"].details.importances[0][0] in moved
    univariate = detect_drift(current, shuffled)
    assert [univariate[name].statistic for name in moved] == [0.0, 0.0]  # the same values
    assert not [c.column for c in univariate if c.drifted]


def test_results_carry_typed_multivariate_details():
    rng = np.random.default_rng(8)
    report = multivariate_drift(
        correlated(rng, 5_000, 0.8), correlated(rng, 1_000, 0.0), config=ALL_METHODS
    )

    results = _by_metric(report[0].results)
    assert set(results) == {"reconstruction_error", "domain_classifier_auc", "mmd"}
    for result in results.values():
        assert result.column is None
        assert isinstance(result.details, MultivariateDetails)
        assert result.details.columns == ("a", "b", "c0", "c1", "c2")
        assert result.details.rows == 1_000
    pca = results["reconstruction_error"].details
    assert pca.components is not None
    assert 1 <= pca.components < 5
    assert pca.variance_kept >= 0.65
    assert pca.lower_band < results["reconstruction_error"].value < pca.upper_band
    assert results["domain_classifier_auc"].details.reference_rows == 1_000
    mmd = results["mmd"]
    assert mmd.threshold == 0.05
    assert mmd.score == pytest.approx(np.log(mmd.details.p_value) / np.log(0.05))
