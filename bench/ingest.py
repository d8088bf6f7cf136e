"""Ingest throughput and evaluation time of the monitoring service, over real HTTP.

Starts ``mlvigil serve`` (uvicorn, DuckDB file store) in a child process on 127.0.0.1
with a model of 20 numerical features, then measures from this process:

- ``json``: sustained rows/s posting JSON batches of ``--batch`` rows (as the SDK's
  prediction logger sends them), bodies serialized beforehand;
- ``arrow``: the same with Arrow IPC stream bodies of ``--arrow-batch`` rows (bulk);
- ``single``: p50/p99 latency of posting one record at a time (JSON, keep-alive);
- ``evaluate``: wall time of ``POST /evaluate`` on one window of ``--window-rows`` rows
  (profile, quality, exact drift against the reference's rows, performance);
- ``reevaluate``: wall time of evaluating that window again after a late batch of
  ``--late-labels`` labels arrived for it (the scheduler does the same on its own).

Each figure is the median over ``--runs`` runs; every run starts a fresh store and
server. ``server_peak_rss_mb`` is the server's peak resident memory over the run.
Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

FEATURES = [f"f{i}" for i in range(20)]
START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
#: The bench's token: every scope (POST /evaluate needs admin).
TOKEN = "bench-token-with-every-scope-0123"
CONFIG = """
store: store.duckdb
evaluation_interval: 1d
accept: {{max_age: 36500d}}  # the rows are dated from START, whatever day this runs
models:
  bench:
    schema:
      features: {features}
      prediction: prediction
      score: score
      target: label
    reference: {{path: reference.parquet}}
    window: 1d
    checks:
      drift: {{}}
      quality:
        completeness: {{default_max_null_rate: 0.05}}
      performance: {{task: classification, metrics: [accuracy, roc_auc], min_labels: 10}}
security:
  tokens: [{{name: bench, scopes: [ingest, read, admin], token: {token}}}]
"""


def columns(rows: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = {name: rng.normal(i, 1 + i % 3, rows).round(4) for i, name in enumerate(FEATURES)}
    data["score"] = rng.random(rows).round(4)
    return data


def json_batch(rows: int, seed: int, offset: int) -> bytes:
    data = columns(rows, seed)
    start = START + timedelta(seconds=offset)
    records = [
        {
            "id": f"r{seed}-{i}",
            "timestamp": (start + timedelta(milliseconds=i)).isoformat(),
            "model_version": "1",
            "features": {name: float(data[name][i]) for name in FEATURES},
            "prediction": int(data["score"][i] > 0.5),
            "score": float(data["score"][i]),
            "latency_ms": 2.5,
        }
        for i in range(rows)
    ]
    return orjson.dumps({"records": records})


def arrow_batch(rows: int, seed: int, offset: int) -> bytes:
    data = columns(rows, seed)
    start = START + timedelta(seconds=offset)
    table = pa.table(
        {
            "id": [f"a{seed}-{i}" for i in range(rows)],
            "timestamp": pa.array(
                [start + timedelta(milliseconds=i) for i in range(rows)],
                pa.timestamp("us", tz="UTC"),
            ),
            **{name: data[name] for name in FEATURES},
            "prediction": (data["score"] > 0.5).astype(np.int64).astype(str),
            "score": data["score"],
        }
    )
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def write_config(folder: Path) -> Path:
    reference = columns(20_000, seed=999)
    reference["prediction"] = (reference["score"] > 0.5).astype(np.int64).astype(str)
    pq.write_table(pa.table(reference), folder / "reference.parquet")
    path = folder / "mlvigil.yaml"
    features = "{" + ", ".join(f"{n}: numerical" for n in FEATURES) + "}"
    path.write_text(CONFIG.format(features=features, token=TOKEN))
    return path


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory in bytes (``VmHWM``; 0 where unavailable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@contextmanager
def service(folder: Path) -> Iterator[tuple[str, int]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlvigil",
            "serve",
            "--config",
            str(write_config(folder)),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(30)


def post_all(client: httpx.Client, bodies: list[bytes], content_type: str, rows: int) -> float:
    """Rows per second over posting every body in turn."""
    started = time.perf_counter()
    for body in bodies:
        response = client.post(
            "/api/v1/models/bench/predictions",
            content=body,
            headers={"content-type": content_type},
        )
        response.raise_for_status()
    return rows * len(bodies) / (time.perf_counter() - started)


def one_run(args: argparse.Namespace) -> dict[str, float]:
    figures: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as folder,
        service(Path(folder)) as (url, server_pid),
        httpx.Client(
            base_url=url, timeout=120, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as client,
    ):
        print("  json batches", file=sys.stderr)
        bodies = [json_batch(args.batch, seed, seed) for seed in range(args.batches)]
        figures["json_rows_per_second"] = post_all(client, bodies, "application/json", args.batch)
        print("  arrow batches", file=sys.stderr)
        arrow = [arrow_batch(args.arrow_batch, 10_000 + s, 50_000 + s) for s in range(5)]
        figures["arrow_rows_per_second"] = post_all(
            client, arrow, "application/vnd.apache.arrow.stream", args.arrow_batch
        )
        print("  single records", file=sys.stderr)
        singles = [json_batch(1, 20_000 + i, 80_000 + i) for i in range(args.singles)]
        latencies = []
        for body in singles:
            started = time.perf_counter()
            client.post(
                "/api/v1/models/bench/predictions",
                content=body,
                headers={"content-type": "application/json"},
            ).raise_for_status()
            latencies.append(time.perf_counter() - started)
        latencies.sort()
        figures["single_p50_ms"] = latencies[len(latencies) // 2] * 1000
        figures["single_p99_ms"] = latencies[int(len(latencies) * 0.99)] * 1000
        print("  evaluate one window", file=sys.stderr)
        day = START + timedelta(days=3)
        window = arrow_batch(args.window_rows, 30_000, int((day - START).total_seconds()))
        client.post(
            "/api/v1/models/bench/predictions",
            content=window,
            headers={"content-type": "application/vnd.apache.arrow.stream"},
        ).raise_for_status()
        started = time.perf_counter()
        response = client.post(
            "/api/v1/models/bench/evaluate",
            params={"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()},
        )
        response.raise_for_status()
        figures["evaluate_window_seconds"] = time.perf_counter() - started
        assert response.json()["windows"][0]["rows"] == args.window_rows
        labels = {
            "records": [{"id": f"a30000-{i}", "label": str(i % 2)} for i in range(args.late_labels)]
        }
        client.post("/api/v1/models/bench/labels", content=orjson.dumps(labels)).raise_for_status()
        started = time.perf_counter()
        response = client.post(
            "/api/v1/models/bench/evaluate",
            params={"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()},
        )
        response.raise_for_status()
        figures["reevaluate_after_late_labels_seconds"] = time.perf_counter() - started
        assert response.json()["windows"][0]["labelled"] == args.late_labels
        figures["server_peak_rss_mb"] = _peak_rss(server_pid) / 2**20
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1_000, help="rows per JSON batch")
    parser.add_argument("--batches", type=int, default=100, help="JSON batches per run")
    parser.add_argument("--arrow-batch", type=int, default=100_000, help="rows per Arrow batch")
    parser.add_argument("--singles", type=int, default=500, help="single-record posts")
    parser.add_argument("--window-rows", type=int, default=100_000)
    parser.add_argument("--late-labels", type=int, default=10_000)
    args = parser.parse_args()
    runs = []
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", file=sys.stderr)
        runs.append(one_run(args))
    median = {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}
    print(
        json.dumps(
            {
                "features": len(FEATURES),
                "json_batch_rows": args.batch,
                "arrow_batch_rows": args.arrow_batch,
                "window_rows": args.window_rows,
                "late_labels": args.late_labels,
                "runs": args.runs,
                "median": median,
                "all_runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
