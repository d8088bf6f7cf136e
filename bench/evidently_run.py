"""One Evidently ``DataDriftPreset`` run, executed inside ``bench/.venv-evidently``.

Usage: ``python bench/evidently_run.py REFERENCE CURRENT``

Prints one JSON line: timings (read, ``Report.run`` alone, and both), peak RSS, the
drift summary and the method Evidently chose for each column.
"""

from __future__ import annotations

import argparse
import time
from importlib.metadata import version
from typing import Any

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

from _common import emit, peak_rss_bytes

COUNT_METRIC = "evidently:metric_v2:DriftedColumnsCount"
VALUE_DRIFT_METRIC = "evidently:metric_v2:ValueDrift"


def _summarise(snapshot: dict[str, Any], drift_share_threshold: float) -> dict[str, Any]:
    metrics = snapshot["metrics"]
    count = next(metric for metric in metrics if metric["config"]["type"] == COUNT_METRIC)
    share = float(count["value"]["share"])
    columns = {
        metric["config"]["column"]: {
            "method": metric["config"]["method"],
            "threshold": metric["config"]["threshold"],
            "score": metric["value"],
        }
        for metric in metrics
        if metric["config"]["type"] == VALUE_DRIFT_METRIC
    }
    return {
        # Evidently's own rule (legacy DatasetDriftMetric): share of drifted columns >= drift_share.
        "dataset_drift": share >= drift_share_threshold,
        "number_of_drifted_columns": int(count["value"]["count"]),
        "drift_share": share,
        "columns": columns,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Run Evidently's DataDriftPreset once.")
    parser.add_argument("reference")
    parser.add_argument("current")
    args = parser.parse_args()

    preset = DataDriftPreset()
    start = time.perf_counter()
    reference = pd.read_parquet(args.reference)
    current = pd.read_parquet(args.current)
    loaded = time.perf_counter()
    snapshot = Report([preset]).run(current_data=current, reference_data=reference)
    finished = time.perf_counter()
    peak_rss = peak_rss_bytes()

    emit(
        {
            "read_seconds": loaded - start,
            "run_seconds": finished - loaded,
            "seconds": finished - start,
            "peak_rss_bytes": peak_rss,
            "versions": {name: version(name) for name in ("evidently", "pandas", "numpy")},
            **_summarise(snapshot.dict(), preset.drift_share),
        }
    )


if __name__ == "__main__":
    main()
