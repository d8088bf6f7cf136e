"""The example model server under uvicorn: every signal, for real requests.

The server runs as a subprocess on 127.0.0.1 the way a user would start it. One local
HTTP receiver stands in for both the OpenTelemetry collector (``/v1/traces``, OTLP
protobuf) and the mlvigil service (prediction and label batches, JSON).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from live_servers import free_port, wait_until_serving

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "serving"
APPLICANT = {
    "age": 41,
    "income": 52000.0,
    "credit_score": 700.0,
    "loan_amount": 12000.0,
    "employment_years": 6.0,
    "loan_purpose": "car",
    "region": "north",
}

_OWN_SETTINGS = ("MLVIGIL_", "OTEL_", "PROMETHEUS_MULTIPROC_DIR")


def exported_spans(receiver) -> list[tuple[str, str, dict[str, object], str]]:
    """(name, trace id, attributes, service name) of every span the receiver got."""
    found = []
    for request in receiver.received("/v1/traces"):
        export = ExportTraceServiceRequest.FromString(request.body)
        for resource_spans in export.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: _any_value(a.value) for a in span.attributes}
                    service = resource.get("service.name", "")
                    found.append((span.name, span.trace_id.hex(), attributes, service))
    return found


def shipped(receiver, kind: str) -> list[dict[str, object]]:
    """Records the receiver got as the mlvigil service, for ``kind`` of credit-risk."""
    return [
        record
        for request in receiver.received(f"/api/v1/models/credit-risk/{kind}")
        for record in json.loads(request.body)["records"]
    ]


def _any_value(value: object) -> object:
    field = value.WhichOneof("value")  # type: ignore[attr-defined]
    return getattr(value, field) if field else None


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[object]:
    """Start the example under uvicorn; stop it gracefully (SIGTERM) at the end."""
    servers: list[subprocess.Popen[bytes]] = []

    def start(env: dict[str, str], *extra: str) -> tuple[str, subprocess.Popen[bytes], Path]:
        port = free_port()
        log = tmp_path / f"server-{port}.log"
        command = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(EXAMPLE)]
        command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", *extra]
        # Only this test's settings: none inherited from the developer's shell.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_SETTINGS)}
        with log.open("wb") as out:
            server = subprocess.Popen(
                command, env={**inherited, **env}, cwd=tmp_path, stdout=out, stderr=out
            )
        servers.append(server)
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{url}/healthz", server, log)
        return url, server, log

    yield start
    for server in servers:
        if server.poll() is None:
            server.kill()
            server.wait()


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    # Uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert server.wait(timeout=30) in (0, -signal.SIGTERM)


def _json_lines(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def _scrape(url: str) -> tuple[dict[tuple[str, frozenset[tuple[str, str]]], float], set[str]]:
    """Sample values, and the trace ids on latency exemplars (OpenMetrics only)."""
    response = httpx.get(f"{url}/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    exemplars = set(
        re.findall(
            r'^ml_prediction_latency_seconds_bucket\{.*# \{trace_id="(\w{32})"\}',
            response.text,
            flags=re.MULTILINE,
        )
    )
    classic = httpx.get(f"{url}/metrics").text
    values = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(classic)
        for sample in family.samples
    }
    return values, exemplars


def assert_host_and_gpu_series(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float]):
    """The server exports this machine's memory, and whether it has a usable GPU."""
    assert metrics[("mlvigil_host_memory_total_bytes", frozenset())] == (
        psutil.virtual_memory().total
    )
    gpu = [
        (dict(labels), value)
        for (name, labels), value in metrics.items()
        if name == "mlvigil_gpu_available"
    ]
    assert len(gpu) == 1, gpu
    labels, value = gpu[0]
    assert value == (1 if labels["reason"] == "ok" else 0)


def test_example_server_emits_metrics_logs_traces_and_prediction_records(
    start_server, local_receiver
):
    receiver = local_receiver()
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "MLVIGIL_URL": receiver.url,
    }
    url, server, log = start_server(env)

    decisions = []
    for request_number in range(5):
        applicant = {**APPLICANT, "credit_score": 600.0 + 40 * request_number}
        response = httpx.post(
            f"{url}/predict", json=applicant, headers={"x-request-id": f"req-{request_number}"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["x-request-id"] == f"req-{request_number}"
        decisions.append(response.json())
    missing = httpx.post(f"{url}/predict", json={**APPLICANT, "income": None})
    assert missing.status_code == 200
    assert httpx.post(f"{url}/predict", json={**APPLICANT, "age": "old"}).status_code == 422
    label = httpx.post(f"{url}/labels", json={"id": decisions[0]["id"], "defaulted": True})
    assert label.status_code == 202

    metrics, exemplar_trace_ids = _scrape(url)
    model = {("model", "credit-risk"), ("version", "1")}
    success = frozenset({*model, ("status", "success")})
    assert metrics[("ml_prediction_requests_total", success)] == 6
    income_missing = frozenset({("model", "credit-risk"), ("feature", "income")})
    assert metrics[("ml_feature_missing_total", income_missing)] == 1
    assert exemplar_trace_ids
    assert_host_and_gpu_series(metrics)

    _stop(server)  # graceful shutdown flushes the prediction logger and the spans

    spans = exported_spans(receiver)
    predict_spans = [s for s in spans if s[0] == "predict"]
    assert len(predict_spans) == 6
    assert {s[3] for s in spans} == {"credit-risk-model"}
    names_by_trace: dict[str, set[str]] = {}
    for name, trace_id, _, _ in spans:
        names_by_trace.setdefault(trace_id, set()).add(name)
    assert {"predict", "preprocessing", "inference", "postprocessing"} <= names_by_trace[
        predict_spans[0][1]
    ]
    assert exemplar_trace_ids <= set(names_by_trace)
    assert not any(name.startswith("GET /metrics") for name, *_ in spans)

    served = [line for line in _json_lines(log) if line.get("event") == "prediction served"]
    assert [line["request_id"] for line in served[:5]] == [f"req-{n}" for n in range(5)]
    span_ids_by_prediction = {s[2]["ml.prediction.id"]: s[1] for s in predict_spans}
    for line in served:
        assert line["level"] == "info"
        assert str(line["timestamp"]).endswith("Z")
        assert line["trace_id"] == span_ids_by_prediction[line["prediction_id"]]

    records = shipped(receiver, "predictions")
    assert [r["id"] for r in records[:5]] == [d["id"] for d in decisions]
    assert records[0]["features"] == {**APPLICANT, "credit_score": 600.0}
    assert records[0]["model_version"] == "1"
    assert records[5]["features"]["income"] is None
    labels = shipped(receiver, "labels")
    assert [(label["id"], label["label"]) for label in labels] == [(decisions[0]["id"], 1)]


def test_example_server_writes_parquet_without_a_service(start_server, tmp_path):
    env = {"OTEL_TRACES_EXPORTER": "none", "MLVIGIL_PREDICTION_LOG_DIR": str(tmp_path / "log")}
    url, server, _ = start_server(env)
    for _ in range(3):
        assert httpx.post(f"{url}/predict", json=APPLICANT).status_code == 200
    _stop(server)

    import pyarrow.dataset as ds

    table = ds.dataset(tmp_path / "log", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 3
    assert set(table.column("model").to_pylist()) == {"credit-risk"}
    assert table.column("credit_score").to_pylist() == [700.0] * 3


def test_example_server_metrics_add_up_across_two_workers(start_server, tmp_path):
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = {
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "OTEL_TRACES_EXPORTER": "none",
        "MLVIGIL_PREDICTION_LOG_DIR": str(tmp_path / "log"),
    }
    url, server, _ = start_server(env, "--workers", "2")
    with httpx.Client() as client:
        for _ in range(20):
            assert client.post(f"{url}/predict", json=APPLICANT).status_code == 200

    model = frozenset({("model", "credit-risk"), ("version", "1"), ("status", "success")})
    # Whichever worker answers a scrape, it reports both workers' requests.
    for _ in range(6):
        with httpx.Client() as fresh_connection:
            body = fresh_connection.get(f"{url}/metrics").text
        totals = {
            frozenset(sample.labels.items()): sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
            if sample.name == "ml_prediction_requests_total"
        }
        assert totals[model] == 20
    values = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    assert_host_and_gpu_series(values)
    _stop(server)
