"""Multiple-testing correction of p-values across the columns of a report."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

__all__ = ["Correction", "adjust_p_values"]


class Correction(StrEnum):
    """How p-values are adjusted when many columns are tested at once."""

    #: Family-wise error control: ``min(1, p * m)``.
    BONFERRONI = "bonferroni"
    #: False discovery rate control (Benjamini–Hochberg step-up).
    BENJAMINI_HOCHBERG = "bh"


def adjust_p_values(p_values: npt.ArrayLike, correction: Correction) -> npt.NDArray[np.float64]:
    """Adjust p-values for the number of tests.

    Benjamini–Hochberg gives the same values as
    ``scipy.stats.false_discovery_control(p, method="bh")``.

    Examples
    --------
    >>> adjust_p_values([0.01, 0.02, 0.5], Correction.BONFERRONI).tolist()
    [0.03, 0.06, 1.0]
    >>> adjust_p_values([0.01, 0.02, 0.5], Correction.BENJAMINI_HOCHBERG).round(3).tolist()
    [0.03, 0.03, 0.5]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p
    if correction is Correction.BONFERRONI:
        return np.minimum(p * p.size, 1.0)
    order = np.argsort(p)
    scaled = p[order] * p.size / np.arange(1, p.size + 1)
    # Step-up: each adjusted value is the smallest scaled value at or after it.
    monotone = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(monotone, 1.0)
    return adjusted
