"""Two versions on the same rows (a shadow deployment): paired tests and disagreement.

When both versions score the same ids, comparing them row by row removes the
difference between their traffic: McNemar's exact test on who was right (a
classifier), the paired t test on the absolute errors (a regressor), and the share of
rows where they disagree, with its Wilson interval. An id a version scored more than
once counts with its first prediction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlvigil.checks._common import error_result
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.experiments.differences import (
    Difference,
    mcnemar_difference,
    paired_mean_difference,
    wilson_interval,
)
from mlvigil.stats.samples import DegenerateInputError

__all__ = ["Paired", "pair"]


@dataclass(frozen=True)
class Disagreement:
    """The share of paired rows the versions predicted differently, with its interval."""

    rate: float
    low: float
    high: float
    pairs: int


@dataclass(frozen=True)
class Paired:
    """Comparisons on the rows both versions scored.

    Attributes
    ----------
    pairs
        Rows both versions scored.
    differences
        ``accuracy`` (McNemar) for a classifier, ``mae`` (paired t) for a regressor,
        on the labelled pairs; ``prediction`` (paired t on the predictions) for a
        regressor, on every pair.
    disagreement
        For a classifier: the share of pairs predicted differently.
    problems
        Quantity -> why it has no value.
    """

    pairs: int
    differences: Mapping[str, Difference]
    disagreement: Disagreement | None
    problems: Mapping[str, str]

    def results(self, versions: Mapping[str, str], severity: Severity) -> list[CheckResult]:
        """The paired comparisons as results of kind ``comparison``."""
        results = []
        for metric, d in self.differences.items():
            lower_is_better = metric == "mae"
            worse = d.low > 0 if lower_is_better else d.high < 0
            if metric == "prediction":
                worse = False  # a shift of a regressor's predictions is neither
            results.append(
                CheckResult(
                    CheckKind.COMPARISON,
                    f"paired_{metric}_difference",
                    None,
                    d.difference,
                    None,
                    CheckStatus.FAILED if worse else CheckStatus.PASSED,
                    severity=severity,
                    message=(
                        f"{metric} on {d.n_baseline} shared rows: {d.difference:+.3g} "
                        f"({d.method}, p={d.p_value:.3g})"
                    ),
                    details={**versions, **d.to_dict(), "lower_is_better": lower_is_better},
                )
            )
        if self.disagreement is not None:
            share = self.disagreement
            results.append(
                CheckResult(
                    CheckKind.COMPARISON,
                    "disagreement_rate",
                    None,
                    share.rate,
                    None,
                    CheckStatus.PASSED,
                    severity=severity,
                    message=(
                        f"the versions predict differently on {share.rate:.2%} of "
                        f"{share.pairs} shared rows"
                    ),
                    details={
                        **versions,
                        "low": share.low,
                        "high": share.high,
                        "pairs": share.pairs,
                    },
                )
            )
        results.extend(
            error_result(
                CheckKind.COMPARISON,
                f"paired_{metric}_difference",
                None,
                reason,
                severity=Severity.WARNING,
                baseline_version=versions["baseline_version"],
                candidate_version=versions["candidate_version"],
            )
            for metric, reason in self.problems.items()
        )
        return results


def _first(ids: npt.ArrayLike) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp]]:
    """The distinct ids, and the position of each one's first row."""
    values, first = np.unique(np.asarray(ids, dtype=object).astype(str), return_index=True)
    return values, first


def pair(
    task: Literal["classification", "regression"],
    baseline: tuple[npt.ArrayLike, npt.ArrayLike],
    candidate: tuple[npt.ArrayLike, npt.ArrayLike],
    labels: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    *,
    confidence: float = 0.95,
) -> Paired:
    """Pair the versions' rows by id and compare them row by row.

    Parameters
    ----------
    task
        ``classification`` (predictions are classes, compared as given) or
        ``regression``.
    baseline, candidate
        Each version's ``(ids, predictions)``.
    labels
        ``(ids, labels)`` of the labelled rows (either version's: an id has one label).
    confidence
        Level of the intervals.

    Examples
    --------
    >>> ids = [f"r{i}" for i in range(200)]
    >>> truth = ["1", "0"] * 100
    >>> paired = pair("classification", (ids, truth), (ids, ["1"] * 200), (ids, truth))
    >>> paired.disagreement.rate, round(paired.differences["accuracy"].difference, 2)
    (0.5, -0.5)
    """
    ids_b, first_b = _first(baseline[0])
    ids_c, first_c = _first(candidate[0])
    shared, at_b, at_c = np.intersect1d(ids_b, ids_c, assume_unique=True, return_indices=True)
    rows_b, rows_c = first_b[at_b], first_c[at_c]
    predicted_b = np.asarray(baseline[1], dtype=object)[rows_b]
    predicted_c = np.asarray(candidate[1], dtype=object)[rows_c]
    differences: dict[str, Difference] = {}
    problems: dict[str, str] = {}
    disagreement = None
    if shared.size == 0:
        reason = "the versions scored no row in common (no id in both)"
        return Paired(0, {}, None, {("accuracy" if task == "classification" else "mae"): reason})
    if task == "classification":
        differing = int(np.sum(predicted_b != predicted_c))
        low, high = wilson_interval(differing, shared.size, confidence=confidence)
        disagreement = Disagreement(differing / shared.size, low, high, int(shared.size))
    else:
        differences["prediction"] = paired_mean_difference(
            "prediction",
            predicted_b.astype(float),
            predicted_c.astype(float),
            confidence=confidence,
        )
    metric = "accuracy" if task == "classification" else "mae"
    if labels is None:
        problems[metric] = "no labelled row in common yet"
        return Paired(int(shared.size), differences, disagreement, problems)
    label_ids, first_label = _first(labels[0])
    _, at_shared, at_label = np.intersect1d(
        shared, label_ids, assume_unique=True, return_indices=True
    )
    truth = np.asarray(labels[1], dtype=object)[first_label[at_label]]
    kept = np.array([t is not None for t in truth.tolist()], dtype=bool)
    at_shared, truth = at_shared[kept], truth[kept]
    try:
        if task == "classification":
            differences[metric] = mcnemar_difference(
                metric,
                predicted_b[at_shared] == truth,
                predicted_c[at_shared] == truth,
                confidence=confidence,
            )
        else:
            actual = truth.astype(float)
            differences[metric] = paired_mean_difference(
                metric,
                np.abs(predicted_b[at_shared].astype(float) - actual),
                np.abs(predicted_c[at_shared].astype(float) - actual),
                confidence=confidence,
            )
    except DegenerateInputError as error:
        problems[metric] = str(error)
    return Paired(int(shared.size), differences, disagreement, problems)
