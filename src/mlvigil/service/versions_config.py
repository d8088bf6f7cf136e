"""The ``checks.versions`` section and ``schema.outcomes``: model versions and business metrics.

``checks.versions`` compares the model versions of each window (the records'
``model_version``): every other version against the baseline, with an optional canary
verdict from guard metrics. ``schema.outcomes`` declares business outcome columns
(``revenue: mean``, ``converted: rate``) sent with the predictions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from mlvigil.checks.business import outcome_metric
from mlvigil.checks.metrics import metric_names
from mlvigil.checks.performance import PerformanceConfig
from mlvigil.exceptions import ConfigError
from mlvigil.experiments import ComparisonConfig, Guard, Outcome
from mlvigil.experiments.comparison import ERROR_RATE, latency_metric
from mlvigil.stats.correction import Correction

__all__ = [
    "OutcomeModel",
    "VersionsConfig",
    "VersionsModel",
    "versions_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class OutcomeModel(_Strict):
    """A business outcome column: ``rate`` (0/1, e.g. converted) or ``mean`` (an amount)."""

    kind: Literal["rate", "mean"] = "mean"
    higher_is_better: bool = True
    min: float | None = None
    """The window's rate or mean must be at least this (else the result fails)."""
    max: float | None = None
    """... and at most this."""


def _outcome(value: Any) -> Any:
    """``rate`` or ``mean`` alone, or the full form."""
    return {"kind": value} if isinstance(value, str) else value


Outcomes = dict[str, Annotated[OutcomeModel, BeforeValidator(_outcome)]]


class GuardModel(_Strict):
    """A metric a canary must not degrade beyond ``max_degradation`` (in its units)."""

    metric: str
    max_degradation: float = Field(ge=0)
    min_rows: int = Field(default=100, ge=1)


class CanaryModel(_Strict):
    """A verdict per window for each candidate version: pass, fail or inconclusive."""

    guards: list[GuardModel] = Field(min_length=1)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    correction: Literal["bonferroni", "bh"] = "bonferroni"


class VersionsModel(_Strict):
    """Model versions compared in every window."""

    baseline: str | None = None
    """The version every other one is compared with; default: the window's version
    with the most rows (the champion takes most traffic)."""
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    min_rows: int = Field(default=30, ge=2)
    replicates: int = Field(default=200, ge=20, le=10_000)
    latency_quantiles: list[float] = Field(default_factory=lambda: [0.5, 0.99])
    canary: CanaryModel | None = None

    @model_validator(mode="after")
    def _quantiles(self) -> VersionsModel:
        wrong = [q for q in self.latency_quantiles if not 0 < q < 1]
        if wrong:
            raise ValueError(f"latency_quantiles are between 0 and 1 (exclusive): {wrong}")
        return self


@dataclass(frozen=True)
class VersionsConfig:
    """The comparison of a model's versions, resolved."""

    baseline: str | None
    comparison: ComparisonConfig
    guards: tuple[Guard, ...]
    alpha: float
    correction: Correction


def outcomes_of(outcomes: Mapping[str, OutcomeModel]) -> dict[str, Outcome]:
    """The library's view of the schema's outcome columns."""
    return {name: Outcome(o.kind, o.higher_is_better, o.min, o.max) for name, o in outcomes.items()}


def versions_config(
    settings: VersionsModel,
    *,
    performance: PerformanceConfig | None,
    outcomes: Mapping[str, OutcomeModel],
    categorical_predictions: bool,
    where: str,
) -> VersionsConfig:
    """Resolve ``checks.versions``; guards must name quantities the comparison computes.

    Raises
    ------
    ConfigError
        For a guard on a quantity that is not compared, naming the compared ones.
    """
    comparison = ComparisonConfig(
        performance=performance,
        outcomes=outcomes_of(outcomes),
        latency_quantiles=tuple(settings.latency_quantiles),
        categorical_predictions=categorical_predictions,
        confidence=settings.confidence,
        replicates=settings.replicates,
        min_rows=settings.min_rows,
    )
    canary = settings.canary
    guards = tuple(
        Guard(g.metric, g.max_degradation, g.min_rows) for g in (canary.guards if canary else ())
    )
    known = compared_quantities(comparison)
    unknown = [g.metric for g in guards if g.metric not in known]
    if unknown:
        raise ConfigError(
            f"{where}.checks.versions.canary: guards on {unknown}, which are not compared; "
            f"compared: {', '.join(known)}"
        )
    return VersionsConfig(
        settings.baseline,
        comparison,
        guards,
        canary.alpha if canary else 0.05,
        Correction(canary.correction if canary else "bonferroni"),
    )


def compared_quantities(comparison: ComparisonConfig) -> Sequence[str]:
    """The quantities a comparison computes a difference of, in order."""
    performance = comparison.performance
    metrics: list[str] = []
    if performance is not None:
        metrics.extend(performance.metrics or metric_names(performance.task))
    metrics.extend(latency_metric(q) for q in comparison.latency_quantiles)
    metrics.append(ERROR_RATE)
    metrics.extend(outcome_metric(c, o) for c, o in comparison.outcomes.items())
    return metrics
