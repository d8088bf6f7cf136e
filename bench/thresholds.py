"""False alarms and detection of learned thresholds beside fixed ones, drift and performance.

A reference of ``--reference-rows`` rows is drawn from known distributions (normal,
lognormal and exponential numbers; a 5-category and a binary column). Windows of
``--window-rows`` rows are then drawn ``--windows`` times:

- from the same distributions (no change): the share of (window, column) verdicts
  that say "drift" is the **false-alarm rate**;
- with a small shift in every column (means by ``shift`` standard deviations, the
  first category's share by ``shift`` / 2): the share that say "drift" is the
  **detection rate**, per shift.

Both are measured with the methods' fixed default thresholds and with thresholds
learned from reference chunks of the window's size (``mean + 3 std`` of each column's
statistic over the chunks, each compared with the rest of the reference). The same is
done for accuracy: a classifier right 85% of the time on the reference, windows where it
stays at 85% (false alarms) or drops by ``--accuracy-drops`` points (detection), judged
by a fixed baseline (the reference's accuracy - 0.05) and by learned limits.

Rates are exact counts over seeded draws (the same every run); ``learn_seconds`` and
``evaluate_seconds`` are medians over ``--runs`` runs. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa

from mlvigil.checks.chunks import size_chunks
from mlvigil.checks.drift import DriftConfig, detect_drift, prepare_reference
from mlvigil.checks.performance import PerformanceConfig, measure, performance_results
from mlvigil.checks.thresholds import (
    apply_drift_limits,
    learn_drift_limits,
    learn_performance_limits,
)
from mlvigil.schema import ColumnType

SCHEMA = {
    "normal": ColumnType.NUMERICAL,
    "lognormal": ColumnType.NUMERICAL,
    "exponential": ColumnType.NUMERICAL,
    "grade": ColumnType.CATEGORICAL,
    "member": ColumnType.CATEGORICAL,
}
GRADES = np.array(["A", "B", "C", "D", "E"])
GRADE_SHARES = np.array([0.3, 0.25, 0.2, 0.15, 0.1])


def draw(rows: int, rng: np.random.Generator, shift: float = 0.0) -> pa.Table:
    """One sample; ``shift`` moves every column a little (in standard deviations)."""
    grade_shares = GRADE_SHARES.copy()
    grade_shares[0] += shift / 2
    grade_shares[1:] -= shift / 2 / (len(grade_shares) - 1)
    lognormal_sd = np.sqrt((np.e - 1) * np.e)  # of exp(N(0, 1))
    return pa.table(
        {
            "normal": rng.normal(shift, 1.0, rows),
            "lognormal": np.exp(rng.normal(0.0, 1.0, rows)) + shift * lognormal_sd,
            "exponential": rng.exponential(1.0, rows) + shift,
            "grade": GRADES[rng.choice(len(GRADES), rows, p=grade_shares)],
            "member": np.where(rng.random(rows) < 0.4 + shift / 2, "yes", "no"),
        }
    )


def drift_rates(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    reference = draw(args.reference_rows, rng)
    columns = list(SCHEMA)
    learn_times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        learned = learn_drift_limits(
            reference,
            size_chunks(args.reference_rows, args.window_rows),
            columns=columns,
            schema=SCHEMA,
            config=DriftConfig(),
        )
        learn_times.append(time.perf_counter() - started)
    prepared = prepare_reference(reference, schema=SCHEMA)
    fixed_config, learned_config = DriftConfig(), learned.config(DriftConfig(), columns)
    shifts = [0.0, *args.shifts]
    flagged = {kind: dict.fromkeys(shifts, 0) for kind in ("fixed", "learned")}
    evaluate_times = []
    for shift in shifts:
        print(f"  drift, shift {shift}", file=sys.stderr)
        for _ in range(args.windows):
            window = draw(args.window_rows, rng, shift)
            started = time.perf_counter()
            fixed = detect_drift(prepared, window, schema=SCHEMA, config=fixed_config)
            judged = apply_drift_limits(
                detect_drift(prepared, window, schema=SCHEMA, config=learned_config), learned
            )
            evaluate_times.append(time.perf_counter() - started)
            flagged["fixed"][shift] += sum(c.drifted for c in fixed)
            flagged["learned"][shift] += sum(c.drifted for c in judged)
    verdicts = args.windows * len(columns)
    return {
        "columns": {
            c: {
                "fixed_method": detect_drift(prepared, draw(args.window_rows, rng))[c].method,
                "learned_method": learned.methods.get(c),
                "learned_upper": round(learned.limits[c].upper, 5) if c in learned.limits else None,
            }
            for c in columns
        },
        "false_alarm_rate": {k: flagged[k][0.0] / verdicts for k in flagged},
        "detection_rate": {
            f"shift_{s:g}": {k: flagged[k][s] / verdicts for k in flagged} for s in args.shifts
        },
        "learn_seconds": statistics.median(learn_times),
        "evaluate_both_seconds_per_window": statistics.median(evaluate_times),
    }


def accuracy_rates(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed + 1)

    def outcomes(rows: int, accuracy: float) -> tuple[list[str], list[str]]:
        truth = rng.integers(0, 2, rows)
        right = rng.random(rows) < accuracy
        predicted = np.where(right, truth, 1 - truth)
        return truth.astype(str).tolist(), predicted.astype(str).tolist()

    config = PerformanceConfig(metrics=("accuracy",), positive_label="1", min_labels=1)
    truth, predicted = outcomes(args.reference_rows, 0.85)
    baseline = measure(config, truth, predicted).values["accuracy"]
    fixed = replace(config, baseline={"accuracy": baseline}, max_degradation=0.05)

    def chunk(c: Any) -> tuple[list[str], list[str], dict[str, Any]]:
        return truth[c.offset : c.offset + c.rows], predicted[c.offset : c.offset + c.rows], {}

    limits = learn_performance_limits(
        config, size_chunks(args.reference_rows, args.window_rows), chunk
    )
    learned = replace(config, limits=limits)
    drops = [0.0, *args.accuracy_drops]
    failed = {kind: dict.fromkeys(drops, 0) for kind in ("fixed", "learned")}
    for drop in drops:
        for _ in range(args.windows):
            y_true, y_pred = outcomes(args.window_rows, 0.85 - drop)
            for kind, judged in (("fixed", fixed), ("learned", learned)):
                (_, result) = performance_results(judged, y_true, y_pred, rows=args.window_rows)
                failed[kind][drop] += result.status.value == "failed"
    return {
        "reference_accuracy": round(baseline, 5),
        "fixed_limit": round(baseline - 0.05, 5),
        "learned_limits": [round(limits["accuracy"].lower, 5), round(limits["accuracy"].upper, 5)],
        "false_alarm_rate": {k: failed[k][0.0] / args.windows for k in failed},
        "detection_rate": {
            f"drop_{d:g}": {k: failed[k][d] / args.windows for k in failed}
            for d in args.accuracy_drops
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-rows", type=int, default=50_000)
    parser.add_argument("--window-rows", type=int, default=2_000)
    parser.add_argument("--windows", type=int, default=200, help="windows per condition")
    parser.add_argument("--shifts", type=float, nargs="+", default=[0.05, 0.1, 0.2])
    parser.add_argument("--accuracy-drops", type=float, nargs="+", default=[0.02, 0.03, 0.05])
    parser.add_argument("--runs", type=int, default=3, help="runs of the timed learning")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(
        json.dumps(
            {
                "reference_rows": args.reference_rows,
                "window_rows": args.window_rows,
                "windows_per_condition": args.windows,
                "drift": drift_rates(args),
                "accuracy": accuracy_rates(args),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
