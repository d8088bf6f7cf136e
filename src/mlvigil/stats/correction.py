"""Multiple-testing correction of p-values across the columns of a report."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

from mlvigil.exceptions import ConfigError, InputError

__all__ = ["Correction", "adjust_p_values", "parse_correction"]


class Correction(StrEnum):
    """How p-values are adjusted when many columns are tested at once."""

    #: Family-wise error control: ``min(1, p * m)``.
    BONFERRONI = "bonferroni"
    #: False discovery rate control (Benjamini–Hochberg step-up).
    BENJAMINI_HOCHBERG = "bh"


def parse_correction(name: Correction | str) -> Correction:
    """Turn a correction name into a :class:`Correction`.

    Raises
    ------
    ConfigError
        For an unknown name, listing the known ones.
    """
    try:
        return Correction(name)
    except ValueError:
        known = ", ".join(c.value for c in Correction)
        raise ConfigError(f"unknown correction {name!r}; use one of: {known}") from None


def adjust_p_values(
    p_values: npt.ArrayLike, correction: Correction | str
) -> npt.NDArray[np.float64]:
    """Adjust p-values for the number of tests.

    Benjamini–Hochberg gives the same values as
    ``scipy.stats.false_discovery_control(p, method="bh")``.

    Raises
    ------
    ConfigError
        For an unknown correction name.
    InputError
        For a p-value outside [0, 1] or NaN.

    Examples
    --------
    >>> adjust_p_values([0.01, 0.02, 0.5], Correction.BONFERRONI).tolist()
    [0.03, 0.06, 1.0]
    >>> adjust_p_values([0.01, 0.02, 0.5], Correction.BENJAMINI_HOCHBERG).round(3).tolist()
    [0.03, 0.03, 0.5]
    """
    correction = parse_correction(correction)
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p
    if not ((p >= 0.0) & (p <= 1.0)).all():
        raise InputError("p-values must be between 0 and 1 (no NaN)")
    if correction is Correction.BONFERRONI:
        return np.minimum(p * p.size, 1.0)
    order = np.argsort(p)
    scaled = p[order] * p.size / np.arange(1, p.size + 1)
    # Step-up: each adjusted value is the smallest scaled value at or after it.
    monotone = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(monotone, 1.0)
    return adjusted
