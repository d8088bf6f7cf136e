"""A small credit model: its configuration, reference data and prediction records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

#: The test service's token, with every scope; test clients send it (``AUTH``).
TOKEN = "test-token-with-every-scope-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: The test service's ``security`` section: one token with every scope.
SECURITY = f"""
security:
  tokens:
    - {{name: test, scopes: [ingest, read, admin], token: {TOKEN}}}
"""

CONFIG = """
store: store/mlvigil.duckdb
evaluation_interval: 3600
accept: {max_age: 36500d}  # the rows are dated from START, whatever day the tests run
models:
  credit:
    schema:
      features: {income: numerical, age: numerical, region: categorical}
      prediction: prediction
      score: score
      target: label
    reference: {path: reference.parquet}
    window: 1h
    checks:
      drift: {drift_share: 0.5}
      quality:
        completeness: {default_max_null_rate: 0.05}
      performance:
        task: classification
        metrics: [accuracy, roc_auc]
        baseline: {accuracy: 0.9}
        max_degradation: 0.05
        min_labels: 20
"""


def applicants(rows: int, seed: int, *, income_shift: float = 0.0) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    return {
        "income": (rng.normal(50_000, 10_000, rows) + income_shift).round(2).tolist(),
        "age": rng.integers(20, 70, rows).astype(float).tolist(),
        "region": rng.choice(["north", "south", "east"], rows).tolist(),
    }


def records(
    rows: int,
    *,
    seed: int = 1,
    start: datetime = START,
    income_shift: float = 0.0,
    null_income: float = 0.0,
    prefix: str = "p",
) -> list[dict[str, Any]]:
    """Prediction records as the SDK sends them, spread over the first half hour."""
    data = applicants(rows, seed, income_shift=income_shift)
    rng = np.random.default_rng(seed + 100)
    out = []
    for i in range(rows):
        income = None if rng.random() < null_income else data["income"][i]
        prediction = int(data["income"][i] < 45_000)
        out.append(
            {
                "id": f"{prefix}{seed}-{i}",
                "timestamp": (start + timedelta(seconds=i * 1800 / rows)).isoformat(),
                "model_version": "1",
                "features": {"income": income, "age": data["age"][i], "region": data["region"][i]},
                "prediction": prediction,
                "score": 0.8,
                "latency_ms": 2.0,
            }
        )
    return out


def write_config(directory: Path, *, security: str = SECURITY) -> Path:
    """Write the configuration and its reference data; return the config's path.

    ``security`` is the configuration's ``security`` section (YAML text).
    """
    reference = applicants(2_000, seed=0)
    labels = [int(i < 45_000) for i in reference["income"]]
    pq.write_table(
        pa.table({**reference, "prediction": labels, "label": labels}),
        directory / "reference.parquet",
    )
    path = directory / "mlvigil.yaml"
    path.write_text(CONFIG + security)
    return path
