"""Embedding features in the service: declared in the schema, posted as lists of numbers
(JSON) or list columns (Parquet written by pandas), stored, tested as whole vectors by
MMD and a domain classifier, and refused with a precise message when malformed.

The data: a text model whose 16-dimensional query embeddings cluster around a topic
centre; a topic change moves the centre by one standard deviation along a few
dimensions, which no single number in the schema shows.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest
from in_process import Client, Clock

from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus
from mlvigil.exceptions import ConfigError
from mlvigil.service.config import load_service_config
from mlvigil.service.monitor import MonitoringService

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DIM = 16
TOKEN = "embedding-test-token-0123456789"

CONFIG = f"""
store: store.duckdb
evaluation_interval: 3600
lateness: 0
accept: {{max_age: 36500d}}
security: {{tokens: [{{name: test, scopes: [ingest, read, admin], token: {TOKEN}}}]}}
models:
  search:
    schema:
      id: query_id
      timestamp: ts
      features: {{length: numerical, query_vector: embedding}}
      prediction: intent
      score: null
    reference: {{path: reference.parquet, chunk_rows: 1000}}
    window: 1h
    checks:
      drift: {{drift_share: 0.5}}
"""


def queries(rows: int, seed: int, *, shift: float = 0.0) -> pd.DataFrame:
    """Queries as pandas holds them: an object column of float32 numpy vectors."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(rows, DIM)).astype(np.float32)
    vectors[:, :4] += shift
    return pd.DataFrame(
        {
            "length": rng.poisson(8, rows).astype(float),
            "query_vector": list(vectors),
            "intent": rng.choice(["buy", "browse", "support"], rows),
        }
    )


@pytest.fixture
def make_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., MonitoringService]]:
    for name in ("MLVIGIL_STORE", "MLVIGIL_HOST", "MLVIGIL_PORT"):
        monkeypatch.delenv(name, raising=False)
    opened: list[MonitoringService] = []

    def make(*, reference: pd.DataFrame | None = None, config: str = CONFIG) -> MonitoringService:
        frame = reference if reference is not None else queries(4_000, 0)
        frame.to_parquet(tmp_path / "reference.parquet")  # pandas writes list<float>
        path = tmp_path / "mlvigil.yaml"
        path.write_text(config)
        service = MonitoringService(load_service_config(path), clock=Clock(T0 + 3 * HOUR))
        opened.append(service)
        return service

    yield make
    for service in opened:
        if service.ready:
            service.close()


def as_records(frame: pd.DataFrame, start: datetime) -> list[dict[str, Any]]:
    step = 1800 / len(frame)
    return [
        {
            "query_id": f"{start:%H}-{i}",
            "ts": (start + timedelta(seconds=i * step)).isoformat(),
            "length": row["length"],
            "query_vector": row["query_vector"].tolist(),
            "intent": row["intent"],
        }
        for i, row in enumerate(frame.to_dict("records"))
    ]


def post_json(client: Client, records: list[dict[str, Any]]) -> httpx.Response:
    return client.post(
        "/api/v1/models/search/predictions",
        content=orjson.dumps({"records": records}),
        headers={"Content-Type": "application/json"},
    )


def post_parquet(client: Client, frame: pd.DataFrame, start: datetime) -> httpx.Response:
    table = frame.assign(
        query_id=[f"{start:%H}-p{i}" for i in range(len(frame))],
        ts=pd.date_range(start, periods=len(frame), freq="1s", tz="UTC"),
    )
    body = io.BytesIO()
    table.to_parquet(body)
    return client.post(
        "/api/v1/models/search/predictions",
        content=body.getvalue(),
        headers={"Content-Type": "application/vnd.apache.parquet"},
    )


def window_results(service: MonitoringService, start: datetime) -> list[CheckResult]:
    service.evaluate("search", start, start + HOUR)
    return service.store.results("search", start=start, end=start + HOUR)


def vector_results(results: list[CheckResult]) -> dict[str, CheckResult]:
    found = {
        r.metric: r for r in results if r.check is CheckKind.DRIFT and r.column == "query_vector"
    }
    assert set(found) == {"mmd", "domain_classifier_auc"}, found
    return found


def test_an_embedding_shift_is_found_by_mmd_and_a_domain_classifier_with_no_multivariate_section(
    make_service,
):
    service = make_service()
    client = Client(service, TOKEN)
    assert post_json(client, as_records(queries(600, 1), T0)).status_code == 201
    assert post_parquet(client, queries(600, 2), T0 + timedelta(minutes=30)).status_code == 201
    unchanged = vector_results(window_results(service, T0))
    assert all(r.status is CheckStatus.PASSED for r in unchanged.values()), unchanged

    later = T0 + HOUR
    assert post_json(client, as_records(queries(1_200, 3, shift=1.0), later)).status_code == 201
    results = window_results(service, later)
    shifted = vector_results(results)
    assert shifted["mmd"].status is CheckStatus.FAILED
    assert shifted["mmd"].details.p_value < 0.05
    assert shifted["domain_classifier_auc"].status is CheckStatus.FAILED
    assert shifted["domain_classifier_auc"].value > 0.6
    # Univariate drift does not pretend to test a vector one number at a time.
    assert {r.metric for r in results if r.column == "query_vector"} == set(shifted)
    alerts = [a for a in service.alerts() if a["labels"]["alertname"] == "embedding_drift"]
    assert [a["labels"]["column"] for a in alerts if a["state"] == "firing"] == ["query_vector"]
    info = client.get("/api/v1/models/search")
    assert info.json()["schema"]["features"]["query_vector"] == "embedding"
    view = client.get("/api/v1/models/search/dashboard")
    assert view.status_code == 200
    assert view.json()["multivariate"]["mmd:query_vector"]["failed"] == [False, True]
    report = client.get("/api/v1/models/search/report", params={"window": later.isoformat()})
    assert report.status_code == 200
    assert "query_vector" in report.text


def test_a_batch_with_a_malformed_vector_is_refused_naming_the_row_and_nothing_is_stored(
    make_service,
):
    service = make_service()
    client = Client(service, TOKEN)
    records = as_records(queries(50, 4), T0)
    records[7]["query_vector"] = records[7]["query_vector"][:5]
    records[9]["query_vector"] = "not a vector"
    response = post_json(client, records)
    assert response.status_code == 422
    problems = {(p["row"], p["field"]): p["message"] for p in response.json()["problems"]}
    assert "5 values" in problems[(7, "query_vector")]
    assert "list of numbers" in problems[(9, "query_vector")]
    assert service.store.window_table("search", T0, T0 + HOUR).num_rows == 0


def test_vectors_holding_nan_or_another_length_than_the_reference_are_visible_errors(
    make_service,
):
    service = make_service()
    client = Client(service, TOKEN)
    frame = queries(200, 5)
    frame.at[3, "query_vector"] = np.full(DIM, np.nan, dtype=np.float32)
    response = post_parquet(client, frame, T0)
    assert response.status_code == 422
    assert {p["row"] for p in response.json()["problems"]} == {3}

    short = queries(300, 6).assign(query_vector=lambda f: [v[:8] for v in f["query_vector"]])
    assert post_parquet(client, short, T0).status_code == 201
    results = vector_results(window_results(service, T0))
    for result in results.values():
        assert result.status is CheckStatus.ERROR
        assert "length" in result.message


def test_an_embedding_cannot_be_a_segment(make_service):
    config = CONFIG.replace("score: null", "score: null\n      segments: [query_vector]")
    with pytest.raises(ConfigError, match="not embeddings"):
        make_service(config=config)
