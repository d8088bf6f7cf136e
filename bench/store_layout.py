"""DuckDB alone: many models as tables of their own, or as shared tables with a model key.

Before stop 29 the service gave each model a prediction table and a label table (23
and 4 columns here); at 10,000 models DuckDB's catalogue and metadata of those tables
were most of the service's memory floor, which is why models of one layout now share a
pair (``mlvigil.service.row_tables``). This measures both with DuckDB alone and no
mlvigil code: RSS once every model's window is written, the time to write them, and
the time to read one model's window back (median over 200 models). Each layout runs in
a fresh process, ``--runs`` times; figures are medians. Prints one JSON object;
progress goes to stderr.

    .venv/bin/python bench/store_layout.py --models 10000 --rows 1000
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import emit

FEATURES = 20
READS = 200


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def run_layout(layout: str, models: int, rows: int, path: Path) -> dict[str, Any]:
    """Write every model's window in ``layout``, then read some back (in this process)."""
    import duckdb
    import numpy as np
    import pyarrow as pa

    connection = duckdb.connect(str(path), config={"memory_limit": "512MB"})
    features = ", ".join(f"f{i} DOUBLE" for i in range(FEATURES))
    rng = np.random.default_rng(0)
    batch = pa.table(
        {
            "id": [f"r{i}" for i in range(rows)],
            "ts": pa.array(np.arange(rows) * 1_000_000, pa.timestamp("us", tz="UTC")),
            **{f"f{i}": rng.normal(size=rows) for i in range(FEATURES)},
        }
    )
    label = "label VARCHAR, ts TIMESTAMPTZ"
    started = time.perf_counter()
    if layout == "shared":
        connection.execute(
            f"CREATE TABLE p (model INTEGER, id VARCHAR, ts TIMESTAMPTZ, {features})"
        )
        connection.execute(
            f"CREATE TABLE l (model INTEGER, id VARCHAR, {label}, PRIMARY KEY (model, id))"
        )
    connection.register("batch", batch)
    for model in range(models):
        if layout == "shared":
            connection.execute(f"INSERT INTO p SELECT {model}, * FROM batch")
        else:
            connection.execute(f"CREATE TABLE p{model} (id VARCHAR, ts TIMESTAMPTZ, {features})")
            connection.execute(f"CREATE TABLE l{model} (id VARCHAR PRIMARY KEY, {label})")
            connection.execute(f"INSERT INTO p{model} SELECT * FROM batch")
    written = time.perf_counter() - started
    reads = []
    for model in range(0, models, max(1, models // READS)):
        started = time.perf_counter()
        if layout == "shared":
            connection.sql(f"SELECT * FROM p WHERE model = {model}").to_arrow_table()
        else:
            connection.sql(f"SELECT * FROM p{model}").to_arrow_table()
        reads.append(time.perf_counter() - started)
    result = {
        "rss_bytes": _rss_bytes(),
        "write_s": round(written, 2),
        "read_ms": round(statistics.median(reads) * 1000, 2),
    }
    connection.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000, help="rows of each model's window")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per layout")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        layout, path = args.child.split(":", 1)
        print(json.dumps(run_layout(layout, args.models, args.rows, Path(path))))
        return
    report: dict[str, Any] = {"benchmark": "store_layout", "models": args.models, "rows": args.rows}
    for layout in ("per_model", "shared"):
        runs = []
        for run in range(args.runs):
            print(
                f"[store_layout] {layout}, run {run + 1}/{args.runs}", file=sys.stderr, flush=True
            )
            with tempfile.TemporaryDirectory() as folder:
                child = f"{layout}:{Path(folder) / 'store.duckdb'}"
                argv = [sys.executable, __file__, "--models", str(args.models)]
                argv += ["--rows", str(args.rows), "--child", child]
                out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
                runs.append(json.loads(out))
        report[layout] = {
            key: statistics.median(r[key] for r in runs)
            for key in ("rss_bytes", "write_s", "read_ms")
        } | {"runs": runs}
    emit(report)


if __name__ == "__main__":
    main()
