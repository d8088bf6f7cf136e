"""Reconstruction error and the domain classifier agree with scikit-learn's own computations."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from multivariate_data import correlated
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

from mlvigil.checks.chunks import size_chunks
from mlvigil.checks.limits import LearnedLimits
from mlvigil.checks.result import CheckStatus
from mlvigil.multivariate import MultivariateConfig, MultivariateDetector
from mlvigil.multivariate.domain import (
    ITERATIONS,
    LEARNING_RATE,
    LEAVES,
    auc_standard_error,
    domain_classifier,
    null_standard_error,
    roc_auc,
)
from mlvigil.multivariate.reconstruction import ReconstructionModel


def test_reconstruction_errors_agree_with_scikit_learn_pca():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(3_000, 6)) @ rng.normal(size=(6, 6))
    window = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6))

    model = ReconstructionModel.fit(reference, variance=0.65)
    pca = PCA(n_components=len(model.components)).fit(reference)
    expected = np.linalg.norm(window - pca.inverse_transform(pca.transform(window)), axis=1)

    assert model.errors(window) == pytest.approx(expected, rel=1e-9)
    full = np.cumsum(PCA().fit(reference).explained_variance_ratio_)
    kept = len(model.components)
    assert full[kept - 1] >= 0.65 > (full[kept - 2] if kept > 1 else 0.0)  # fewest reaching it
    assert model.variance_kept == pytest.approx(full[kept - 1])


def test_some_residual_is_always_left_to_measure():
    rng = np.random.default_rng(1)
    independent = rng.normal(size=(2_000, 2))  # one component holds ~50% < 65%

    model = ReconstructionModel.fit(independent, variance=0.65)

    assert len(model.components) == 1
    assert model.mean_error > 0.5


def test_limits_are_learned_from_the_mean_error_of_each_reference_chunk():
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(6_000, 4))
    chunks = size_chunks(6_000, 1_000)

    model = ReconstructionModel.fit(reference, variance=0.65, chunks=chunks)

    errors = model.errors(reference)
    expected = LearnedLimits.of(
        [errors[c.offset : c.offset + c.rows].mean() for c in chunks], chunk_rows=1_000, low=0.0
    )
    assert model.limits == expected
    assert model.upper(1_000) == expected.upper
    assert model.standard_error(400) == pytest.approx(errors.std(ddof=1) / 20)


def _detector(reference: pa.Table, chunks: object = None) -> MultivariateDetector:
    return MultivariateDetector.fit(
        reference,
        columns=reference.column_names,
        schema={},
        config=MultivariateConfig(methods=("reconstruction_error",)),
        chunks=chunks,  # type: ignore[arg-type]
    )


def test_without_reference_chunks_the_limit_is_three_standard_errors_and_says_so():
    rng = np.random.default_rng(3)
    reference = correlated(rng, 5_000, 0.8)
    detector = _detector(reference)

    (result,) = detector.evaluate(correlated(rng, 400, 0.8))

    details = result.details
    assert details.limits is None
    assert result.threshold == pytest.approx(
        detector._reconstruction.mean_error + 3 * details.standard_error  # type: ignore[union-attr]
    )
    assert "no reference chunks" in result.message
    assert details.upper_band - details.lower_band == pytest.approx(6 * details.standard_error)


def test_a_window_below_the_lower_limit_is_reported_but_not_a_drift():
    rng = np.random.default_rng(4)
    reference = correlated(rng, 8_000, 0.8, extra=0)
    detector = _detector(reference, size_chunks(8_000, 500))
    a = rng.normal(size=500)
    on_the_line = pa.table({"a": a, "b": a})  # on the reference's first component

    (result,) = detector.evaluate(on_the_line)

    assert result.status is CheckStatus.PASSED
    assert result.value < result.details.limits.lower
    assert "below the lower limit" in result.message
    assert result.score < 1.0


def test_the_pooled_out_of_fold_auc_agrees_with_scikit_learn_cross_val_predict():
    rng = np.random.default_rng(5)
    reference = rng.normal(size=(600, 3))
    current = rng.normal(size=(700, 3)) + np.array([0.0, 1.0, 0.0])

    result = domain_classifier(reference, current, groups=["a", "b", "c"], seed=9)

    # Nothing is subsampled here: the reference has fewer rows than the window.
    features = np.vstack([reference, current])
    labels = np.r_[np.zeros(600), np.ones(700)]
    model = HistGradientBoostingClassifier(
        max_iter=ITERATIONS,
        max_leaf_nodes=LEAVES,
        learning_rate=LEARNING_RATE,
        early_stopping=False,
        random_state=9,
    )
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=9)
    with threadpool_limits(limits=1, user_api="openmp"):  # as fast as ours on a busy machine
        scores = cross_val_predict(model, features, labels, cv=folds, method="predict_proba")
    scores = scores[:, 1]
    assert result.auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert (result.rows, result.reference_rows) == (700, 600)
    assert result.importances[0][0] == "b"


def test_roc_auc_agrees_with_scikit_learn_with_ties():
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 2, 500)
    scores = rng.integers(0, 8, 500) / 8.0  # many ties

    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_the_auc_standard_errors():
    # Under no difference: the Mann-Whitney U variance n1 n2 (n1 + n2 + 1) / 12, over (n1 n2)².
    assert null_standard_error(300, 200) == pytest.approx(np.sqrt(501 / (12 * 300 * 200)))
    assert auc_standard_error(0.5, 300, 200) == pytest.approx(null_standard_error(300, 200))
    assert auc_standard_error(0.9, 300, 200) < auc_standard_error(0.7, 300, 200)


def test_the_domain_threshold_is_four_null_standard_errors_above_one_half():
    rng = np.random.default_rng(7)
    result = domain_classifier(rng.normal(size=(5_000, 2)), rng.normal(size=(800, 2)), groups="ab")

    assert result.reference_rows == 800  # no more reference rows than the window's
    assert result.threshold == pytest.approx(0.5 + 4 * null_standard_error(800, 800))
    assert not result.drifted
