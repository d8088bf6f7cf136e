"""The time-based error ratio agrees with counting second by second, and a timeline
updated with re-evaluated windows equals one built from the final verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from mlvigil.slo import SLOModel
from mlvigil.slo.budget import Timeline, budget_status

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def random_timeline(seed: int) -> Timeline:
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.choice(np.arange(0, 5_000), size=40, replace=False)).astype(float)
    return Timeline(starts, rng.random(40) < 0.7)


def counted(line: Timeline, since: int, until: int) -> float | None:
    """The share of whole seconds in [since, until) under a bad verdict, one by one."""
    bad = total = 0
    for second in range(since, until):
        held = np.flatnonzero(line.starts <= second)
        if len(held):
            total += 1
            bad += not line.good[held[-1]]
    return None if total == 0 else bad / total


@pytest.mark.parametrize("seed", range(5))
def test_error_ratios_agree_with_counting_second_by_second(seed):
    line = random_timeline(seed)
    rng = np.random.default_rng(100 + seed)
    for _ in range(20):
        since, until = sorted(int(v) for v in rng.integers(-500, 6_000, 2))
        expected = counted(line, since, until)
        got = line.error_ratio(since, until)
        assert (got is None) == (expected is None)
        if expected is not None:
            assert got == pytest.approx(expected)


def test_an_updated_timeline_equals_one_built_from_the_final_verdicts():
    line = random_timeline(7)
    redone = line.starts[[5, 6, 30]]
    # Window 6 is judged again (now bad), window 5 gets no verdict (its check errored),
    # window 30 keeps its verdict, and a new window ends after the last.
    fresh = Timeline(
        np.array([line.starts[6], line.starts[30], 6_000.0]),
        np.array([False, line.good[30], True]),
    )
    updated = line.updated(redone, fresh, since=-1.0)
    keep = np.ones(len(line.starts), dtype=bool)
    keep[[5, 6, 30]] = False
    starts = np.concatenate((line.starts[keep], fresh.starts))
    good = np.concatenate((line.good[keep], fresh.good))
    order = np.argsort(starts)
    np.testing.assert_array_equal(updated.starts, starts[order])
    np.testing.assert_array_equal(updated.good, good[order])
    # Trimmed to a look-back, the verdict holding at its start stays.
    trimmed = line.updated(None, Timeline(np.empty(0), np.empty(0, dtype=bool)), since=2_500.0)
    assert trimmed.starts[0] <= 2_500.0 < trimmed.starts[1]
    assert trimmed.error_ratio(2_500.0, 5_000.0) == line.error_ratio(2_500.0, 5_000.0)


def test_a_budget_is_whole_under_good_verdicts_and_spent_at_the_objectives_rate():
    slo = SLOModel.model_validate(
        {"name": "s", "model": "m", "objective": 99, "period": "1d", "sli": {"drift": {}}}
    ).resolve()
    now = T0 + timedelta(days=1)
    good = Timeline(np.array([T0.timestamp()]), np.array([True]))
    assert budget_status(slo, good, now).budget_remaining == 1.0
    # Bad for exactly 1% of the day: the whole budget, and no alert holds at the end.
    bad_start = (now - timedelta(minutes=14.4 + 60)).timestamp()
    line = Timeline(
        np.array([T0.timestamp(), bad_start, bad_start + 14.4 * 60]),
        np.array([True, False, True]),
    )
    status = budget_status(slo, line, now)
    assert status.budget_remaining == pytest.approx(0.0, abs=1e-9)
    assert not status.page
