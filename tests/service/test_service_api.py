"""The service's HTTP contract, in process: ingest, labels, evaluation, results, metrics."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta

import httpx
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from prometheus_client.parser import text_string_to_metric_families
from service_data import AUTH, START, records

from mlvigil import catalog
from mlvigil.service.app import create_app


class Client:
    """Synchronous calls into the ASGI app (no lifespan: the scheduler stays off).

    Every request carries the test service's token (every scope).
    """

    def __init__(self, app) -> None:
        self._app = app

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self._app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://localhost", headers=AUTH
            ) as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(call())

    def post(self, path: str, **kwargs) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.request("GET", path, **kwargs)


@pytest.fixture
def client(service_factory) -> Client:
    return Client(create_app(service_factory(), schedule=False))


def evaluate_first_hour(client: Client) -> httpx.Response:
    end = START + timedelta(hours=1)
    return client.post(
        "/api/v1/models/credit/evaluate",
        params={"start": START.isoformat(), "end": end.isoformat()},
    )


def results_by_metric(client: Client, check: str) -> dict[tuple[str, str | None], dict]:
    rows = client.get("/api/v1/models/credit/results", params={"check": check}).json()["results"]
    return {(r["metric"], r["column"]): r for r in rows}


def test_a_json_batch_is_stored_and_counted(client):
    response = client.post("/api/v1/models/credit/predictions", json={"records": records(50)})
    assert response.status_code == 201
    assert response.json() == {"stored": 50, "replaced": 0, "duplicate_batch": False}
    models = client.get("/api/v1/models").json()["models"]
    assert models == [{"name": "credit", "predictions": 50, "labels": 0}]


def test_a_batch_with_bad_rows_is_rejected_whole_naming_row_and_field(client):
    batch = records(5)
    batch[1]["features"]["income"] = "lots"
    del batch[3]["prediction"]
    batch[4]["timestamp"] = "yesterday"
    response = client.post("/api/v1/models/credit/predictions", json={"records": batch})
    assert response.status_code == 422
    body = response.json()
    assert [(p["row"], p["field"]) for p in body["problems"]] == [
        (1, "income"),
        (3, "prediction"),
        (4, "timestamp"),
    ]
    assert "expected a number" in body["problems"][0]["message"]
    assert body["detail"].startswith("row 1, field 'income'")
    assert client.get("/api/v1/models").json()["models"][0]["predictions"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "malformed JSON"),
        (b'{"records": []}', "no records"),
        (b'{"rows": 1}', "expected {"),
        (b"[1, 2]", "expected an object"),
    ],
)
def test_malformed_bodies_get_a_4xx_with_the_reason(client, body, message):
    response = client.post(
        "/api/v1/models/credit/predictions",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_unknown_model_oversized_body_and_unsupported_type_are_client_errors(client):
    unknown = client.post("/api/v1/models/nope/predictions", json={"records": records(1)})
    assert unknown.status_code == 404
    assert "configured models: credit" in unknown.json()["detail"]
    big = client.post(
        "/api/v1/models/credit/predictions",
        content=b"[" + b" " * 70_000_000 + b"]",
        headers={"content-type": "application/json"},
    )
    assert big.status_code == 413
    text = client.post(
        "/api/v1/models/credit/predictions", content=b"a,b", headers={"content-type": "text/csv"}
    )
    assert text.status_code == 415
    assert "application/json" in text.json()["detail"]


def _columnar(rows: list[dict]) -> pa.Table:
    flat = [{**r.pop("features"), **r} for r in rows]
    table = pa.Table.from_pylist(flat)
    return table.set_column(
        table.column_names.index("timestamp"),
        "timestamp",
        table.column("timestamp").cast(pa.timestamp("us", tz="UTC")),
    )


def test_arrow_ipc_and_parquet_bodies_are_stored(client):
    table = _columnar(records(30, seed=2))
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    arrow = client.post(
        "/api/v1/models/credit/predictions",
        content=sink.getvalue(),
        headers={"content-type": "application/vnd.apache.arrow.stream"},
    )
    assert arrow.status_code == 201, arrow.text
    parquet = io.BytesIO()
    pq.write_table(_columnar(records(20, seed=3)), parquet)
    response = client.post(
        "/api/v1/models/credit/predictions",
        content=parquet.getvalue(),
        headers={"content-type": "application/vnd.apache.parquet"},
    )
    assert response.status_code == 201, response.text
    assert client.get("/api/v1/models").json()["models"][0]["predictions"] == 50


def test_a_columnar_body_missing_a_required_column_is_rejected(client):
    table = _columnar(records(3)).drop_columns(["prediction"])
    parquet = io.BytesIO()
    pq.write_table(table, parquet)
    response = client.post(
        "/api/v1/models/credit/predictions",
        content=parquet.getvalue(),
        headers={"content-type": "application/vnd.apache.parquet"},
    )
    assert response.status_code == 422
    assert response.json()["problems"][0] == {
        "row": None,
        "field": "prediction",
        "message": "required column is missing",
    }


def test_a_retried_batch_with_the_same_idempotency_key_is_stored_once(client):
    batch = {"records": records(10)}
    headers = {"Idempotency-Key": "batch-1"}
    first = client.post("/api/v1/models/credit/predictions", json=batch, headers=headers)
    again = client.post("/api/v1/models/credit/predictions", json=batch, headers=headers)
    assert first.json() == {"stored": 10, "replaced": 0, "duplicate_batch": False}
    assert again.json() == {"stored": 0, "replaced": 0, "duplicate_batch": True}
    assert client.get("/api/v1/models").json()["models"][0]["predictions"] == 10


def test_labels_join_by_id_and_unknown_ids_are_reported(client):
    client.post("/api/v1/models/credit/predictions", json={"records": records(5)})
    labels = [{"id": f"p1-{i}", "label": 1} for i in range(5)] + [{"id": "ghost", "label": 0}]
    response = client.post("/api/v1/models/credit/labels", json={"records": labels})
    assert response.status_code == 201
    assert response.json() == {"stored": 6, "unknown_ids": 1, "duplicate_batch": False}


def test_evaluation_reports_drift_quality_and_performance(client):
    batch = records(400, seed=5, income_shift=25_000, null_income=0.2)
    client.post("/api/v1/models/credit/predictions", json={"records": batch})
    # Labels for 300 rows: the true class is the opposite of the prediction for a third.
    labels = [
        {"id": r["id"], "label": r["prediction"] if i % 3 else 1 - r["prediction"]}
        for i, r in enumerate(batch[:300])
    ]
    client.post("/api/v1/models/credit/labels", json={"records": labels})

    response = evaluate_first_hour(client)
    assert response.status_code == 200
    (window,) = response.json()["windows"]
    assert (window["rows"], window["labelled"]) == (400, 300)

    drift = results_by_metric(client, "drift")
    assert drift[("drift_share", None)]["status"] == "failed"
    income = next(r for (m, c), r in drift.items() if c == "income")
    assert income["status"] == "failed"
    assert next(r for (m, c), r in drift.items() if c == "age")["status"] == "passed"
    completeness = results_by_metric(client, "completeness")
    assert completeness[("null_rate", "income")]["status"] == "failed"
    assert completeness[("null_rate", "income")]["value"] == pytest.approx(0.2, abs=0.06)
    performance = results_by_metric(client, "performance")
    assert performance[("label_coverage", None)]["value"] == 0.75
    assert performance[("accuracy", None)]["value"] == pytest.approx(2 / 3, abs=0.01)
    assert performance[("accuracy", None)]["status"] == "failed"  # baseline 0.9 - 0.05

    windows = client.get("/api/v1/models/credit/windows").json()["windows"]
    assert [w["rows"] for w in windows] == [400]


def test_results_and_metrics_agree(client):
    client.post("/api/v1/models/credit/predictions", json={"records": records(300, seed=7)})
    evaluate_first_hour(client)
    rows = client.get(
        "/api/v1/models/credit/results", params={"check": "drift", "column": "income"}
    ).json()["results"]
    assert len(rows) == 1
    metrics = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(client.get("/metrics").text)
        for s in f.samples
    }
    key = (
        "mlvigil_drift_score",
        (("column", "income"), ("method", rows[0]["metric"]), ("model", "credit")),
    )
    assert metrics[key] == pytest.approx(rows[0]["value"])
    assert metrics[("mlvigil_window_rows", (("model", "credit"),))] == 300
    assert (
        metrics[("mlvigil_rows_ingested_total", (("kind", "predictions"), ("model", "credit")))]
        == 300
    )
    assert metrics[("mlvigil_dataset_drift", (("model", "credit"),))] == 0


def test_an_empty_window_is_reported_as_no_data(client):
    response = evaluate_first_hour(client)
    assert response.json()["windows"][0]["rows"] == 0
    volume = results_by_metric(client, "volume")
    assert volume[("row_count", None)]["status"] == "failed"


def test_the_model_endpoint_returns_the_schema_clients_need(client):
    body = client.get("/api/v1/models/credit").json()
    assert body["schema"]["features"] == {
        "income": "numerical",
        "age": "numerical",
        "region": "categorical",
    }
    assert body["window_seconds"] == 3600
    assert json.loads(json.dumps(body))  # plain JSON


def test_probes_answer(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_every_catalogued_metric_is_exported_with_its_type_and_labels(client):
    client.post("/api/v1/models/credit/predictions", json={"records": records(300, seed=8)})
    evaluate_first_hour(client)
    exported = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    for metric in catalog.METRICS:
        family = exported[metric.name]  # counters: the parser drops the _total suffix
        assert family.type == metric.kind, metric.name
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            assert set(sample.labels) == set(metric.labels), (metric.name, sample.labels)
