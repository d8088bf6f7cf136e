"""The YAML of the checks that need no labels: performance estimation, multivariate drift.

::

    checks:
      estimation: {}                      # estimated performance before labels arrive
      multivariate:                       # how features move together
        methods: [reconstruction_error, domain_classifier]
        variance: 0.65

Estimation takes the task, positive label and score semantics of ``checks.performance``
when it is configured (the same model, measured two ways), else its own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mlvigil.checks.performance import PerformanceConfig
from mlvigil.estimation import EstimationConfig
from mlvigil.multivariate import MultivariateConfig

__all__ = [
    "EstimationModel",
    "MultivariateModel",
    "estimation_config",
    "multivariate_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EstimationModel(_Strict):
    """Performance estimated per window from the scores alone (labels only in the reference)."""

    task: Literal["classification", "regression"] | None = None
    """By default the task of ``checks.performance``, else classification."""
    metrics: list[str] = Field(default_factory=list)
    calibration: Literal["auto", "always", "never"] = "auto"
    min_rows: int = Field(default=30, ge=1)
    positive_label: str | int | float | bool | None = None
    """By default the positive label of ``checks.performance``, else 1."""
    score_is: Literal["positive_probability", "confidence"] | None = None


Method = Literal["reconstruction_error", "domain_classifier"]


EmbeddingMethod = Literal["mmd", "domain_classifier"]


def _both_methods() -> list[Method]:
    return ["reconstruction_error", "domain_classifier"]


def _embedding_methods() -> list[EmbeddingMethod]:
    return ["mmd", "domain_classifier"]


class MultivariateModel(_Strict):
    """Drift of the joint distribution of the features, not one column at a time."""

    methods: list[Method] = Field(default_factory=_both_methods, min_length=1)
    embedding_methods: list[EmbeddingMethod] = Field(
        default_factory=_embedding_methods, min_length=1
    )
    """What tests each embedding feature (``mmd``: a kernel two-sample test)."""
    variance: float = Field(default=0.65, gt=0, lt=1)
    """Share of the reference's variance the principal components keep."""
    columns: list[str] | None = None
    """The columns compared together; by default every feature."""
    max_reference_rows: int = Field(default=5_000, ge=100)
    """Reference rows the domain classifier learns from at most (a seeded sample)."""


def estimation_config(
    model: EstimationModel,
    *,
    performance: PerformanceConfig | None,
    prediction: str,
    target: str,
    score: str | None,
    probabilities: dict[str, str] | None,
    features: tuple[str, ...],
    positive_label: object,
) -> EstimationConfig:
    """The library's estimation options for one model of the service.

    ``positive_label`` is the model's positive label as the store holds labels (used
    when neither the estimation nor the performance section sets one).
    """
    task = model.task or (performance.task if performance is not None else "classification")
    score_is = model.score_is or (
        performance.score_is if performance is not None else "positive_probability"
    )
    return EstimationConfig(
        task=task,
        metrics=tuple(model.metrics),
        prediction=prediction,
        target=target,
        score=None if probabilities else score,
        probabilities=probabilities,
        score_is=score_is,
        positive_label=positive_label,
        features=features,
        calibration=model.calibration,
        min_rows=model.min_rows,
        min_labels=performance.min_labels if performance is not None else 30,
    )


def multivariate_config(
    model: MultivariateModel | None, *, embeddings_only: bool = False
) -> MultivariateConfig:
    """The library's multivariate drift options for one model of the service.

    Without a ``checks.multivariate`` section (``model`` None) the defaults apply;
    ``embeddings_only`` leaves out the methods for tabular columns (the implied check
    on a schema's embeddings).
    """
    model = model or MultivariateModel()
    return MultivariateConfig(
        methods=() if embeddings_only else tuple(model.methods),
        embedding_methods=tuple(model.embedding_methods),
        variance=model.variance,
        max_reference_rows=model.max_reference_rows,
    )
