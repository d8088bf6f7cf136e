"""Two model versions on their own traffic in one window: how they differ, and how surely.

A :class:`Comparison` holds, candidate minus baseline, each performance metric on the
versions' labelled rows (:mod:`mlvigil.experiments.labelled`), each latency quantile,
and each business outcome (a rate or a mean per prediction); the drift of the
candidate's predictions from the baseline's; and, when both versions scored the same
rows (a shadow deployment), the paired comparisons of
:mod:`mlvigil.experiments.paired`. :meth:`Comparison.results` gives them as
:class:`~mlvigil.checks.result.CheckResult` rows of kind ``comparison``, so they are
stored, exported as gauges and alerted on like any other result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mlvigil.checks._common import error_result
from mlvigil.checks.business import Outcome, outcome_metric
from mlvigil.checks.metrics import LOWER_IS_BETTER, metric_names
from mlvigil.checks.performance import PerformanceConfig
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.experiments.differences import (
    Difference,
    mean_difference,
    proportion_difference,
    quantile_difference,
)
from mlvigil.experiments.labelled import Labelled, labelled_differences
from mlvigil.experiments.paired import Paired
from mlvigil.stats import StatTestResult, chi_square_test, ks_test
from mlvigil.stats.samples import DegenerateInputError

__all__ = ["ERROR_RATE", "Arm", "Comparison", "ComparisonConfig", "Outcome", "compare_arms"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Arm:
    """One version's rows of a window, as a comparison reads them.

    Attributes
    ----------
    version
        The version's name.
    rows
        Its rows in the window.
    labelled
        Its labelled rows, or ``None`` before labels arrive.
    predictions
        Every row's prediction (drift between the versions).
    latency_ms
        Every row's serving latency, where known (NaN otherwise).
    outcomes
        Outcome column -> every row's value (NaN where not known yet).
    errors
        Every row's error flag: 1 where serving it failed, 0 where it did not, NaN
        where the record does not say.
    """

    version: str
    rows: int
    labelled: Labelled | None = None
    predictions: npt.ArrayLike | None = None
    latency_ms: npt.ArrayLike | None = None
    outcomes: Mapping[str, npt.ArrayLike] = field(default_factory=dict)
    errors: npt.ArrayLike | None = None


@dataclass(frozen=True)
class ComparisonConfig:
    """What to compare, and how surely.

    Attributes
    ----------
    performance
        The versions' performance configuration (task, metrics, positive label, score
        semantics), or ``None`` to compare no performance metric.
    outcomes
        Business outcome column -> :class:`Outcome`.
    latency_quantiles
        Latency quantiles compared, e.g. ``(0.5, 0.99)`` for ``latency_p50_ms`` and
        ``latency_p99_ms``.
    categorical_predictions
        Whether predictions are classes (chi-square drift) or numbers (KS).
    confidence
        Level of every interval; a difference is ``failed`` when its interval lies
        wholly on the worse side of zero.
    replicates, seed
        The bootstrap's replicates per side and seed.
    min_rows
        Rows each version needs before a quantity is compared.
    severity
        Severity of a comparison that shows the candidate worse.
    """

    performance: PerformanceConfig | None = None
    outcomes: Mapping[str, Outcome] = field(default_factory=dict)
    latency_quantiles: tuple[float, ...] = (0.5, 0.99)
    categorical_predictions: bool = True
    confidence: float = 0.95
    replicates: int = 200
    seed: int = 0
    min_rows: int = 30
    severity: Severity = Severity.WARNING


#: The share of a version's requests whose serving failed (the records' ``error``).
ERROR_RATE = "error_rate"
_ERRORS = Outcome("rate", higher_is_better=False)


def latency_metric(q: float) -> str:
    """The name of a latency quantile's comparison: ``latency_p99_ms`` for 0.99."""
    return f"latency_p{round(q * 100, 1):g}_ms"


@dataclass(frozen=True)
class Comparison:
    """A candidate version against a baseline in one window.

    Attributes
    ----------
    baseline, candidate
        The versions' names.
    rows
        Rows of each, in the window.
    differences
        Quantity -> its difference (``accuracy``, ``latency_p99_ms``, ``revenue_mean``).
    lower_is_better
        The quantities for which less is better (losses, errors, latency).
    problems
        Quantity -> why it has no difference.
    prediction_drift
        The candidate's predictions against the baseline's, or ``None``.
    paired
        The comparisons on the rows both versions scored, or ``None``.
    confidence
        Level of the intervals.
    severity
        Of the results about a surely worse candidate.
    unmeasured
        Quantities neither version's rows carry (no latency sent, an outcome not known
        yet): no result, rather than an error every window.
    """

    baseline: str
    candidate: str
    rows: tuple[int, int]
    differences: Mapping[str, Difference]
    lower_is_better: frozenset[str]
    problems: Mapping[str, str]
    prediction_drift: StatTestResult | None = None
    paired: Paired | None = None
    confidence: float = 0.95
    severity: Severity = Severity.WARNING
    unmeasured: frozenset[str] = frozenset()

    def worse(self, metric: str) -> bool:
        """Whether the candidate is surely worse on ``metric`` (its interval excludes zero)."""
        d = self.differences[metric]
        return d.low > 0 if metric in self.lower_is_better else d.high < 0

    def results(self) -> list[CheckResult]:
        """Every difference, the prediction drift and the paired comparisons, as results."""
        versions = {"baseline_version": self.baseline, "candidate_version": self.candidate}
        results = [self._difference_result(m, d, versions) for m, d in self.differences.items()]
        results.extend(
            error_result(
                CheckKind.COMPARISON,
                f"{metric}_difference",
                None,
                f"{metric} not compared: {reason}",
                severity=Severity.WARNING,
                baseline_version=versions["baseline_version"],
                candidate_version=versions["candidate_version"],
            )
            for metric, reason in self.problems.items()
        )
        if self.prediction_drift is not None:
            results.append(self._drift_result(self.prediction_drift, versions))
        if self.paired is not None:
            results.extend(self.paired.results(versions, self.severity))
        return results

    def _difference_result(
        self, metric: str, d: Difference, versions: Mapping[str, str]
    ) -> CheckResult:
        worse = self.worse(metric)
        share = round(d.confidence * 100)
        return CheckResult(
            CheckKind.COMPARISON,
            f"{metric}_difference",
            None,
            d.difference,
            None,
            CheckStatus.FAILED if worse else CheckStatus.PASSED,
            severity=self.severity,
            message=(
                f"{metric}: {self.candidate} {d.candidate:.4g} vs {self.baseline} "
                f"{d.baseline:.4g} ({d.difference:+.3g}, {share}% interval "
                f"{d.low:+.3g} to {d.high:+.3g}{', worse' if worse else ''})"
            ),
            details={**versions, **d.to_dict(), "lower_is_better": metric in self.lower_is_better},
        )

    def _drift_result(self, test: StatTestResult, versions: Mapping[str, str]) -> CheckResult:
        return CheckResult(
            CheckKind.COMPARISON,
            "prediction_drift",
            None,
            test.statistic,
            test.threshold,
            CheckStatus.FAILED if test.drifted else CheckStatus.PASSED,
            severity=self.severity,
            message=(
                f"{self.candidate}'s predictions against {self.baseline}'s: {test.method} "
                f"p={test.p_value:.3g}{' (drifted)' if test.drifted else ''}"
            ),
            details={**versions, "method": test.method, "p_value": test.p_value},
        )


def _floats(values: npt.ArrayLike | None) -> FloatArray:
    if values is None:
        return np.empty(0)
    array = np.asarray(values, dtype=np.float64)
    return array[np.isfinite(array)]


def _outcome_difference(
    metric: str, outcome: Outcome, baseline: FloatArray, candidate: FloatArray, level: float
) -> Difference:
    if outcome.kind == "mean":
        return mean_difference(metric, baseline, candidate, confidence=level)
    for values in (baseline, candidate):
        if not np.isin(values, (0.0, 1.0)).all():
            raise DegenerateInputError(
                f"a rate outcome holds 0 and 1 only; found {sorted(set(values.tolist()))[:5]}"
            )
    counts = [(int(v.sum()), int(v.size)) for v in (baseline, candidate)]
    return proportion_difference(metric, counts[0], counts[1], confidence=level)


def _prediction_drift(
    config: ComparisonConfig, baseline: Arm, candidate: Arm
) -> StatTestResult | None:
    if baseline.predictions is None or candidate.predictions is None:
        return None
    threshold = 1 - config.confidence
    try:
        if config.categorical_predictions:
            b = [v for v in np.asarray(baseline.predictions, dtype=object) if v is not None]
            c = [v for v in np.asarray(candidate.predictions, dtype=object) if v is not None]
            return chi_square_test(b, c, threshold=threshold)
        return ks_test(
            _floats(baseline.predictions), _floats(candidate.predictions), threshold=threshold
        )
    except DegenerateInputError:
        return None


def compare_arms(
    config: ComparisonConfig, baseline: Arm, candidate: Arm, *, paired: Paired | None = None
) -> Comparison:
    """Compare ``candidate`` with ``baseline`` (each on its own rows).

    Parameters
    ----------
    config
        What to compare, and how surely.
    baseline, candidate
        The two versions' rows of the window.
    paired
        Their comparisons on the rows both scored (:func:`mlvigil.experiments.paired.pair`),
        for a shadow deployment.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> base = Arm("v1", 5000, latency_ms=rng.gamma(4, 10, 5000))
    >>> cand = Arm("v2", 5000, latency_ms=rng.gamma(4, 12, 5000))
    >>> comparison = compare_arms(ComparisonConfig(latency_quantiles=(0.99,)), base, cand)
    >>> comparison.worse("latency_p99_ms")
    True
    """
    level = config.confidence
    differences: dict[str, Difference] = {}
    problems: dict[str, str] = {}
    lower: set[str] = set()
    performance = config.performance
    if performance is not None:
        labelled = [len(arm.labelled) if arm.labelled else 0 for arm in (baseline, candidate)]
        if (
            baseline.labelled is None
            or candidate.labelled is None
            or min(labelled) < config.min_rows
        ):
            reason = (
                f"{min(labelled)} labelled rows on a side, {config.min_rows} needed "
                f"(baseline {labelled[0]}, candidate {labelled[1]})"
            )
            metrics = performance.metrics or tuple(metric_names(performance.task))
            problems.update(dict.fromkeys(metrics, reason))
        else:
            found, why = labelled_differences(
                performance,
                baseline.labelled,
                candidate.labelled,
                confidence=level,
                replicates=config.replicates,
                seed=config.seed,
            )
            differences.update(found)
            problems.update(why)
        lower.update(m for m in LOWER_IS_BETTER)
    unmeasured: set[str] = set()
    latency = (_floats(baseline.latency_ms), _floats(candidate.latency_ms))
    for q in config.latency_quantiles:
        metric = latency_metric(q)
        lower.add(metric)
        if not (latency[0].size or latency[1].size):
            unmeasured.add(metric)
        elif _enough(problems, metric, config, latency):
            _add(differences, problems, metric, quantile_difference, *latency, q, confidence=level)
    measured = {ERROR_RATE: (_ERRORS, baseline.errors, candidate.errors)}
    for column, outcome in config.outcomes.items():
        measured[outcome_metric(column, outcome)] = (
            outcome,
            baseline.outcomes.get(column),
            candidate.outcomes.get(column),
        )
    for metric, (outcome, on_baseline, on_candidate) in measured.items():
        if not outcome.higher_is_better:
            lower.add(metric)
        values = (_floats(on_baseline), _floats(on_candidate))
        if not (values[0].size or values[1].size):
            unmeasured.add(metric)
        elif _enough(problems, metric, config, values):
            _add(differences, problems, metric, _outcome_difference, outcome, *values, level)
    return Comparison(
        baseline.version,
        candidate.version,
        (baseline.rows, candidate.rows),
        differences,
        frozenset(lower),
        problems,
        _prediction_drift(config, baseline, candidate),
        paired,
        level,
        config.severity,
        frozenset(unmeasured),
    )


def _enough(
    problems: dict[str, str],
    metric: str,
    config: ComparisonConfig,
    values: tuple[FloatArray, FloatArray],
) -> bool:
    """Whether both sides have ``config.min_rows`` values of ``metric``; if not, say so."""
    sizes = (values[0].size, values[1].size)
    if min(sizes) >= config.min_rows:
        return True
    problems[metric] = (
        f"{min(sizes)} values on a side, {config.min_rows} needed "
        f"(baseline {sizes[0]}, candidate {sizes[1]})"
    )
    return False


def _add(
    differences: dict[str, Difference],
    problems: dict[str, str],
    metric: str,
    compute: Callable[..., Difference],
    *args: Any,
    **options: Any,
) -> None:
    """``differences[metric] = compute(metric, ...)``, or in ``problems`` why it cannot be."""
    try:
        differences[metric] = compute(metric, *args, **options)
    except DegenerateInputError as error:
        problems[metric] = str(error)
