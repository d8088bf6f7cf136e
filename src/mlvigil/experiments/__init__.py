"""Model versions compared: champion/challenger, canary verdicts, shadow deployments.

The pure core of version comparisons: :func:`compare_arms` compares a candidate
version with a baseline on their own rows of a window (performance, latency, business
outcomes, prediction drift), :func:`pair` on the rows both scored, and
:func:`judge_canary` turns a comparison into a pass / fail / inconclusive verdict.
"""

from mlvigil.experiments.canary import CanaryVerdict, Guard, GuardOutcome, Verdict, judge_canary
from mlvigil.experiments.comparison import (
    Arm,
    Comparison,
    ComparisonConfig,
    Outcome,
    compare_arms,
)
from mlvigil.experiments.differences import Difference
from mlvigil.experiments.labelled import Labelled
from mlvigil.experiments.paired import Paired, pair

__all__ = [
    "Arm",
    "CanaryVerdict",
    "Comparison",
    "ComparisonConfig",
    "Difference",
    "Guard",
    "GuardOutcome",
    "Labelled",
    "Outcome",
    "Paired",
    "Verdict",
    "compare_arms",
    "judge_canary",
    "pair",
]
