"""Version comparisons and canary verdicts: cost per window, false fails, power.

- ``window``: one window of two versions, ``--rows`` rows each (default 100,000), 20
  features (15 numerical, 5 categorical), a binary prediction with its score, labels,
  latency and two business outcomes (a conversion rate, a revenue mean), the versions
  scoring the same ids (a shadow deployment). Timed, median of ``--runs``: the
  comparison (every classification metric with its interval, latency p50/p99, both
  outcomes, prediction drift, the paired tests), the drift of the 20 features between
  the versions' traffic, and the canary verdict. Target: at most 1 s a window.
- ``false_fails``: ``--aa-runs`` seeded A/A runs (both versions the same model,
  ``--arm-rows`` rows each, default 10,000): the share the canary fails (target: at most
  alpha), passes and leaves inconclusive.
- ``power``: the same runs with the candidate's accuracy 2 points lower: the share it
  fails.

- ``outcome_limits``: a conversion rate of 20% judged by limits learned from a
  9,000-row reference in 300-row chunks: the share of ``--limit-windows`` unchanged
  300-row windows that fail (false fails), and of windows whose rate fell to 15% and
  to 10% (caught).

The canary's guards: accuracy (tolerance 0.01), ROC AUC (0.01), p99 latency (5 ms) and
the conversion rate (0.01), at alpha 0.05 with Bonferroni's correction, and the same
guards with no tolerance. Prints one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import numpy as np
import pyarrow as pa

from _common import emit, peak_rss_bytes
from mlvigil.checks.business import business_results
from mlvigil.checks.chunks import size_chunks
from mlvigil.checks.drift import detect_drift
from mlvigil.checks.performance import PerformanceConfig
from mlvigil.checks.result import CheckStatus
from mlvigil.checks.thresholds import learn_outcome_limits
from mlvigil.experiments import (
    Arm,
    ComparisonConfig,
    Guard,
    Labelled,
    Outcome,
    Verdict,
    compare_arms,
    judge_canary,
    pair,
)

NUMERICAL, CATEGORICAL = 15, 5
ALPHA = 0.05
CONFIG = ComparisonConfig(
    performance=PerformanceConfig(
        metrics=("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"),
        positive_label="1",
    ),
    outcomes={"converted": Outcome("rate"), "revenue": Outcome("mean")},
    latency_quantiles=(0.5, 0.99),
)
GUARDS = {
    "tolerant": [
        Guard("accuracy", 0.01),
        Guard("roc_auc", 0.01),
        Guard("latency_p99_ms", 5.0),
        Guard("converted_rate", 0.01),
    ],
    "strict": [
        Guard("accuracy", 0.0),
        Guard("roc_auc", 0.0),
        Guard("latency_p99_ms", 0.0),
        Guard("converted_rate", 0.0),
    ],
}


def log(message: str) -> None:
    print(f"[experiments] {message}", file=sys.stderr, flush=True)


def _version(
    rng: np.random.Generator, rows: int, truth: np.ndarray, accuracy: float
) -> dict[str, Any]:
    """A classifier's predictions, scores, latency and outcomes on rows with ``truth``."""
    right = rng.random(rows) < accuracy
    predicted = np.where(right, truth, 1 - truth)
    # A score on the predicted side of 0.5, so it never contradicts the prediction.
    margin = rng.beta(2, 2, rows) / 2
    score = np.where(predicted == 1, 0.5 + margin, 0.5 - margin)
    return {
        "predicted": predicted,
        "score": score,
        "latency": rng.gamma(4.0, 10.0, rows),
        "converted": (rng.random(rows) < 0.1).astype(np.float64),
        "revenue": rng.exponential(20.0, rows),
    }


def _features(rng: np.random.Generator, rows: int) -> pa.Table:
    columns: dict[str, Any] = {f"f{i}": rng.normal(0, 1, rows) for i in range(NUMERICAL)}
    for i in range(CATEGORICAL):
        columns[f"c{i}"] = rng.choice([f"v{k}" for k in range(8)], rows)
    return pa.table(columns)


def _arm(name: str, truth: np.ndarray, version: dict[str, Any]) -> Arm:
    text = np.array(["0", "1"])
    labelled = Labelled(
        list(text[truth]), list(text[version["predicted"]]), score=list(version["score"])
    )
    return Arm(
        name,
        truth.size,
        labelled,
        predictions=text[version["predicted"]],
        latency_ms=version["latency"],
        outcomes={"converted": version["converted"], "revenue": version["revenue"]},
    )


def _window(rows: int, seed: int) -> tuple[float, dict[str, float]]:
    """One window's full evaluation: seconds, and each part's."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, rows)
    ids = np.array([f"r{i}" for i in range(rows)])
    versions = [_version(rng, rows, truth, a) for a in (0.90, 0.89)]
    features = [_features(rng, rows) for _ in versions]
    arms = [_arm(n, truth, v) for n, v in zip(("v1", "v2"), versions, strict=True)]
    text = np.array(["0", "1"])
    parts: dict[str, float] = {}
    started = time.perf_counter()
    shadow = pair(
        "classification",
        (ids, text[versions[0]["predicted"]]),
        (ids, text[versions[1]["predicted"]]),
        (ids, text[truth]),
    )
    parts["paired_s"] = time.perf_counter() - started
    mark = time.perf_counter()
    comparison = compare_arms(CONFIG, arms[0], arms[1], paired=shadow)
    results = comparison.results()
    parts["comparison_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    detect_drift(features[0], features[1])
    parts["feature_drift_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    judge_canary(comparison, GUARDS["tolerant"], alpha=ALPHA).result()
    parts["canary_s"] = time.perf_counter() - mark
    assert len(results) > 10
    return time.perf_counter() - started, parts


def _rates(runs: int, rows: int, accuracy: float, guards: list[Guard]) -> dict[str, float]:
    counts = dict.fromkeys(Verdict, 0)
    config = ComparisonConfig(
        performance=CONFIG.performance, outcomes=CONFIG.outcomes, latency_quantiles=(0.99,)
    )
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        truth = [rng.integers(0, 2, rows) for _ in range(2)]
        base = _arm("v1", truth[0], _version(rng, rows, truth[0], 0.90))
        cand = _arm("v2", truth[1], _version(rng, rows, truth[1], accuracy))
        verdict = judge_canary(compare_arms(config, base, cand), guards, alpha=ALPHA)
        counts[verdict.verdict] += 1
    return {verdict.value: round(count / runs, 4) for verdict, count in counts.items()}


def _outcome_limits(windows: int, seed: int = 12) -> dict[str, Any]:
    """Learned limits of a 20% rate: how often unchanged and lower rates fail."""
    rng = np.random.default_rng(seed)
    reference = pa.table({"converted": (rng.random(9_000) < 0.2).astype(float)})
    rate = {"converted": Outcome("rate")}
    [outcome] = learn_outcome_limits(rate, reference, size_chunks(9_000, 300)).values()

    def failing(share: float) -> float:
        failed = 0
        for _ in range(windows):
            window = pa.table({"converted": (rng.random(300) < share).astype(float)})
            [judged, _] = business_results({"converted": outcome}, window)
            failed += judged.status is CheckStatus.FAILED
        return round(failed / windows, 4)

    limits = outcome.limits
    return {
        "reference_rate": 0.2,
        "chunk_rows": 300,
        "lower_limit": round(limits.lower, 4) if limits else None,
        "windows": windows,
        "false_fail_rate": failing(0.2),
        "caught_at_15_percent": failing(0.15),
        "caught_at_10_percent": failing(0.10),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows per version's window")
    parser.add_argument("--runs", type=int, default=5, help="timed windows (median)")
    parser.add_argument("--aa-runs", type=int, default=200, help="seeded A/A runs")
    parser.add_argument("--arm-rows", type=int, default=10_000, help="rows per arm, A/A runs")
    parser.add_argument("--limit-windows", type=int, default=5_000, help="outcome-limit windows")
    args = parser.parse_args()

    log(f"window: 2 versions x {args.rows} rows, {args.runs} runs")
    _window(min(args.rows, 5000), seed=99)  # warm-up: imports, caches
    timings = [_window(args.rows, seed) for seed in range(args.runs)]
    seconds = [t for t, _ in timings]
    parts = {k: round(statistics.median(p[k] for _, p in timings), 3) for k in timings[0][1]}
    report: dict[str, Any] = {
        "benchmark": "experiments",
        "window": {
            "rows_per_version": args.rows,
            "features": NUMERICAL + CATEGORICAL,
            "median_s": round(statistics.median(seconds), 3),
            "runs_s": [round(s, 3) for s in seconds],
            "parts_median_s": parts,
            "target_s": 1.0,
            "meets_target": statistics.median(seconds) <= 1.0,
        },
    }
    for name, guards in GUARDS.items():
        log(f"A/A and power, {name} guards: {args.aa_runs} runs of {args.arm_rows} rows an arm")
        same = _rates(args.aa_runs, args.arm_rows, 0.90, guards)
        drop = _rates(args.aa_runs, args.arm_rows, 0.88, guards)
        report[f"{name}_guards"] = {
            "guards": {g.metric: g.max_degradation for g in guards},
            "alpha": ALPHA,
            "correction": "bonferroni",
            "rows_per_arm": args.arm_rows,
            "runs": args.aa_runs,
            "no_change": same,
            "false_fail_rate": same["fail"],
            "meets_target": same["fail"] <= ALPHA,
            "accuracy_drop_2_points": drop,
            "power": drop["fail"],
        }
    log(f"learned outcome limits: {args.limit_windows} windows of 300 rows a rate")
    report["outcome_limits"] = _outcome_limits(args.limit_windows)
    report["peak_rss_bytes"] = peak_rss_bytes()
    emit(report)


if __name__ == "__main__":
    main()
