"""Drift explained: which columns contribute most to a window's drift.

"12 columns drifted" does not say what to fix. Each dataset drift result
(``drift_share``) lists every tested column with its drift score (1 at its threshold,
see :func:`~mlvigil.checks.drift_report.drift_score`). Where a domain classifier also
ran on the window, :func:`explain_drift` adds each column's importance in telling the
window from the reference, so a change in how columns move together (which no
univariate score shows) still names its columns. Columns are ranked by importance
when the domain classifier found drift, else by drift score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from mlvigil.checks.details import DriftShareDetails, MultivariateDetails
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus

__all__ = ["DOMAIN_CLASSIFIER", "explain_drift"]

#: The metric of the domain classifier's result.
DOMAIN_CLASSIFIER = "domain_classifier_auc"

Contribution = tuple[str, float | None, float | None]


def _domain_result(results: Sequence[CheckResult]) -> CheckResult | None:
    for result in results:
        if (
            result.check is CheckKind.DRIFT
            and result.metric == DOMAIN_CLASSIFIER
            and result.column is None
            and result.segment is None
            and isinstance(result.details, MultivariateDetails)
        ):
            return result
    return None


def _ranked(
    contributions: Sequence[Contribution], importances: dict[str, float], by_importance: bool
) -> tuple[Contribution, ...]:
    merged = {
        column: (column, score, importances.get(column)) for column, score, _ in contributions
    }
    for column, importance in importances.items():
        merged.setdefault(column, (column, None, importance))

    def key(item: Contribution) -> tuple[float, float, str]:
        column, score, importance = item
        first, second = (importance, score) if by_importance else (score, importance)
        return (-_size(first), -_size(second), column)

    return tuple(sorted(merged.values(), key=key))


def _size(value: float | None) -> float:
    return -1.0 if value is None else value


def explain_drift(results: Sequence[CheckResult]) -> list[CheckResult]:
    """``results`` with the dataset drift result's contributions completed by importances.

    Examples
    --------
    >>> from mlvigil.checks.details import DriftShareDetails, MultivariateDetails
    >>> share = CheckResult("drift", "drift_share", None, 0.0, 0.5, CheckStatus.PASSED,
    ...     details=DriftShareDetails(tested_columns=2,
    ...                               contributions=(("a", 0.4, None), ("b", 0.3, None))))
    >>> domain = CheckResult("drift", "domain_classifier_auc", None, 0.8, 0.6,
    ...     CheckStatus.FAILED, details=MultivariateDetails(
    ...         method="domain_classifier", importances=(("b", 0.7), ("a", 0.1))))
    >>> explain_drift([share, domain])[0].details.contributions
    (('b', 0.3, 0.7), ('a', 0.4, 0.1))
    """
    domain = _domain_result(results)
    if domain is None:
        return list(results)
    assert isinstance(domain.details, MultivariateDetails)
    importances = dict(domain.details.importances)
    drifted = domain.status is CheckStatus.FAILED
    explained = []
    for result in results:
        details = result.details
        if result.metric == "drift_share" and isinstance(details, DriftShareDetails):
            ranked = _ranked(details.contributions, importances, drifted)
            result = replace(result, details=replace(details, contributions=ranked))
        explained.append(result)
    return explained
