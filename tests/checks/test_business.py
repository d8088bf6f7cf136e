"""Business outcomes: rates and means over the known values, judged by bounds or limits."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mlvigil.checks.business import Outcome, business_results
from mlvigil.checks.chunks import size_chunks
from mlvigil.checks.result import CheckStatus, Severity
from mlvigil.checks.thresholds import learn_outcome_limits


def test_a_rate_and_a_mean_are_over_the_known_values_with_their_sums() -> None:
    table = pa.table({"converted": [1.0, 0.0, None, 1.0], "revenue": [10.0, None, 30.0, None]})
    outcomes = {"converted": Outcome("rate"), "revenue": Outcome("mean")}
    results = {r.metric: r for r in business_results(outcomes, table)}
    assert results["converted_rate"].value == pytest.approx(2 / 3)
    assert results["converted_rate"].details["known"] == 3
    assert results["converted_sum"].value == 2.0
    assert results["revenue_mean"].value == 20.0
    assert results["revenue_sum"].value == 40.0
    assert all(r.status is CheckStatus.PASSED for r in results.values())


def test_an_outcome_outside_its_bounds_fails_against_the_bound_it_crossed() -> None:
    table = pa.table({"converted": [0.0] * 95 + [1.0] * 5})
    [rate, _] = business_results({"converted": Outcome("rate", minimum=0.08)}, table)
    assert (rate.status, rate.threshold) == (CheckStatus.FAILED, 0.08)
    assert "below 0.08" in rate.message


def test_a_rate_holding_other_values_is_an_error_not_a_rate() -> None:
    table = pa.table({"clicked": [0.0, 1.0, 2.0]})
    [result] = business_results({"clicked": Outcome("rate")}, table)
    assert result.status is CheckStatus.ERROR
    assert result.value is None
    assert "0 or 1 per prediction, got [2.0]" in result.message


def test_a_window_without_known_outcomes_says_so_without_paging() -> None:
    table = pa.table({"revenue": pa.nulls(4, pa.float64())})
    [result] = business_results({"revenue": Outcome("mean")}, table)
    assert (result.status, result.severity) == (CheckStatus.ERROR, Severity.INFO)
    assert "no revenue known yet" in result.message


def test_learned_limits_rarely_fail_an_unchanged_rate_and_catch_a_halved_one() -> None:
    rng = np.random.default_rng(12)
    reference = pa.table({"converted": (rng.random(9_000) < 0.2).astype(float)})
    [outcome] = learn_outcome_limits(
        {"converted": Outcome("rate")}, reference, size_chunks(9_000, 300)
    ).values()
    assert outcome.limits is not None

    def failed(rate: float) -> float:
        windows = [
            business_results(
                {"converted": outcome},
                pa.table({"converted": (rng.random(300) < rate).astype(float)}),
            )[0]
            for _ in range(1_000)
        ]
        return float(np.mean([w.status is CheckStatus.FAILED for w in windows]))

    assert failed(0.2) <= 0.01  # false alarms under no change (3 sd: about 0.1%)
    assert failed(0.1) >= 0.95
    assert outcome.limits.upper > 0.2  # a better rate never fails: one side is judged
