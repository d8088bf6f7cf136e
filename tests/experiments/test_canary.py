"""Canary verdicts: few false fails under no change, real degradations caught, honest doubt."""

from __future__ import annotations

import numpy as np
import pytest

from mlvigil.checks.performance import PerformanceConfig
from mlvigil.checks.result import CheckKind, CheckStatus
from mlvigil.experiments import (
    Arm,
    ComparisonConfig,
    Guard,
    Labelled,
    Verdict,
    compare_arms,
    judge_canary,
    pair,
)

CONFIG = ComparisonConfig(
    performance=PerformanceConfig(metrics=("accuracy",)), latency_quantiles=(0.99,)
)


def _arm(version: str, rng: np.random.Generator, rows: int, accuracy: float, scale: float) -> Arm:
    truth = rng.integers(0, 2, rows)
    right = rng.random(rows) < accuracy
    predicted = np.where(right, truth, 1 - truth)
    labelled = Labelled([str(v) for v in truth], [str(v) for v in predicted])
    return Arm(version, rows, labelled, latency_ms=rng.gamma(4.0, scale, rows))


def _verdicts(
    runs: int, rows: int, candidate_accuracy: float, guards: list[Guard]
) -> list[Verdict]:
    verdicts = []
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        base = _arm("v1", rng, rows, 0.90, 10.0)
        cand = _arm("v2", rng, rows, candidate_accuracy, 10.0)
        verdicts.append(judge_canary(compare_arms(CONFIG, base, cand), guards).verdict)
    return verdicts


GUARDS = [Guard("accuracy", 0.0), Guard("latency_p99_ms", 0.0)]


def test_false_fail_rate_under_no_change_is_at_most_alpha() -> None:
    verdicts = _verdicts(300, 2000, 0.90, GUARDS)
    false_fails = verdicts.count(Verdict.FAIL) / len(verdicts)
    # Bonferroni over two guards at 5%: at most 5%, here within 2 standard errors.
    assert false_fails <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 300)


def test_a_two_point_accuracy_drop_fails_at_ten_thousand_rows_an_arm() -> None:
    verdicts = _verdicts(40, 10_000, 0.88, GUARDS)
    assert verdicts.count(Verdict.FAIL) / len(verdicts) >= 0.9


def test_a_canary_within_its_tolerances_passes_and_says_why() -> None:
    guards = [Guard("accuracy", 0.02), Guard("latency_p99_ms", 10.0)]
    rng = np.random.default_rng(1)
    comparison = compare_arms(
        CONFIG, _arm("v1", rng, 20_000, 0.9, 10), _arm("v2", rng, 20_000, 0.9, 10)
    )
    verdict = judge_canary(comparison, guards)
    assert verdict.verdict is Verdict.PASS
    result = verdict.result()
    assert (result.check, result.status, result.value) == (
        CheckKind.CANARY,
        CheckStatus.PASSED,
        1.0,
    )
    assert [g["verdict"] for g in result.details["guards"]] == ["pass", "pass"]
    assert "within 0.02" in result.message


def test_too_few_rows_are_inconclusive_never_a_pass() -> None:
    rng = np.random.default_rng(2)
    comparison = compare_arms(CONFIG, _arm("v1", rng, 60, 0.9, 10), _arm("v2", rng, 60, 0.9, 10))
    verdict = judge_canary(comparison, [Guard("accuracy", 0.05, min_rows=100)])
    assert verdict.verdict is Verdict.INCONCLUSIVE
    assert verdict.verdict.exit_code == 3
    assert verdict.result().status is CheckStatus.INCONCLUSIVE
    assert "60 rows on a side, 100 needed" in verdict.result().message


def test_an_unknown_guard_metric_is_inconclusive_and_names_the_compared_ones() -> None:
    rng = np.random.default_rng(3)
    comparison = compare_arms(CONFIG, _arm("v1", rng, 500, 0.9, 10), _arm("v2", rng, 500, 0.9, 10))
    verdict = judge_canary(comparison, [Guard("acuracy", 0.01)])
    assert verdict.verdict is Verdict.INCONCLUSIVE
    assert "compared: accuracy, latency_p99_ms" in verdict.guards[0].reason


def test_a_slow_canary_fails_whatever_its_accuracy() -> None:
    rng = np.random.default_rng(4)
    base, cand = _arm("v1", rng, 5000, 0.9, 10), _arm("v2", rng, 5000, 0.95, 16)
    verdict = judge_canary(
        compare_arms(CONFIG, base, cand), [Guard("accuracy", 0.01), Guard("latency_p99_ms", 5.0)]
    )
    assert verdict.verdict is Verdict.FAIL
    assert verdict.verdict.exit_code == 1
    assert [g.verdict for g in verdict.guards] == [Verdict.PASS, Verdict.FAIL]


def test_a_negative_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match="max_degradation must be 0 or more"):
        Guard("accuracy", -0.01)


def test_shadow_rows_are_compared_pairwise() -> None:
    rng = np.random.default_rng(5)
    ids = np.array([f"r{i}" for i in range(3000)])
    truth = rng.integers(0, 2, 3000).astype(str)
    base = np.where(rng.random(3000) < 0.9, truth, np.where(truth == "1", "0", "1"))
    cand = np.where(rng.random(3000) < 0.05, np.where(base == "1", "0", "1"), base)
    order = rng.permutation(3000)  # the candidate's rows arrive in another order
    paired = pair("classification", (ids, base), (ids[order], cand[order]), (ids, truth))
    assert paired.pairs == 3000
    assert paired.disagreement is not None
    assert paired.disagreement.rate == pytest.approx(np.mean(base != cand))
    accuracy = paired.differences["accuracy"]
    assert accuracy.difference == pytest.approx(np.mean(cand == truth) - np.mean(base == truth))
    assert accuracy.method == "McNemar's exact test"


def test_versions_that_scored_no_common_row_say_so() -> None:
    paired = pair("classification", (["a", "b"], ["1", "0"]), (["c"], ["1"]))
    assert paired.pairs == 0
    assert "no row in common" in paired.problems["accuracy"]
