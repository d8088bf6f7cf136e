"""Two monitored models: one with drift, a quality failure, labels and a hostile feature
name; one whose performance is estimated from its scores before its labels come."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from live_servers import free_port, start_logged, wait_until_serving

HOSTILE = "<img src=x onerror=alert(1)>"
MODEL = "credit"
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
WINDOWS = 8
#: Windows from this one on see income shifted and the hostile feature's mix changed.
DRIFT_FROM = 5
#: The model with calibrated scores whose performance is estimated (``checks.estimation``).
SCORED = "churn"
#: Windows from this one on have no labels yet (both models).
UNLABELLED_FROM = WINDOWS - 2
#: Filling the service (ingest, evaluate) and silencing need this token; reads are open.
TOKEN = "dashboard-test-token-every-scope"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

CONFIG = f"""
store: store/mlvigil.duckdb
evaluation_interval: 3600
accept: {{max_age: 36500d}}  # the rows are dated from START, whatever day the tests run
models:
  {MODEL}:
    schema:
      features: {{income: numerical, age: numerical, "{HOSTILE}": categorical}}
      prediction: prediction
      score: score
      target: label
    reference: {{path: reference.parquet}}
    window: 1h
    checks:
      drift: {{drift_share: 0.5}}
      multivariate: {{methods: [reconstruction_error, domain_classifier]}}
      quality:
        completeness: {{default_max_null_rate: 0.05}}
      performance:
        task: classification
        metrics: [accuracy]
        baseline: {{accuracy: 0.9}}
        max_degradation: 0.05
        min_labels: 20
  {SCORED}:
    schema:
      features: {{tenure: numerical, monthly_fee: numerical}}
      prediction: prediction
      score: score
      target: label
    reference: {{path: {SCORED}-reference.parquet, chunk_rows: 300}}
    window: 1h
    checks:
      estimation: {{metrics: [accuracy]}}
      performance:
        task: classification
        metrics: [accuracy]
        min_labels: 20
slos:
  - name: {MODEL}-drift-free
    model: {MODEL}
    objective: 99
    sli: {{drift: {{}}}}
    alerting: {{page_alert: {{disable: true}}, ticket_alert: {{disable: true}}}}
  - name: {SCORED}-availability
    model: {SCORED}
    objective: 99.9
    sli: {{availability: {{}}}}
security:
  open_reads: true
  tokens:
    - {{name: test, scopes: [ingest, read, admin], token: {TOKEN}}}
"""


def _features(rows: int, seed: int, drifted: bool) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    mix = [0.2, 0.3, 0.5] if drifted else [0.5, 0.3, 0.2]
    return {
        "income": rng.normal(60_000 if drifted else 50_000, 10_000, rows).round(2),
        "age": rng.integers(20, 70, rows).astype(float),
        HOSTILE: rng.choice(["<b>gold</b>", "silver", "bronze"], rows, p=mix),
    }


def _customers(rows: int, seed: int) -> dict[str, Any]:
    """Scored customers: a calibrated churn probability, the label drawn from it."""
    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 12.0, rows).round(1)
    score = 1 / (1 + np.exp((tenure - 18) / 6))
    return {
        "tenure": tenure,
        "monthly_fee": rng.normal(40, 8, rows).round(2),
        "score": score.round(6),
        "prediction": (score >= 0.5).astype(int),
        "label": (rng.random(rows) < score).astype(int),
    }


def write_config(directory: Path) -> Path:
    """The configuration and its reference data; returns the config's path."""
    reference = _features(3_000, 0, drifted=False)
    labels = (reference["income"] < 45_000).astype(int)
    pq.write_table(
        pa.table({**reference, "prediction": labels, "label": labels}),
        directory / "reference.parquet",
    )
    pq.write_table(pa.table(_customers(3_000, 0)), directory / f"{SCORED}-reference.parquet")
    path = directory / "mlvigil.yaml"
    path.write_text(CONFIG)
    return path


@contextmanager
def serving(config: Path) -> Iterator[str]:
    """`mlvigil serve` on ``config`` holding eight evaluated windows; yields its URL."""
    log = config.parent / "serve.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    argv = [sys.executable, "-m", "mlvigil", "serve", "--config", str(config)]
    server = start_logged([*argv, "--port", str(port)], log, env=env, cwd=config.parent)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/readyz", server, log)
        fill(url)
        yield url
    finally:
        server.kill()
        server.wait()


def fill(url: str, rows: int = 300) -> None:
    """Send every window's predictions and labels, then evaluate them all."""
    with httpx.Client(base_url=url, timeout=30, headers=AUTH) as client:
        for window in range(WINDOWS):
            drifted = window >= DRIFT_FROM
            data = _features(rows, window + 1, drifted)
            start = START + timedelta(hours=window)
            records, labels = [], []
            for i in range(rows):
                income = float(data["income"][i])
                missing = drifted and i % 5 == 0  # a quality failure: 20% null income
                prediction = int(income < 45_000)
                records.append(
                    {
                        "id": f"w{window}-{i}",
                        "timestamp": (start + timedelta(seconds=i * 3000 / rows)).isoformat(),
                        "features": {
                            "income": None if missing else income,
                            "age": float(data["age"][i]),
                            HOSTILE: str(data[HOSTILE][i]),
                        },
                        "prediction": prediction,
                        "score": 0.8,
                        "latency_ms": 3.0,
                    }
                )
                # Labels for the older windows only, and wrong more often once drifted.
                if window < UNLABELLED_FROM:
                    wrong = (i % 4 == 0) if drifted else (i % 50 == 0)
                    labels.append(
                        {"id": f"w{window}-{i}", "label": 1 - prediction if wrong else prediction}
                    )
            client.post(
                f"/api/v1/models/{MODEL}/predictions", json={"records": records}
            ).raise_for_status()
            if labels:
                client.post(
                    f"/api/v1/models/{MODEL}/labels", json={"records": labels}
                ).raise_for_status()
            _fill_scored(client, window, rows)
        end = START + timedelta(hours=WINDOWS)
        for model in (MODEL, SCORED):
            client.post(
                f"/api/v1/models/{model}/evaluate",
                params={"start": START.isoformat(), "end": end.isoformat()},
            ).raise_for_status()


def _fill_scored(client: httpx.Client, window: int, rows: int) -> None:
    """One window of the scored model: its predictions, and labels for the older ones."""
    data = _customers(rows, 100 + window)
    start = START + timedelta(hours=window)
    ids = [f"c{window}-{i}" for i in range(rows)]
    records = [
        {
            "id": ids[i],
            "timestamp": (start + timedelta(seconds=i * 3000 / rows)).isoformat(),
            "features": {
                "tenure": float(data["tenure"][i]),
                "monthly_fee": float(data["monthly_fee"][i]),
            },
            "prediction": int(data["prediction"][i]),
            "score": float(data["score"][i]),
        }
        for i in range(rows)
    ]
    client.post(
        f"/api/v1/models/{SCORED}/predictions", json={"records": records}
    ).raise_for_status()
    if window < UNLABELLED_FROM:
        labels = [{"id": ids[i], "label": int(data["label"][i])} for i in range(rows)]
        client.post(f"/api/v1/models/{SCORED}/labels", json={"records": labels}).raise_for_status()
