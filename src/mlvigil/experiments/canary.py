"""A canary's verdict from its guard metrics: pass, fail or inconclusive.

Each guard names a compared quantity (``accuracy``, ``latency_p99_ms``,
``converted_rate``...) and the degradation it tolerates, ``max_degradation``, in the
quantity's units. With ``δ`` the candidate's degradation (its worsening against the
baseline) and ``se`` its standard error, a guard

- **fails** when ``δ > max_degradation`` is shown at level ``alpha``, corrected for the
  number of guards (Bonferroni by default: under no change, the chance that any guard
  fails is at most ``alpha``). With no tolerance, the quantity's own one-sided test
  decides (McNemar, two-proportion z, Welch);
- **passes** when ``δ < max_degradation`` is shown at level ``alpha`` (each guard on
  its own: the canary passes only if every guard does, an intersection-union test);
- is **inconclusive** otherwise, or when a side has fewer than ``min_rows`` rows
  behind the quantity, or the quantity could not be compared.

The verdict fails if any guard fails, passes if every guard passes, and is
inconclusive otherwise. A guard with no tolerance can fail but never pass: give each
the worsening you accept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus, Severity
from mlvigil.experiments.comparison import Comparison
from mlvigil.experiments.differences import normal_tails
from mlvigil.stats.correction import Correction, adjust_p_values

__all__ = ["CanaryVerdict", "Guard", "GuardOutcome", "Verdict", "judge_canary"]


class Verdict(StrEnum):
    """A canary's verdict, and the exit code ``mlvigil canary`` gives it."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"

    @property
    def exit_code(self) -> int:
        """0 pass, 1 fail, 3 inconclusive (2 is a usage error)."""
        return {"pass": 0, "fail": 1, "inconclusive": 3}[self.value]

    @property
    def value_code(self) -> float:
        """The verdict as a gauge's value: 1 pass, 0 inconclusive, -1 fail."""
        return {"pass": 1.0, "fail": -1.0, "inconclusive": 0.0}[self.value]


_STATUS = {
    Verdict.PASS: CheckStatus.PASSED,
    Verdict.FAIL: CheckStatus.FAILED,
    Verdict.INCONCLUSIVE: CheckStatus.INCONCLUSIVE,
}


@dataclass(frozen=True)
class Guard:
    """One metric a canary must not degrade.

    Attributes
    ----------
    metric
        A compared quantity: a performance metric, ``latency_p99_ms``, an outcome's
        ``<column>_rate`` or ``<column>_mean``.
    max_degradation
        How much worse the candidate may be, in the quantity's units (0.01: one
        accuracy point; 20: twenty milliseconds).
    min_rows
        Rows each version needs behind the quantity before the guard decides.
    """

    metric: str
    max_degradation: float
    min_rows: int = 100

    def __post_init__(self) -> None:
        if not self.max_degradation >= 0:
            raise ValueError(f"guard {self.metric}: max_degradation must be 0 or more")


@dataclass(frozen=True)
class GuardOutcome:
    """How one guard decided, and why."""

    guard: Guard
    verdict: Verdict
    degradation: float | None
    p_fail: float | None
    """P-value of "degraded beyond the tolerance", corrected for the guards."""
    p_pass: float | None
    """P-value of "within the tolerance"."""
    reason: str

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON view."""
        return {
            "metric": self.guard.metric,
            "max_degradation": self.guard.max_degradation,
            "min_rows": self.guard.min_rows,
            "verdict": self.verdict.value,
            "degradation": self.degradation,
            "p_fail": self.p_fail,
            "p_pass": self.p_pass,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CanaryVerdict:
    """The canary's verdict in one window, with each guard's."""

    baseline: str
    candidate: str
    verdict: Verdict
    guards: tuple[GuardOutcome, ...]
    alpha: float

    def result(self, severity: Severity = Severity.CRITICAL) -> CheckResult:
        """The verdict as a result of kind ``canary`` (value 1 pass, 0 inconclusive, -1 fail)."""
        deciding = [g for g in self.guards if g.verdict is self.verdict] or list(self.guards)
        reasons = "; ".join(f"{g.guard.metric}: {g.reason}" for g in deciding)
        return CheckResult(
            CheckKind.CANARY,
            "canary_verdict",
            None,
            self.verdict.value_code,
            None,
            _STATUS[self.verdict],
            severity=severity,
            message=f"canary {self.candidate} against {self.baseline}: {self.verdict}: {reasons}",
            details={
                "baseline_version": self.baseline,
                "candidate_version": self.candidate,
                "verdict": self.verdict.value,
                "alpha": self.alpha,
                "guards": [g.to_dict() for g in self.guards],
            },
        )


def _one_sided(degradation: float, margin: float, error: float) -> tuple[float, float]:
    """P-values of "degraded beyond ``margin``" and "within ``margin``"."""
    if error > 0:
        return normal_tails((degradation - margin) / error)
    return (0.0 if degradation > margin else 1.0), (0.0 if degradation < margin else 1.0)


def judge_canary(
    comparison: Comparison,
    guards: Sequence[Guard],
    *,
    alpha: float = 0.05,
    correction: Correction | str = Correction.BONFERRONI,
) -> CanaryVerdict:
    """The verdict of ``comparison``'s candidate, by ``guards``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlvigil.experiments.comparison import Arm, ComparisonConfig, compare_arms
    >>> rng = np.random.default_rng(0)
    >>> config = ComparisonConfig(latency_quantiles=(0.99,))
    >>> same = compare_arms(config, Arm("v1", 20000, latency_ms=rng.gamma(4, 10, 20000)),
    ...                     Arm("v2", 20000, latency_ms=rng.gamma(4, 10, 20000)))
    >>> judge_canary(same, [Guard("latency_p99_ms", max_degradation=10)]).verdict
    <Verdict.PASS: 'pass'>
    >>> slow = compare_arms(config, Arm("v1", 20000, latency_ms=rng.gamma(4, 10, 20000)),
    ...                     Arm("v2", 20000, latency_ms=rng.gamma(4, 14, 20000)))
    >>> judge_canary(slow, [Guard("latency_p99_ms", max_degradation=10)]).verdict
    <Verdict.FAIL: 'fail'>
    """
    if not guards:
        raise ValueError("a canary needs at least one guard")
    outcomes: dict[int, GuardOutcome] = {}
    tested: list[tuple[int, float, float, float]] = []  # guard, degradation, p fail, p pass
    for index, guard in enumerate(guards):
        undecided = _undecided(comparison, guard)
        if undecided is not None:
            outcomes[index] = undecided
            continue
        d = comparison.differences[guard.metric]
        lower = guard.metric in comparison.lower_is_better
        degradation = d.difference if lower else -d.difference
        p_fail, p_pass = _one_sided(degradation, guard.max_degradation, d.standard_error)
        if guard.max_degradation == 0:
            p_fail = d.p_worse(lower)  # the quantity's own test, exact where it is
        tested.append((index, degradation, p_fail, p_pass))
    corrected = adjust_p_values([p_fail for _, _, p_fail, _ in tested], correction).tolist()
    for (index, degradation, _, p_pass), p_fail in zip(tested, corrected, strict=True):
        outcomes[index] = _judged(guards[index], degradation, p_fail, p_pass, alpha)
    ordered = tuple(outcomes[index] for index in range(len(guards)))
    verdicts = {o.verdict for o in ordered}
    if Verdict.FAIL in verdicts:
        verdict = Verdict.FAIL
    elif verdicts == {Verdict.PASS}:
        verdict = Verdict.PASS
    else:
        verdict = Verdict.INCONCLUSIVE
    return CanaryVerdict(comparison.baseline, comparison.candidate, verdict, ordered, alpha)


def _undecided(comparison: Comparison, guard: Guard) -> GuardOutcome | None:
    """The guard's outcome when it cannot be tested: unknown, not compared, too few rows."""
    if guard.metric not in comparison.differences:
        reason = comparison.problems.get(guard.metric)
        if guard.metric in comparison.unmeasured:
            reason = "no values in either version's records"
        elif reason is None:
            known = sorted({*comparison.differences, *comparison.problems})
            reason = f"not a compared quantity (compared: {', '.join(known) or 'none'})"
        return GuardOutcome(guard, Verdict.INCONCLUSIVE, None, None, None, reason)
    d = comparison.differences[guard.metric]
    rows = min(d.n_baseline, d.n_candidate)
    if rows < guard.min_rows:
        reason = f"{rows} rows on a side, {guard.min_rows} needed"
        return GuardOutcome(guard, Verdict.INCONCLUSIVE, None, None, None, reason)
    return None


def _judged(
    guard: Guard, degradation: float, p_fail: float, p_pass: float, alpha: float
) -> GuardOutcome:
    tolerance = f"{guard.max_degradation:g}"
    if p_fail <= alpha:
        verdict, reason = Verdict.FAIL, f"degraded by {degradation:.4g}, beyond {tolerance}"
    elif p_pass <= alpha:
        verdict, reason = Verdict.PASS, f"degraded by {degradation:.4g}, within {tolerance}"
    else:
        verdict = Verdict.INCONCLUSIVE
        reason = (
            f"degraded by {degradation:.4g}: neither surely beyond nor surely within {tolerance}"
        )
    return GuardOutcome(guard, verdict, degradation, p_fail, p_pass, reason)
