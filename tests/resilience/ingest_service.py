"""A real `mlvigil serve` for the ingest tests: its configuration, bodies and readings.

The configuration declares ``credit`` (the classifier of ``service_data``) and, with
``regression=True``, ``demand`` (a regression model with numeric labels), the accepted
time range at its defaults unless ``accept`` says otherwise, and the scheduler every
0.2 s. Rows are timed in the last closed hour of the wall clock, which the server uses.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from prometheus_client.parser import text_string_to_metric_families

from mlvigil.service.evaluation import window_bounds
from service.service_data import AUTH, SECURITY, applicants, records

ARROW = "application/vnd.apache.arrow.stream"
PARQUET = "application/vnd.apache.parquet"
HOUR = timedelta(hours=1)

CREDIT = """
  {name}:
    schema:
      features: {{income: numerical, age: numerical, region: categorical}}
      prediction: prediction
      score: score
      target: label{schema}
    reference: {{path: reference.parquet}}
    window: 1h{retention}
    checks:
      drift: {{drift_share: 0.5}}
      quality:
        completeness: {{default_max_null_rate: 0.05}}
      performance:
        task: classification
        metrics: [accuracy]
        min_labels: 20
"""
DEMAND = """
  demand:
    schema:
      features: {income: numerical, age: numerical, region: categorical}
      prediction: prediction
      prediction_type: numerical
      score: null
      target: label
    reference: {first_windows: 1}
    window: 1h
    checks:
      performance: {task: regression, metrics: [mae], min_labels: 5}
"""


def last_hour() -> datetime:
    """Start of the last closed hour (rows timed in it are accepted and evaluated)."""
    return window_bounds(datetime.now(UTC) - HOUR, HOUR)[0]


def write_config(
    directory: Path,
    *,
    models: tuple[str, ...] = ("credit",),
    regression: bool = False,
    accept: str = "",
    schema: str = "",
    retention: str = "",
    limits: str = "",
) -> Path:
    """The configuration and the credit model's reference data; the config's path."""
    reference = applicants(2_000, seed=0)
    labels = [int(i < 45_000) for i in reference["income"]]
    pq.write_table(
        pa.table({**reference, "prediction": labels, "score": [0.8] * 2_000, "label": labels}),
        directory / "reference.parquet",
    )
    declared = "".join(
        CREDIT.format(
            name=name,
            schema=f"\n      {schema}" if schema else "",
            retention=f"\n    retention: {retention}" if retention else "",
        )
        for name in models
    )
    text = (
        "store: store/mlvigil.duckdb\nevaluation_interval: 0.2\nlateness: 1\n"
        f"{accept}\n{limits}\nmodels:{declared}{DEMAND if regression else ''}{SECURITY}"
    )
    path = directory / "mlvigil.yaml"
    path.write_text(text)
    return path


def frame(batch: list[dict[str, Any]]) -> pa.Table:
    """Records (as the SDK sends them) as one flat table, a column per field."""
    flat = [{**{k: v for k, v in r.items() if k != "features"}, **r["features"]} for r in batch]
    return pa.Table.from_pylist(flat)


def arrow_body(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def parquet_body(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def body_of(table: pa.Table, media: str) -> bytes:
    """``table`` as an Arrow IPC stream or a Parquet file."""
    return arrow_body(table) if media == ARROW else parquet_body(table)


def post(
    url: str, model: str, kind: str, *, content: bytes, media: str, **headers: str
) -> httpx.Response:
    """POST a body to ``/api/v1/models/{model}/{kind}`` with the test token."""
    return httpx.post(
        f"{url}/api/v1/models/{model}/{kind}",
        content=content,
        headers={**AUTH, "content-type": media, **headers},
        timeout=30,
    )


def post_json(url: str, model: str, kind: str, body: Any, **headers: str) -> httpx.Response:
    """POST JSON to ``/api/v1/models/{model}/{kind}`` with the test token."""
    return httpx.post(
        f"{url}/api/v1/models/{model}/{kind}",
        json=body,
        headers={**AUTH, **headers},
        timeout=30,
    )


def evaluate(url: str, model: str, start: datetime) -> httpx.Response:
    """POST /evaluate for the hour starting at ``start``."""
    params = {"start": start.isoformat(), "end": (start + HOUR).isoformat()}
    return httpx.post(
        f"{url}/api/v1/models/{model}/evaluate", params=params, headers=AUTH, timeout=60
    )


def results(url: str, model: str, **params: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{url}/api/v1/models/{model}/results", params=params, headers=AUTH, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["results"])


def windows(url: str, model: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{url}/api/v1/models/{model}/windows", headers=AUTH, timeout=30)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["windows"])


def stored(url: str, model: str) -> int:
    """How many predictions of ``model`` the store holds."""
    models = httpx.get(f"{url}/api/v1/models", headers=AUTH, timeout=30).json()["models"]
    return int(next(m["predictions"] for m in models if m["name"] == model))


def counter(url: str, name: str, **labels: str) -> float:
    """The value of a series of ``/metrics`` (0 when it is absent)."""
    text = httpx.get(f"{url}/metrics", headers=AUTH, timeout=30).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def credit_records(rows: int, start: datetime, *, prefix: str = "p", seed: int = 1) -> list[dict]:
    """``rows`` credit prediction records spread over the half hour after ``start``."""
    return records(rows, seed=seed, start=start, prefix=prefix)
