"""Multivariate findings as :class:`~mlvigil.checks.result.CheckResult` rows.

One builder per method turns its measurement into a drift result with
:class:`~mlvigil.checks.details.MultivariateDetails` and a score on the scale every
drift result shares (1 at the threshold, above it drift): reconstruction error over its
upper limit, ``(AUC − 0.5) / (threshold − 0.5)`` for the domain classifier, and
``log p / log alpha`` for MMD.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from mlvigil.checks.details import MultivariateDetails
from mlvigil.checks.limits import SIGMAS
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.multivariate.domain import NULL_SIGMAS, DomainResult
from mlvigil.multivariate.mmd import MMDResult
from mlvigil.multivariate.reconstruction import ReconstructionModel

__all__ = ["domain_result", "mmd_result", "reconstruction_result"]

#: The metric each method's results carry.
METRICS = {
    "reconstruction_error": "reconstruction_error",
    "domain_classifier": "domain_classifier_auc",
    "mmd": "mmd",
}

#: How many of the most separating columns a domain classifier's message names.
_NAMED = 3


def _status(drifted: bool) -> CheckStatus:
    return CheckStatus.FAILED if drifted else CheckStatus.PASSED


def _verdict(drifted: bool) -> str:
    return "drift" if drifted else "no drift"


def reconstruction_result(
    model: ReconstructionModel,
    errors: Sequence[float],
    *,
    columns: Sequence[str],
    severity: Severity,
) -> CheckResult:
    """The result of a window whose rows have these reconstruction errors."""
    rows = len(errors)
    value = math.fsum(errors) / rows
    error = model.standard_error(rows)
    upper, lower = model.upper(rows), model.lower(rows)
    drifted = value > upper
    kind = "learned limit" if model.limits is not None else "limit"
    message = (
        f"mean reconstruction error {value:.4g} ({'>' if drifted else '<='} {kind} "
        f"{upper:.4g}): {_verdict(drifted)}"
    )
    if value < lower:
        message += (
            f"; below the lower limit {lower:.4g}: the rows fit the reference's structure "
            "more closely than its own chunks do (not a drift)"
        )
    if model.limits is None:
        message += (
            "; limit = reference mean + 3 standard errors at this window's rows (no "
            "reference chunks of the window's size to learn from)"
        )
    elif model.limits.note:
        message += f"; {model.limits.note}"
    return CheckResult(
        check=CheckKind.DRIFT,
        metric=METRICS["reconstruction_error"],
        column=None,
        value=value,
        threshold=upper,
        status=_status(drifted),
        severity=severity,
        message=message,
        score=value / upper if upper > 0 else None,
        details=MultivariateDetails(
            method="reconstruction_error",
            rows=rows,
            reference_rows=model.reference_rows,
            columns=tuple(columns),
            standard_error=error,
            lower_band=max(0.0, value - SIGMAS * error),
            upper_band=value + SIGMAS * error,
            limits=model.limits,
            components=len(model.components),
            variance_kept=model.variance_kept,
        ),
    )


def domain_result(
    found: DomainResult, *, column: str | None, columns: Sequence[str], severity: Severity
) -> CheckResult:
    """The result of a domain classifier on one window."""
    drifted = found.drifted
    message = (
        f"domain classifier AUC {found.auc:.4f} ({'>' if drifted else '<='} "
        f"{found.threshold:.4f} = 0.5 + {NULL_SIGMAS:g} standard errors of no difference): "
        f"{_verdict(drifted)}"
    )
    separating = [name for name, importance in found.importances if importance > 0]
    if drifted and column is None and separating:
        message += f"; separated most by {', '.join(separating[:_NAMED])}"
    band = SIGMAS * found.standard_error
    return CheckResult(
        check=CheckKind.DRIFT,
        metric=METRICS["domain_classifier"],
        column=column,
        value=found.auc,
        threshold=found.threshold,
        status=_status(drifted),
        severity=severity,
        message=message,
        score=max(0.0, (found.auc - 0.5) / (found.threshold - 0.5)),
        details=MultivariateDetails(
            method="domain_classifier",
            rows=found.rows,
            reference_rows=found.reference_rows,
            columns=tuple(columns),
            standard_error=found.standard_error,
            lower_band=max(0.0, found.auc - band),
            upper_band=min(1.0, found.auc + band),
            importances=found.importances,
        ),
    )


def mmd_result(
    found: MMDResult,
    *,
    alpha: float,
    column: str | None,
    columns: Sequence[str],
    severity: Severity,
) -> CheckResult:
    """The result of an MMD² permutation test on one window."""
    drifted = found.p_value < alpha
    message = (
        f"MMD² {found.mmd2:.4g}, permutation p-value {found.p_value:.3g} "
        f"({'<' if drifted else '>='} {alpha:g}, {found.permutations} permutations, "
        f"bandwidth {found.bandwidth:.3g}): {_verdict(drifted)}"
    )
    return CheckResult(
        check=CheckKind.DRIFT,
        metric=METRICS["mmd"],
        column=column,
        value=found.mmd2,
        threshold=alpha,
        status=_status(drifted),
        severity=severity,
        message=message,
        score=math.log(found.p_value) / math.log(alpha),
        details=MultivariateDetails(
            method="mmd",
            rows=found.rows,
            reference_rows=found.reference_rows,
            columns=tuple(columns),
            p_value=found.p_value,
        ),
    )
