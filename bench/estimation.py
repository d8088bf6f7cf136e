"""Label-free performance estimation: estimated vs realized performance under a covariate shift.

**Classification.** Ten features ``x ~ N(0, 1)``; labels are drawn as Bernoulli of
``sigmoid(1.2 x0 + 0.8 x1 - 0.6 x2 + 0.5 x3 x4 + 0.3 x5)``. A scikit-learn
``HistGradientBoostingClassifier`` is trained on a separate ``--train-rows`` rows. The
reference (``--reference-rows``, labelled) and the first half of the ``--windows``
windows (``--window-rows`` each) are drawn as the training data; in the later windows
``x0, x1, x2`` shrink towards 0 (scales 0.8 ... 0.3), near the decision boundary where
the model is less accurate. ``P(y | x)`` is unchanged and the shifted windows stay
inside the region the reference covers: the method's assumptions hold, so this
measures the method and its implementation, not a violated assumption.

Per window: estimated and realized ROC AUC and accuracy, |error|, and whether each
side alerts: the estimate by its result's status, the realized value by the *same*
learned limits (below the lower limit = degraded). ``fit_seconds`` is
``PerformanceEstimator.fit`` on the reference with its chunks (calibration check,
limits), ``estimate_seconds`` the estimation of all windows without labels; both are
medians of ``--runs`` runs after a first (warm-up, imports) run, whose time is shown
as ``first_fit_seconds``.

**Regression.** The same features; ``y = 2 x0 + x1 - x2 + sin(x3) + noise`` with noise
``N(0, 0.3 + 0.7 |x0|)``; an HGB regressor trained on ``--train-rows`` rows; later
windows move ``x0``'s mean up to 1.0 (larger errors). Direct loss estimation with the
ten features: estimated vs realized MAE per window, and the same timings.

Prints one JSON object (progress on stderr); ``--output`` also writes it to a file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from _common import peak_rss_bytes
from mlvigil.checks.chunks import size_chunks
from mlvigil.estimation import EstimationConfig, PerformanceEstimator

FEATURES = tuple(f"x{i}" for i in range(10))
#: Scale of x0..x2 in each shifted classification window (the rest are unshifted).
SHRINK = (0.8, 0.65, 0.5, 0.4, 0.3)
#: Mean of x0 in each shifted regression window.
MOVE = (0.2, 0.4, 0.6, 0.8, 1.0)


def _features(rng: np.random.Generator, rows: int) -> np.ndarray:
    return rng.normal(0.0, 1.0, (rows, len(FEATURES)))


def _logit(x: np.ndarray) -> np.ndarray:
    return 1.2 * x[:, 0] + 0.8 * x[:, 1] - 0.6 * x[:, 2] + 0.5 * x[:, 3] * x[:, 4] + 0.3 * x[:, 5]


def _timed(runs: int, work: Callable[[], Any]) -> tuple[float, float, Any]:
    """First run's time, median of ``runs`` further runs, and the last result."""
    started = time.perf_counter()
    result = work()
    first = time.perf_counter() - started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return first, statistics.median(times), result


def _shifts(windows: int, shifted: tuple[float, ...], neutral: float) -> list[float]:
    later = list(shifted)[: windows // 2]
    return [neutral] * (windows - len(later)) + later


def _compare(
    estimator: PerformanceEstimator, windows: list[pa.Table], metrics: tuple[str, ...]
) -> dict[str, Any]:
    per_window = []
    for index, window in enumerate(windows):
        row: dict[str, Any] = {"window": index}
        for result in estimator.estimate(window, labels="label"):
            details = result.details
            limits = details.limits
            realized = details.realized
            lower_is_better = result.metric in ("mae", "mse", "rmse", "mape")
            realized_alert = (
                None
                if limits is None or realized is None
                else (realized > limits.upper if lower_is_better else realized < limits.lower)
            )
            row[result.metric] = {
                "estimated": result.value,
                "realized": realized,
                "abs_error": None if realized is None else abs(result.value - realized),
                "standard_error": details.standard_error,
                "estimated_alert": result.status.value == "failed",
                "realized_alert": realized_alert,
            }
        per_window.append(row)
    summary = {}
    for metric in metrics:
        cells = [w[metric] for w in per_window]
        summary[metric] = {
            "mean_abs_error": statistics.fmean(c["abs_error"] for c in cells),
            "max_abs_error": max(c["abs_error"] for c in cells),
            "mean_standard_error": statistics.fmean(c["standard_error"] for c in cells),
            "alert_agreement": statistics.fmean(
                c["estimated_alert"] == c["realized_alert"] for c in cells
            ),
            "estimated_alerts": sum(c["estimated_alert"] for c in cells),
            "realized_alerts": sum(bool(c["realized_alert"]) for c in cells),
        }
    return {"summary": summary, "windows": per_window}


def _limits(estimator: PerformanceEstimator) -> dict[str, list[float]]:
    return {m: [round(v.lower, 5), round(v.upper, 5)] for m, v in estimator.limits.items()}


def classification(args: argparse.Namespace) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(args.seed)
    x_train = _features(rng, args.train_rows)
    y_train = rng.random(args.train_rows) < 1 / (1 + np.exp(-_logit(x_train)))
    model = HistGradientBoostingClassifier(random_state=args.seed).fit(x_train, y_train)

    def table(scale: float, rows: int) -> pa.Table:
        x = _features(rng, rows)
        x[:, :3] *= scale
        y = rng.random(rows) < 1 / (1 + np.exp(-_logit(x)))
        score = model.predict_proba(x)[:, 1]
        return pa.table(
            {"label": y.astype(np.int64), "prediction": (score > 0.5).astype(np.int64),
             "score": score}
        )  # fmt: skip

    reference = table(1.0, args.reference_rows)
    windows = [table(s, args.window_rows) for s in _shifts(args.windows, SHRINK, 1.0)]
    unlabelled = [w.drop_columns(["label"]) for w in windows]
    config = EstimationConfig(metrics=("roc_auc", "accuracy"), seed=args.seed)
    chunks = size_chunks(args.reference_rows, args.window_rows)
    print("  classification: fit", file=sys.stderr)
    first, fit_seconds, estimator = _timed(
        args.runs, lambda: PerformanceEstimator.fit(reference, config, chunks=chunks)
    )
    print("  classification: estimate", file=sys.stderr)
    _, estimate_seconds, _ = _timed(args.runs, lambda: [estimator.estimate(w) for w in unlabelled])
    return {
        "model": "HistGradientBoostingClassifier",
        "calibrated": estimator.calibrated,
        "calibration": estimator.calibration,
        "limits": _limits(estimator),
        "first_fit_seconds": first,
        "fit_seconds": fit_seconds,
        "estimate_seconds": estimate_seconds,
        "window_shrink": _shifts(args.windows, SHRINK, 1.0),
        **_compare(estimator, windows, config.metrics),
    }


def regression(args: argparse.Namespace) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(args.seed + 1)

    def draw(rows: int, centre: float) -> tuple[np.ndarray, np.ndarray]:
        x = _features(rng, rows)
        x[:, 0] += centre
        signal = 2 * x[:, 0] + x[:, 1] - x[:, 2] + np.sin(x[:, 3])
        return x, signal + rng.normal(0.0, 0.3 + 0.7 * np.abs(x[:, 0]))

    x_train, y_train = draw(args.train_rows, 0.0)
    model = HistGradientBoostingRegressor(random_state=args.seed).fit(x_train, y_train)

    def table(centre: float, rows: int) -> pa.Table:
        x, y = draw(rows, centre)
        columns = {name: x[:, i] for i, name in enumerate(FEATURES)}
        return pa.table({**columns, "label": y, "prediction": model.predict(x)})

    reference = table(0.0, args.reference_rows)
    windows = [table(c, args.window_rows) for c in _shifts(args.windows, MOVE, 0.0)]
    unlabelled = [w.drop_columns(["label"]) for w in windows]
    config = EstimationConfig(task="regression", metrics=("mae", "rmse"), features=FEATURES)
    chunks = size_chunks(args.reference_rows, args.window_rows)
    print("  regression: fit", file=sys.stderr)
    first, fit_seconds, estimator = _timed(
        args.runs, lambda: PerformanceEstimator.fit(reference, config, chunks=chunks)
    )
    print("  regression: estimate", file=sys.stderr)
    _, estimate_seconds, _ = _timed(args.runs, lambda: [estimator.estimate(w) for w in unlabelled])
    compared = _compare(estimator, windows, config.metrics)
    realized = [w["mae"]["realized"] for w in compared["windows"]]
    compared["summary"]["mae"]["mean_relative_error"] = statistics.fmean(
        w["mae"]["abs_error"] / r for w, r in zip(compared["windows"], realized, strict=True)
    )
    return {
        "model": "HistGradientBoostingRegressor",
        "limits": _limits(estimator),
        "first_fit_seconds": first,
        "fit_seconds": fit_seconds,
        "estimate_seconds": estimate_seconds,
        "window_x0_mean": _shifts(args.windows, MOVE, 0.0),
        **compared,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-rows", type=int, default=50_000)
    parser.add_argument("--window-rows", type=int, default=5_000)
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--train-rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 runs: a smoke run")
    parser.add_argument("--output", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    if args.quick:
        args.reference_rows, args.window_rows, args.train_rows, args.runs = 10_000, 1_000, 10_000, 2
    result = {
        "reference_rows": args.reference_rows,
        "window_rows": args.window_rows,
        "windows": args.windows,
        "features": len(FEATURES),
        "runs": args.runs,
        "classification": classification(args),
        "regression": regression(args),
        "peak_rss_bytes": peak_rss_bytes(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
