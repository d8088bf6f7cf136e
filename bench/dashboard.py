"""Dashboard and window-report speed for a model with 100 features and 1,000 windows.

Fills a DuckDB store with 1,000 evaluated windows (per window: 100 drift results, the
drift share, quality and performance results, and a real 100-column profile), starts
``mlvigil serve`` on it, and measures over real HTTP from this process:

- ``overview``, ``model_view``, ``distribution``, ``window_report``: latency of each
  endpoint's first request (cold: the window profile is read from the store) and the
  median of ``--runs`` more, and the bytes it sends (plain and gzip);
- ``browser``: with Debian's chromium (skipped if absent), time from navigation to the
  model page's heatmap and charts being drawn, median of ``--runs`` fresh page loads.

Prints one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mlvigil.checks.result import CheckResult, CheckStatus, Severity
from mlvigil.profile import profile_table
from mlvigil.service.config import load_service_config
from mlvigil.service.store import Store, WindowRecord

MODEL = "wide"
START = datetime(2026, 1, 1, tzinfo=UTC)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _config(features: int) -> str:
    names = ", ".join(f"f{i}: numerical" for i in range(features))
    return f"""
store: store.duckdb
evaluation_interval: 1d
models:
  {MODEL}:
    schema:
      features: {{{names}}}
      prediction: prediction
      target: label
    reference: {{path: reference.parquet}}
    window: 1h
    checks:
      drift: {{}}
      quality: {{completeness: {{default_max_null_rate: 0.05}}}}
"""


def _table(features: int, rows: int, seed: int, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {f"f{i}": rng.normal(shift, 1.0, rows) for i in range(features)}
    columns["prediction"] = rng.integers(0, 2, rows)
    columns["label"] = rng.integers(0, 2, rows)
    return pa.table(columns)


def _results(features: int, rng: np.random.Generator, drifting: bool) -> list[CheckResult]:
    results = []
    drifted = 0
    for i in range(features):
        statistic = float(
            rng.uniform(0.05, 0.3) if drifting and i % 3 == 0 else rng.uniform(0, 0.09)
        )
        failed = statistic >= 0.1
        drifted += failed
        results.append(
            CheckResult(
                "drift",
                "wasserstein",
                f"f{i}",
                statistic,
                0.1,
                CheckStatus.FAILED if failed else CheckStatus.PASSED,
                Severity.WARNING,
                "wasserstein",
                {"type": "numerical", "rule": "distance", "p_value": None},
                score=statistic / 0.1,  # a distance's score, as the drift check computes it
            )
        )
    share = drifted / features
    results.append(
        CheckResult(
            "drift",
            "drift_share",
            None,
            share,
            0.5,
            CheckStatus.FAILED if share >= 0.5 else CheckStatus.PASSED,
            Severity.WARNING,
            "",
        )
    )
    results.extend(
        CheckResult("completeness", "null_rate", f"f{i}", 0.0, 0.05, CheckStatus.PASSED)
        for i in range(features)
    )
    results.append(
        CheckResult(
            "performance", "accuracy", None, float(rng.uniform(0.8, 0.9)), 0.8, CheckStatus.PASSED
        )
    )
    return results


def fill_store(directory: Path, features: int, windows: int) -> None:
    config = load_service_config(directory / "mlvigil.yaml")
    store = Store(config.store, config.models)
    profile = profile_table(_table(features, 1_000, seed=1, shift=0.2)).serialize()
    rng = np.random.default_rng(7)
    try:
        for w in range(windows):
            start = START + timedelta(hours=w)
            record = WindowRecord(start, start + timedelta(hours=1), 1_000, 800, start, True)
            store.save_window(MODEL, record, profile, _results(features, rng, w > windows // 2))
            if w % 200 == 0:
                log(f"filled {w}/{windows} windows")
    finally:
        store.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _timed(client: httpx.Client, path: str, runs: int, **params: str) -> dict[str, Any]:
    """Latency of the first request and median of ``runs`` more, and the bytes sent."""
    seconds, size = [], 0
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = client.get(path, params=params, headers={"Accept-Encoding": "identity"})
        seconds.append(time.perf_counter() - started)
        response.raise_for_status()
        size = len(response.content)
    gzipped = client.get(path, params=params, headers={"Accept-Encoding": "gzip"})
    return {
        "first_ms": round(seconds[0] * 1000, 1),
        "median_ms": round(statistics.median(seconds[1:]) * 1000, 1),
        "bytes": size,
        "gzip_bytes": int(gzipped.headers.get("content-length", size)),
    }


def _browser(url: str, runs: int) -> dict[str, Any] | None:
    chromium = shutil.which("chromium")
    if chromium is None:
        log("chromium not found: browser timing skipped")
        return None
    from playwright.sync_api import sync_playwright

    loads = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            started = time.perf_counter()
            page.goto(f"{url}/#/models/{MODEL}")
            page.get_by_role("img", name="drift scores by column and window").wait_for()
            page.get_by_role("img", name="distribution of prediction").wait_for()
            page.evaluate("new Promise(requestAnimationFrame)")  # the heatmap is drawn
            loads.append(time.perf_counter() - started)
            page.close()
        browser.close()
    return {"model_page_median_ms": round(statistics.median(loads) * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--windows", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="mlvigil-bench-dashboard-"))
    (directory / "mlvigil.yaml").write_text(_config(args.features))
    pq.write_table(_table(args.features, 5_000, seed=0), directory / "reference.parquet")
    log(f"filling a store with {args.windows} windows of {args.features} features")
    fill_store(directory, args.features, args.windows)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlvigil", "serve", "--config", "mlvigil.yaml", "--port", str(port)],
        cwd=directory,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                time.sleep(0.1)
            base = f"/api/v1/models/{MODEL}"
            window = (START + timedelta(hours=args.windows - 1)).isoformat()
            result = {
                "features": args.features,
                "windows": args.windows,
                "runs": args.runs,
                "overview": _timed(client, "/api/v1/overview", args.runs),
                "model_view": _timed(client, f"{base}/dashboard", args.runs),
                "distribution": _timed(client, f"{base}/distribution", args.runs, column="f0"),
                "window_report": _timed(client, f"{base}/report", args.runs, window=window),
                "browser": _browser(url, args.runs),
            }
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(directory, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
