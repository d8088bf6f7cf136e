"""The frozen result every statistical drift method returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["DecisionRule", "StatTestResult"]


class DecisionRule(StrEnum):
    """How a method's threshold turns a statistic into a drift verdict."""

    #: Drift when the p-value is below the threshold (a significance level).
    P_VALUE = "p_value"
    #: Drift when the statistic is at or above the threshold (a distance).
    DISTANCE = "distance"

    def drifted(self, statistic: float, p_value: float | None, threshold: float) -> bool:
        """Apply the rule.

        Examples
        --------
        >>> DecisionRule.P_VALUE.drifted(3.1, 0.01, 0.05)
        True
        >>> DecisionRule.DISTANCE.drifted(0.05, None, 0.1)
        False
        """
        if self is DecisionRule.P_VALUE:
            if p_value is None:
                raise ValueError("a p-value rule needs a p-value")
            return p_value < threshold
        return statistic >= threshold


@dataclass(frozen=True, slots=True)
class StatTestResult:
    """Outcome of one two-sample drift method on one column.

    Attributes
    ----------
    method
        Registered method name, e.g. ``"ks"``.
    statistic
        The test statistic or distance.
    p_value
        The p-value, or ``None`` for distances that have none.
    threshold
        Significance level (p-value methods) or distance threshold.
    drifted
        The verdict: ``p_value < threshold`` or ``statistic >= threshold``.
    reference_size, current_size
        Number of values each side contributed (nulls excluded).
    new_categories, missing_categories
        Categories seen only in current, or only in reference (categorical data).
    note
        A caveat about this result, e.g. a p-value clipped by the method.
    approximation_error
        For results computed from sketches (profiles) rather than raw data: a
        bound on the statistic's absolute error; ``None`` for exact results.
    """

    method: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    reference_size: int
    current_size: int
    new_categories: tuple[str, ...] = ()
    missing_categories: tuple[str, ...] = ()
    note: str | None = None
    approximation_error: float | None = None

    @classmethod
    def judged(
        cls,
        rule: DecisionRule,
        method: str,
        statistic: float,
        p_value: float | None,
        threshold: float,
        sizes: tuple[int, int],
        *,
        new_categories: tuple[str, ...] = (),
        missing_categories: tuple[str, ...] = (),
        note: str | None = None,
        approximation_error: float | None = None,
    ) -> StatTestResult:
        """Build a result whose verdict ``rule`` derives from the statistic or p-value.

        Examples
        --------
        >>> StatTestResult.judged(DecisionRule.DISTANCE, "psi", 0.3, None, 0.1, (10, 12)).drifted
        True
        """
        return cls(
            method=method,
            statistic=statistic,
            p_value=p_value,
            threshold=threshold,
            drifted=rule.drifted(statistic, p_value, threshold),
            reference_size=sizes[0],
            current_size=sizes[1],
            new_categories=new_categories,
            missing_categories=missing_categories,
            note=note,
            approximation_error=approximation_error,
        )
