"""How fast the service's store grows per model, and what retention bounds it to.

Simulates a model with hourly windows for ``--days`` days on a fake clock, in process
(``MonitoringService`` on a DuckDB file): each hour ``--rows-per-hour`` predictions
(half of them labelled) are stored, the scheduler's pass runs (evaluation, then
retention), and the file is checkpointed and measured. Once per model width
(``--columns``, numerical features).

Extrapolation, from the growth of the checkpointed file over the simulated windows
(after the first day, so the reference and the first pages do not count):

- ``per_window_bytes``: file growth per window, all tables;
- ``profile_bytes_per_window``: the stored profile blobs per window (exact);
- ``other_bytes_per_window``: the rest (raw rows, windows, results, alert tables);
- ``year_without_retention_bytes``: 8,760 windows of everything;
- ``year_with_default_retention_bytes``: what default retention keeps after a year:
  8,760 windows of rows and results (``retention.windows`` is 400 days) and 2,160 of
  profiles (``retention.profiles``: 90 days); ``steady_state_bytes`` the same after
  400 days (9,600 windows of rows and results), where it stays.

A second run per width keeps windows 12 hours and profiles 6 hours, and
``bounded_size_bytes`` samples the file size every simulated day: flat once retention
catches up. Prints one JSON object on stdout (progress on stderr).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from mlvigil.service import ingest
from mlvigil.service.config import load_service_config
from mlvigil.service.monitor import MonitoringService

START = datetime(2026, 1, 5, tzinfo=UTC)
CONFIG = """
store: store.duckdb
accept: {{max_age: 36500d}}
{retention}
models:
  bench:
    schema:
      features: {features}
      prediction: prediction
      score: score
      target: label
    reference: {{path: reference.parquet}}
    window: 1h
    checks:
      drift: {{}}
      quality:
        completeness: {{default_max_null_rate: 0.05}}
      performance: {{task: classification, metrics: [accuracy, roc_auc], min_labels: 10}}
"""
HOURS_PER_YEAR, PROFILE_HOURS, WINDOW_HOURS = 8_760, 90 * 24, 400 * 24


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _columns(width: int, rows: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = {f"f{i}": rng.normal(i % 7, 1 + i % 3, rows).round(4) for i in range(width)}
    data["score"] = rng.random(rows).round(4)
    return data


def _setup(folder: Path, width: int, retention: str) -> Path:
    reference = _columns(width, 5_000, seed=999)
    labels = (reference["score"] > 0.5).astype(np.int64).astype(str)
    pq.write_table(
        pa.table({**reference, "prediction": labels, "label": labels}),
        folder / "reference.parquet",
    )
    features = "{" + ", ".join(f"f{i}: numerical" for i in range(width)) + "}"
    path = folder / "mlvigil.yaml"
    path.write_text(CONFIG.format(features=features, retention=retention))
    return path


def _hour(service: MonitoringService, width: int, rows: int, hour: int) -> None:
    """Store one hour of predictions and labels for half of them."""
    config = service.model("bench")
    data = _columns(width, rows, seed=hour)
    start = START + timedelta(hours=hour)
    ids = [f"h{hour}-{i}" for i in range(rows)]
    times = [start + timedelta(seconds=3600 * i / rows) for i in range(rows)]
    table = pa.table(
        {
            "id": ids,
            "timestamp": pa.array(times, pa.timestamp("us", tz="UTC")),
            **data,
            "prediction": (data["score"] > 0.5).astype(np.int64).astype(str),
        }
    )
    service.store.insert_predictions("bench", ingest.read_predictions(_ipc(table), _ARROW, config))
    half = rows // 2
    labels = pa.table(
        {
            "id": ids[:half],
            "label": (data["score"][:half] > 0.4).astype(np.int64).astype(str),
            "timestamp": pa.array(times[:half], pa.timestamp("us", tz="UTC")),
        }
    )
    service.store.insert_labels("bench", ingest.read_labels(_ipc(labels), _ARROW, config))


_ARROW = ingest.ARROW_TYPES[0]


def _ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _size(service: MonitoringService, path: Path) -> int:
    service.store.read("CHECKPOINT").fetchall()
    return path.stat().st_size


def simulate(width: int, days: int, rows: int, retention: str) -> dict[str, Any]:
    """Run ``days`` of hourly windows; sizes per day, and the last day's table counts."""
    with tempfile.TemporaryDirectory() as folder:
        settings = load_service_config(_setup(Path(folder), width, retention))
        clock = Clock(START)
        service = MonitoringService(settings, clock=clock)
        store_path = Path(folder) / "store.duckdb"
        sizes, profile_bytes = [], []
        try:
            for hour in range(days * 24):
                _hour(service, width, rows, hour)
                clock.now = START + timedelta(hours=hour + 1, minutes=2)
                service.evaluate_due()
                service.prune()
                if (hour + 1) % 24 == 0:
                    sizes.append(_size(service, store_path))
                    (blob,) = service.store.read(
                        "SELECT coalesce(sum(octet_length(profile)), 0) FROM window_profiles"
                    ).fetchone()
                    profile_bytes.append(int(blob))
                    print(f"  {width} columns, day {len(sizes)}: {sizes[-1]:,} B", file=sys.stderr)
            counts = {
                table: int(service.store.read(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("windows", "results", "window_profiles", "predictions_g1")
            }
        finally:
            service.close()
    return {"sizes": sizes, "profile_bytes": profile_bytes, "rows": counts}


def extrapolate(run: dict[str, Any]) -> dict[str, float]:
    """Per-window growth after the first day, and the year it makes (see the module)."""
    sizes, blobs = run["sizes"], run["profile_bytes"]
    windows = 24 * (len(sizes) - 1)
    per_window = (sizes[-1] - sizes[0]) / windows
    profile = (blobs[-1] - blobs[0]) / windows
    other = max(per_window - profile, 0.0)
    return {
        "per_window_bytes": round(per_window),
        "profile_bytes_per_window": round(profile),
        "other_bytes_per_window": round(other),
        "year_without_retention_bytes": round(per_window * HOURS_PER_YEAR),
        "year_with_default_retention_bytes": round(
            other * HOURS_PER_YEAR + profile * PROFILE_HOURS
        ),
        "steady_state_bytes": round(other * WINDOW_HOURS + profile * PROFILE_HOURS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", default="20,500", help="model widths, comma-separated")
    parser.add_argument("--days", type=int, default=3, help="simulated days (at least 2)")
    parser.add_argument("--rows-per-hour", type=int, default=1_000)
    args = parser.parse_args()
    result: dict[str, Any] = {"days": args.days, "rows_per_hour": args.rows_per_hour}
    for width in (int(w) for w in args.columns.split(",")):
        print(f"{width} columns, default retention", file=sys.stderr)
        grown = simulate(width, args.days, args.rows_per_hour, "")
        print(f"{width} columns, windows kept 12 h, profiles 6 h", file=sys.stderr)
        bounded = simulate(
            width, args.days, args.rows_per_hour, "retention: {windows: 12h, profiles: 6h}"
        )
        result[f"columns_{width}"] = {
            **extrapolate(grown),
            "size_by_day_bytes": grown["sizes"],
            "bounded_size_by_day_bytes": bounded["sizes"],
            "bounded_rows": bounded["rows"],
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
