"""SLO evaluation per scheduler tick: 100 models x 5 model SLOs (target: at most 100 ms).

A store holds, per model, 30 days of hourly windows with the results the five SLIs
read (dataset drift, a completeness and a freshness result, realized and estimated
accuracy, label counts; a few percent of windows bad), written straight into its
tables with SQL, oldest window first as a service writes them (evaluating 72,000
windows for real would take the benchmark's time, and the SLOs only read them).

A tick is what the service does each pass: ``SLOBook.statuses`` (the verdicts of the
windows evaluated since the last pass, error ratios over every window, burn rates,
budget) and ``slo_results`` (the results the alert rules watch). ``tick_ms`` is a pass
after another, which re-reads the windows of the last 10 minutes (here the newest
window of every model); ``first_tick_ms`` is the first pass after a start, which reads
every verdict. Prints one JSON object: medians of ``--runs`` runs, peak memory, sizes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import peak_rss_bytes
from mlvigil.service.config import parse_service_config
from mlvigil.service.slos import SLOBook, slo_results
from mlvigil.service.store import Store

TARGET_MS = 100.0
NOW = datetime(2026, 12, 1, tzinfo=UTC)

SLIS = {
    "drift": {"drift": {}},
    "quality": {"quality": {}},
    "freshness": {"freshness": {}},
    "accuracy": {"performance": {"metric": "accuracy", "threshold": 0.8}},
    "labels": {"label_coverage": {"min_coverage": 0.5}},
}


def _config(models: int, base: Path) -> dict[str, object]:
    model = {
        "schema": {"features": {"x": "numerical"}, "score": "score"},
        "reference": {"first_windows": 1},
        "window": "1h",
        "checks": {
            "drift": {},
            "quality": {"freshness": {"column": "timestamp", "max_age": "2h"}},
            "performance": {"task": "classification", "metrics": ["accuracy"]},
        },
    }
    return {
        "store": str(base / "bench.duckdb"),
        "models": {f"m{i:03d}": model for i in range(models)},
        "slos": [
            {"name": f"m{i:03d}-{name}", "model": f"m{i:03d}", "objective": 99, "sli": sli}
            for i in range(models)
            for name, sli in SLIS.items()
        ],
    }


_WINDOWS = """
INSERT INTO windows (model, window_start, window_end, rows, labelled, evaluated_at,
                     labels_final, revision, late_rows, late_labels, changes_seen)
SELECT m, s, s + INTERVAL 1 HOUR, 1000, CASE WHEN hash(m, s) % 50 = 0 THEN 100 ELSE 900 END,
       s + INTERVAL 1 HOUR, true, 1, 0, 0, 0
FROM unnest(?) AS t(m),
     generate_series(?::TIMESTAMPTZ, ?::TIMESTAMPTZ, INTERVAL 1 HOUR) AS g(s)
ORDER BY s, m
"""
_RESULTS = """
INSERT INTO results (model, window_start, window_end, "check", metric, "column", value,
                     threshold, status, severity, message, details, evaluated_at)
SELECT m, s, s + INTERVAL 1 HOUR, c, metric, col, 0.9, 0.5,
       CASE WHEN hash(m, s, c) % 40 = 0 THEN 'failed' ELSE 'passed' END,
       'error', '', NULL, s + INTERVAL 1 HOUR
FROM unnest(?) AS t(m),
     generate_series(?::TIMESTAMPTZ, ?::TIMESTAMPTZ, INTERVAL 1 HOUR) AS g(s),
     (VALUES ('drift', 'drift_share', NULL), ('completeness', 'null_rate', 'x'),
             ('freshness', 'max_age_hours', NULL), ('performance', 'accuracy', NULL),
             ('estimation', 'accuracy', NULL)) AS k(c, metric, col)
ORDER BY s, m  -- in the order a service evaluates them: oldest window first
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--days", type=int, default=30, help="history of hourly windows")
    parser.add_argument("--runs", type=int, default=7, help="timed ticks (median)")
    parser.add_argument("--output", type=Path, help="also write the JSON here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        config = parse_service_config(_config(args.models, base), base_dir=base)
        store = Store(config.store, config.models)
        names = list(config.models)
        first, last = NOW - timedelta(days=args.days), NOW - timedelta(hours=1)
        started = time.perf_counter()
        with store._transaction() as cursor:  # the bench writes rows, not evaluations
            cursor.execute(_WINDOWS, [names, first, last])
            cursor.execute(_RESULTS, [names, first, last])
        fill_s = time.perf_counter() - started
        cold, warm = [], []
        for _ in range(args.runs):
            book = SLOBook(config.slos)  # a pass after a restart: every verdict read
            started = time.perf_counter()
            statuses = book.statuses(store, NOW)
            results = slo_results(statuses, NOW)
            cold.append((time.perf_counter() - started) * 1000)
            # The next pass: a window per model evaluated since (re-read, replaced).
            started = time.perf_counter()
            statuses = book.statuses(store, NOW + timedelta(seconds=30))
            results = slo_results(statuses, NOW)
            warm.append((time.perf_counter() - started) * 1000)
        windows = store.read("SELECT count(*) FROM windows").fetchone()
        stored = store.read("SELECT count(*) FROM results").fetchone()
        store.close()
    median = statistics.median(warm)
    report = {
        "benchmark": "slo_tick",
        "models": args.models,
        "slos": len(config.slos),
        "windows": windows[0] if windows else 0,
        "results": stored[0] if stored else 0,
        "tick_ms": round(median, 1),
        "ticks_ms": [round(t, 1) for t in warm],
        "first_tick_ms": round(statistics.median(cold), 1),
        "target_ms": TARGET_MS,
        "meets_target": median <= TARGET_MS,
        "alert_results": len(results),
        "budget_remaining_min": round(min(s.budget_remaining or 1.0 for s in statuses), 4),
        "fill_seconds": round(fill_s, 1),
        "peak_rss_bytes": peak_rss_bytes(),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
