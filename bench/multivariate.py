"""Multivariate drift benchmark: what each method detects, its false alarms, and its cost.

A reference of ``--reference-rows`` rows × 10 features is drawn: ``f0`` and ``f1`` are
standard normals with correlation 0.8, ``f2``..``f9`` standard normals sharing one
factor (correlation 0.5). Windows of ``--window-rows`` rows are then drawn:

(a) **correlation change, marginals unchanged**: ``--windows`` windows, the later half
    with the correlation of ``f0`` and ``f1`` flipped to -0.8 (``flip``) or weakened to
    0.4 (``weaken``); every column's distribution stays N(0, 1). Each multivariate
    method's verdict per window, beside univariate ``detect_drift`` (which should miss).
(b) **no change**: ``--null-windows`` windows from the reference's distribution: false
    alarms per method (target <= 1 in 20), and the spread of the domain classifier's
    AUC in null standard errors (what its threshold of 0.5 + 4 SE is based on).
(c) **embedding shift**: 64-dimensional embeddings whose variances fall from 1 to
    0.01, rotated at random (the low-variance direction is not an axis); windows
    shifted along the lowest-variance direction by ``--embedding-shifts`` of its
    standard deviations, detected by MMD and the domain classifier (and unchanged ones).

Times are medians over ``--runs`` runs in this process (after one warm-up run):
fitting, reconstruction error for the ``--windows`` windows, the domain classifier for
them (3 folds, and 5 for comparison; 2 OpenMP threads instead of 1 in one run without
warm-up), MMD per window (tabular and embedding). Peak RSS
is this process's high-water mark. Verdicts are exact counts over seeded draws.

Usage: ``python bench/multivariate.py [--runs 3] [--null-windows 40] [--sections timings ...]``
(prints JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa

from _common import peak_rss_bytes
from mlvigil.checks.chunks import size_chunks
from mlvigil.checks.drift import detect_drift, prepare_reference
from mlvigil.checks.result import CheckStatus
from mlvigil.multivariate import MultivariateConfig, MultivariateDetector
from mlvigil.multivariate.domain import null_standard_error

FEATURES = [f"f{i}" for i in range(10)]
ALL_METHODS = ("reconstruction_error", "domain_classifier", "mmd")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def tabular(rng: np.random.Generator, rows: int, rho: float = 0.8) -> pa.Table:
    """Every column N(0, 1); ``rho`` is the correlation of f0 and f1."""
    z0, z1 = rng.normal(size=rows), rng.normal(size=rows)
    columns = {"f0": z0, "f1": rho * z0 + np.sqrt(1.0 - rho**2) * z1}
    factor = rng.normal(size=rows)
    for name in FEATURES[2:]:
        columns[name] = np.sqrt(0.5) * factor + np.sqrt(0.5) * rng.normal(size=rows)
    return pa.table(columns)


def timed(
    work: Callable[[], Any], runs: int, *, warm_up: bool = True
) -> tuple[float, list[float], Any]:
    """Median seconds of ``work`` over ``runs`` runs after one warm-up, and its result."""
    result = work() if warm_up else None
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), [round(s, 4) for s in seconds], result


def verdicts(detector: MultivariateDetector, windows: Sequence[pa.Table]) -> list[list[Any]]:
    return [detector.evaluate(w) for w in windows]


def summary(results: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """Per (column, metric): drifted per window, values, thresholds."""
    found: dict[str, dict[str, list[Any]]] = {}
    for window in results:
        for result in window:
            key = result.metric if result.column is None else f"{result.column}:{result.metric}"
            entry = found.setdefault(key, {"drifted": [], "value": [], "threshold": []})
            assert result.status is not CheckStatus.ERROR, result.message
            entry["drifted"].append(result.status is CheckStatus.FAILED)
            entry["value"].append(round(result.value, 5))
            entry["threshold"].append(round(result.threshold, 5))
    return found


def univariate(prepared: Any, windows: Sequence[pa.Table]) -> dict[str, Any]:
    reports = [detect_drift(prepared, w) for w in windows]
    return {
        "drifted_columns": [[c.column for c in r if c.drifted] for r in reports],
        "dataset_drift": [r.dataset_drift for r in reports],
        "methods": sorted({c.method for r in reports for c in r if c.method}),
    }


def correlation_change(args: argparse.Namespace, reference: pa.Table) -> dict[str, Any]:
    prepared = prepare_reference(reference)
    config = MultivariateConfig(methods=ALL_METHODS, seed=args.seed)
    detector = MultivariateDetector.fit(
        reference,
        columns=FEATURES,
        schema={},
        config=config,
        chunks=size_chunks(args.reference_rows, args.window_rows),
    )
    scenarios: dict[str, Any] = {}
    for name, rho in (("flip", -0.8), ("weaken", 0.4)):
        rng = np.random.default_rng(args.seed + (1 if name == "flip" else 2))
        half = args.windows // 2
        windows = [
            tabular(rng, args.window_rows, 0.8 if i < half else rho) for i in range(args.windows)
        ]
        log(f"(a) correlation {name}: {args.windows} windows")
        found = summary(verdicts(detector, windows))
        scenarios[name] = {
            "changed_windows": list(range(half, args.windows)),
            "rho_after": rho,
            "detected": {
                key: f"{sum(v['drifted'][half:])}/{args.windows - half}" for key, v in found.items()
            },
            "false_alarms_before": {
                key: f"{sum(v['drifted'][:half])}/{half}" for key, v in found.items()
            },
            "windows": found,
            "univariate": univariate(prepared, windows),
        }
    return scenarios


def no_change(args: argparse.Namespace, reference: pa.Table) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed + 3)
    windows = [tabular(rng, args.window_rows) for _ in range(args.null_windows)]
    config = MultivariateConfig(methods=ALL_METHODS, seed=args.seed)
    detector = MultivariateDetector.fit(
        reference,
        columns=FEATURES,
        schema={},
        config=config,
        chunks=size_chunks(args.reference_rows, args.window_rows),
    )
    log(f"(b) no change: {args.null_windows} windows")
    found = summary(verdicts(detector, windows))
    error = null_standard_error(args.window_rows, min(args.window_rows, 5_000))
    z = [(v - 0.5) / error for v in found["domain_classifier_auc"]["value"]]
    prepared = prepare_reference(reference)
    plain = univariate(prepared, windows)
    return {
        "windows": args.null_windows,
        "false_alarms": {
            key: f"{sum(v['drifted'])}/{args.null_windows}" for key, v in found.items()
        },
        "false_alarm_rate": {
            key: sum(v["drifted"]) / args.null_windows for key, v in found.items()
        },
        "domain_auc_in_null_se": {
            "mean": round(statistics.mean(z), 3),
            "std": round(statistics.stdev(z), 3),
            "max": round(max(z), 3),
            "threshold": 4.0,
        },
        "univariate_windows_with_a_drifted_column": sum(bool(c) for c in plain["drifted_columns"]),
        "univariate_dataset_drift": sum(plain["dataset_drift"]),
        "details": found,
    }


def embedding_vectors(
    rng: np.random.Generator, rows: int, rotation: np.ndarray, shift: float
) -> pa.Table:
    dim = len(rotation)
    scales = np.sqrt(np.geomspace(1.0, 0.01, dim))
    latent = rng.normal(size=(rows, dim)) * scales
    latent[:, -1] += shift * scales[-1]  # along the lowest-variance direction
    vectors = (latent @ rotation.T).astype(np.float32)
    return pa.table({"embedding": pa.array(list(vectors), pa.list_(pa.float32()))})


def embedding_shift(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed + 4)
    rotation, _ = np.linalg.qr(rng.normal(size=(args.embedding_dim, args.embedding_dim)))
    reference = embedding_vectors(rng, args.reference_rows, rotation, 0.0)
    detectors = {}
    fit_seconds = {}
    for method in ("mmd", "domain_classifier"):
        config = MultivariateConfig(embedding_methods=(method,), seed=args.seed)
        started = time.perf_counter()
        detectors[method] = MultivariateDetector.fit(
            reference, columns=["embedding"], schema={}, config=config
        )
        fit_seconds[method] = round(time.perf_counter() - started, 4)
    out: dict[str, Any] = {
        "dim": args.embedding_dim,
        "reference_rows": args.reference_rows,
        "fit_seconds": fit_seconds,
        "shifts_in_sd_of_the_lowest_variance_direction": {},
    }
    seconds: dict[str, list[float]] = {method: [] for method in detectors}
    for shift in [0.0, *args.embedding_shifts]:
        windows = [
            embedding_vectors(rng, args.window_rows, rotation, shift)
            for _ in range(args.embedding_windows)
        ]
        log(f"(c) embedding shift {shift:g} sd: {len(windows)} windows")
        results: list[list[Any]] = [[] for _ in windows]
        for method, detector in detectors.items():
            for index, window in enumerate(windows):
                started = time.perf_counter()
                results[index] += detector.evaluate(window)
                seconds[method].append(time.perf_counter() - started)
        found = summary(results)
        out["shifts_in_sd_of_the_lowest_variance_direction"][f"{shift:g}"] = {
            key: {
                "drifted": f"{sum(v['drifted'])}/{len(windows)}",
                "values": v["value"],
                "threshold": v["threshold"][0],
            }
            for key, v in found.items()
        }
    out["seconds_per_window"] = {m: round(statistics.median(v), 4) for m, v in seconds.items()}
    return out


def timings(args: argparse.Namespace, reference: pa.Table) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed + 5)
    windows = [tabular(rng, args.window_rows) for _ in range(args.windows)]
    chunks = size_chunks(args.reference_rows, args.window_rows)
    out: dict[str, Any] = {"windows": args.windows, "window_rows": args.window_rows}

    def fit(methods: tuple[str, ...], **options: Any) -> MultivariateDetector:
        config = MultivariateConfig(methods=methods, seed=args.seed, **options)
        return MultivariateDetector.fit(
            reference, columns=FEATURES, schema={}, config=config, chunks=chunks
        )

    log("timing: fit")
    out["fit_seconds"], out["fit_runs"], _ = timed(lambda: fit(ALL_METHODS), args.runs)
    cases: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
        "reconstruction": (("reconstruction_error",), {}),
        "domain_classifier": (("domain_classifier",), {}),
        "domain_classifier_5_folds": (("domain_classifier",), {"folds": 5}),
        "domain_classifier_2_threads": (("domain_classifier",), {"threads": 2}),
        "mmd_tabular": (("mmd",), {}),
    }
    for name, (methods, options) in cases.items():
        detector = fit(methods, **options)
        log(f"timing: {name}, {args.windows} windows x {args.runs} runs")
        # 2 OpenMP threads can be very slow on a shared machine: one run bounds the wait.
        slow = name.endswith("2_threads")
        median, runs, results = timed(
            lambda d=detector: verdicts(d, windows), 1 if slow else args.runs, warm_up=not slow
        )
        out[f"{name}_seconds"] = round(median, 4)
        out[f"{name}_runs"] = runs
        if name.startswith("mmd"):
            out["mmd_tabular_seconds_per_window"] = round(median / args.windows, 4)
        del results
    return out


def folds_comparison(args: argparse.Namespace, reference: pa.Table) -> dict[str, Any]:
    """Detection of the weakened correlation with 3 and 5 folds (the folds default)."""
    out: dict[str, Any] = {}
    chunks = size_chunks(args.reference_rows, args.window_rows)
    base = MultivariateConfig(methods=("domain_classifier",), seed=args.seed)
    for folds in (3, 5):
        rng = np.random.default_rng(args.seed + 6)
        windows = [tabular(rng, args.window_rows, 0.6) for _ in range(args.windows)]
        detector = MultivariateDetector.fit(
            reference, columns=FEATURES, schema={}, config=replace(base, folds=folds),
            chunks=chunks,
        )  # fmt: skip
        found = summary(verdicts(detector, windows))["domain_classifier_auc"]
        error = null_standard_error(args.window_rows, min(args.window_rows, 5_000))
        out[f"{folds}_folds"] = {
            "detected_rho_0.8_to_0.6": f"{sum(found['drifted'])}/{args.windows}",
            "mean_auc_in_null_se": round(
                statistics.mean((v - 0.5) / error for v in found["value"]), 2
            ),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-rows", type=int, default=50_000)
    parser.add_argument("--window-rows", type=int, default=5_000)
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--null-windows", type=int, default=40)
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--embedding-windows", type=int, default=10)
    parser.add_argument("--embedding-shifts", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sections",
        nargs="+",
        default=["timings", "correlation_change", "no_change", "folds", "embedding_shift"],
        choices=["timings", "correlation_change", "no_change", "folds", "embedding_shift"],
    )
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    reference = tabular(rng, args.reference_rows)
    started = time.perf_counter()
    load_before = os.getloadavg()
    sections: dict[str, Callable[[], Any]] = {
        "timings": lambda: timings(args, reference),
        "correlation_change": lambda: correlation_change(args, reference),
        "no_change": lambda: no_change(args, reference),
        "folds": lambda: folds_comparison(args, reference),
        "embedding_shift": lambda: embedding_shift(args),
    }
    report: dict[str, Any] = {
        "reference_rows": args.reference_rows,
        "window_rows": args.window_rows,
        "features": len(FEATURES),
        "seed": args.seed,
        "runs": args.runs,
    }
    for name in args.sections:
        report[name] = sections[name]()
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["peak_rss_bytes"] = peak_rss_bytes()
    # Another process on the machine shows here: the times are only as quiet as it was.
    report["load_average_1m_before_after"] = [
        round(load_before[0], 2),
        round(os.getloadavg()[0], 2),
    ]
    report["cpu_count"] = os.cpu_count()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
