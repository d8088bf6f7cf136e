"""What the sinks put on the wire and on disk."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import httpx
import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from mlvigil.telemetry.records import (
    LabelRecord,
    PredictionRecord,
    RejectedBatchError,
    TransientSinkError,
)
from mlvigil.telemetry.sinks import HttpSink, ParquetSink

NOON = dt.datetime(2026, 11, 24, 12, 30, 0, 250_000, tzinfo=dt.UTC).timestamp()


def prediction(id: str, features: dict[str, object], *, at: float = NOON, model: str = "credit"):
    return PredictionRecord(id, at, model, "v2", features, "repaid", 0.75, 3.5)


def test_http_sink_posts_the_documented_json_per_model_and_kind():
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        sink = HttpSink("http://svc:8000/", client=client, headers={"Authorization": "Bearer t"})
        sink.write_predictions(
            [prediction("a", {"age": np.int64(41), "income": float("nan"), "plan": None})]
        )
        sink.write_labels([LabelRecord("a", "credit risk", 1, NOON)])
        sink.close()
        assert not client.is_closed  # an injected client belongs to the caller

    first, second = requests
    assert str(first.url) == "http://svc:8000/api/v1/models/credit/predictions"
    assert first.headers["Authorization"] == "Bearer t"
    assert first.headers["Content-Type"] == "application/json"
    assert json.loads(first.content) == {
        "records": [
            {
                "id": "a",
                "timestamp": "2026-11-24T12:30:00.250000Z",
                "model_version": "v2",
                "features": {"age": 41, "income": None, "plan": None},
                "prediction": "repaid",
                "score": 0.75,
                "latency_ms": 3.5,
            }
        ]
    }
    assert str(second.url) == "http://svc:8000/api/v1/models/credit%20risk/labels"
    assert json.loads(second.content) == {
        "records": [{"id": "a", "label": 1, "timestamp": "2026-11-24T12:30:00.250000Z"}]
    }


def test_idempotency_key_names_the_batch_not_the_attempt():
    keys: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        sink = HttpSink("http://svc", client=client)
        batch = [prediction("a", {}), prediction("b", {})]
        sink.write_predictions(batch)
        sink.write_predictions(batch)
        sink.write_predictions([prediction("c", {})])
    assert keys[0] == keys[1] != keys[2]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, TransientSinkError),
        (503, TransientSinkError),
        (408, TransientSinkError),
        (400, RejectedBatchError),
        (404, RejectedBatchError),
        (413, RejectedBatchError),
        (422, RejectedBatchError),
    ],
)
def test_http_status_decides_between_retry_and_reject(status, error):
    transport = httpx.MockTransport(lambda request: httpx.Response(status, text="why"))
    with (
        httpx.Client(transport=transport) as client,
        pytest.raises(error, match=f"answered {status}: why"),
    ):
        HttpSink("http://svc", client=client).write_predictions([prediction("a", {})])


def test_an_unreachable_service_is_a_transient_failure():
    sink = HttpSink("http://127.0.0.1:9", timeout=1.0)  # nothing listens on port 9
    with pytest.raises(TransientSinkError, match="ConnectError"):
        sink.write_predictions([prediction("a", {})])
    sink.close()


def test_parquet_sink_partitions_by_model_date_and_hour(tmp_path):
    sink = ParquetSink(tmp_path)
    an_hour_later = NOON + 3600
    sink.write_predictions(
        [prediction("a", {"x": 1.0}), prediction("b", {"x": 2.0}, at=an_hour_later)]
    )
    sink.write_predictions([prediction("c", {"x": 3.0}, model="fraud/v2")])
    files = sorted(p.relative_to(tmp_path).parent.as_posix() for p in tmp_path.rglob("*.parquet"))
    assert files == [
        "model=credit/date=2026-11-24/hour=12",
        "model=credit/date=2026-11-24/hour=13",
        "model=fraud%2Fv2/date=2026-11-24/hour=12",
    ]
    assert not list(tmp_path.rglob("*.tmp"))

    rows = duckdb.sql(
        f"select model, hour, id from read_parquet('{tmp_path}/**/*.parquet', "
        "hive_partitioning = true) order by id"
    ).fetchall()
    # DuckDB decodes the percent-encoded partition value back to the model name.
    assert rows == [("credit", 12, "a"), ("credit", 13, "b"), ("fraud/v2", 12, "c")]


def test_parquet_columns_keep_types_and_fill_missing_features_with_null(tmp_path):
    ParquetSink(tmp_path).write_predictions(
        [
            prediction("a", {"age": 41, "plan": "gold", "score": 7}),
            prediction("b", {"age": 52, "income": 1.5}),
        ]
    )
    table = ds.dataset(tmp_path, format="parquet").to_table()
    assert table.column_names[:6] == [
        "id",
        "timestamp",
        "model_version",
        "prediction",
        "score",
        "latency_ms",
    ]
    assert table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("age").type == pa.int64()
    assert table.column("plan").to_pylist() == ["gold", None]
    assert table.column("income").to_pylist() == [None, 1.5]
    # A feature named like a reserved column keeps its value under its own name.
    assert table.column("feature.score").to_pylist() == [7, None]
    assert table.column("score").to_pylist() == [0.75, 0.75]


def test_a_column_of_mixed_types_is_written_as_strings_not_lost(tmp_path):
    ParquetSink(tmp_path).write_predictions(
        [prediction("a", {"zip": 12345}), prediction("b", {"zip": "SW1A"}), prediction("c", {})]
    )
    table = ds.dataset(tmp_path, format="parquet").to_table()
    assert table.schema.field("zip").type == pa.string()
    assert table.column("zip").to_pylist() == ["12345", "SW1A", None]


def test_labels_are_written_under_their_own_folder(tmp_path):
    ParquetSink(tmp_path).write_labels([LabelRecord("a", "credit", True, NOON)])
    table = ds.dataset(tmp_path / "labels", format="parquet", partitioning="hive").to_table()
    assert table.select(["id", "label", "model"]).to_pylist() == [
        {"id": "a", "label": True, "model": "credit"}
    ]
    assert not list((tmp_path).glob("model=*"))


def test_outcomes_and_error_flags_are_columns_of_their_own(tmp_path):
    sink = ParquetSink(tmp_path)
    sink.write_predictions(
        [
            prediction("a", {"clicked": 3}, at=NOON)._replace(
                outcomes={"clicked": 1.0}, error=True
            ),
            prediction("b", {}, at=NOON),
        ]
    )
    sink.write_labels([LabelRecord("a", "credit", True, NOON, {"revenue": 42.0})])
    predictions = ds.dataset(tmp_path / "model=credit", format="parquet").to_table().to_pylist()
    assert [(r["clicked"], r["outcome.clicked"]) for r in predictions] == [(3, 1.0), (None, None)]
    assert [r["error"] for r in predictions] == [True, None]
    labels = ds.dataset(tmp_path / "labels", format="parquet", partitioning="hive").to_table()
    assert labels.column("revenue").to_pylist() == [42.0]
