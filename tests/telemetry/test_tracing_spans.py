"""Tracing: provider set-up from arguments and OTEL_* variables, helpers, propagation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from mlvigil.exceptions import ConfigError
from mlvigil.telemetry.tracing import (
    configure_tracing,
    current_trace_ids,
    get_tracer,
    inference,
    inject_trace_headers,
    instrument_fastapi,
    instrument_httpx_client,
    postprocessing,
    preprocessing,
    span,
    trace_exemplar,
)


@pytest.fixture(autouse=True)
def clean_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OTEL_SDK_DISABLED",
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def traced() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = configure_tracing(
        "scorer",
        exporter="none",
        span_processors=[SimpleSpanProcessor(exporter)],
        set_global=False,
    )
    yield provider, exporter
    provider.shutdown()


def test_phase_helpers_nest_under_the_request_span(traced):
    provider, exporter = traced
    tracer = get_tracer(provider)
    with span("predict", tracer=tracer, attributes={"ml.model.name": "credit"}):
        with preprocessing(tracer=tracer):
            pass
        with inference(tracer=tracer, attributes={"rows": 1}):
            pass
        with postprocessing(tracer=tracer):
            pass
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"predict", "preprocessing", "inference", "postprocessing"}
    root = spans["predict"]
    assert root.attributes["ml.model.name"] == "credit"
    assert spans["inference"].attributes["rows"] == 1
    for phase in ("preprocessing", "inference", "postprocessing"):
        assert spans[phase].parent.span_id == root.context.span_id
        assert spans[phase].context.trace_id == root.context.trace_id
    assert root.resource.attributes["service.name"] == "scorer"


def test_an_exception_is_recorded_with_error_status_and_reraised(traced):
    provider, exporter = traced

    @span("load", tracer=get_tracer(provider))
    def load() -> None:
        raise KeyError("feature store down")

    with pytest.raises(KeyError):
        load()
    (finished,) = exporter.get_finished_spans()
    assert finished.status.status_code is StatusCode.ERROR
    assert [event.name for event in finished.events] == ["exception"]
    assert "feature store down" in finished.events[0].attributes["exception.message"]


def test_async_functions_are_traced_for_their_whole_duration(traced):
    provider, exporter = traced
    tracer = get_tracer(provider)

    @span("fetch", tracer=tracer)
    async def fetch() -> tuple[str, str] | None:
        await asyncio.sleep(0)
        return current_trace_ids()

    ids = asyncio.run(fetch())
    (finished,) = exporter.get_finished_spans()
    assert ids == (
        format(finished.context.trace_id, "032x"),
        format(finished.context.span_id, "016x"),
    )


def test_trace_ids_and_exemplar_come_from_the_current_span(traced):
    provider, _ = traced
    assert current_trace_ids() is None
    assert trace_exemplar() is None
    with get_tracer(provider).start_as_current_span("x") as current:
        trace_id = format(current.get_span_context().trace_id, "032x")
        assert trace_exemplar() == {"trace_id": trace_id}
        headers = inject_trace_headers({"accept": "application/json"})
    assert headers["accept"] == "application/json"
    version, carried_trace, carried_span, flags = headers["traceparent"].split("-")
    assert (version, carried_trace) == ("00", trace_id)
    assert int(flags, 16) & 1  # sampled
    assert carried_span == format(current.get_span_context().span_id, "016x")
    assert "traceparent" not in inject_trace_headers()  # no span, nothing to carry


def test_environment_picks_the_exporter_and_arguments_win(monkeypatch, capsys):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    provider = configure_tracing("svc", batch=False, set_global=False)
    with get_tracer(provider).start_as_current_span("printed"):
        pass
    provider.shutdown()
    assert '"name": "printed"' in capsys.readouterr().out

    provider = configure_tracing("svc", exporter="none", batch=False, set_global=False)
    with get_tracer(provider).start_as_current_span("silent"):
        pass
    provider.shutdown()
    assert capsys.readouterr().out == ""


def test_operators_service_name_wins_over_the_codes(monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "credit-prod")
    provider = configure_tracing("credit", exporter="none", set_global=False)
    assert provider.resource.attributes["service.name"] == "credit-prod"
    provider.shutdown()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OTEL_TRACES_EXPORTER", "jaeger", "OTEL_TRACES_EXPORTER='jaeger'"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "OTEL_EXPORTER_OTLP_PROTOCOL='http/json'"),
    ],
)
def test_unknown_settings_are_refused_with_the_allowed_values(
    monkeypatch, variable, value, message
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message):
        configure_tracing("svc", set_global=False)


def test_spans_reach_a_real_otlp_http_receiver(monkeypatch, local_receiver):
    receiver = local_receiver()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    provider = configure_tracing("credit-api", set_global=False)  # otlp http by default
    tracer = get_tracer(provider)
    with (
        span("predict", tracer=tracer, attributes={"ml.model.name": "credit"}),
        inference(tracer=tracer),
    ):
        pass
    provider.shutdown()  # flushes the batch processor
    requests = [
        ExportTraceServiceRequest.FromString(r.body) for r in receiver.received("/v1/traces")
    ]
    exported = [
        (span.name, {a.key: a.value.string_value for a in span.attributes}, resource)
        for request in requests
        for resource_spans in request.resource_spans
        for resource in [{a.key: a.value.string_value for a in resource_spans.resource.attributes}]
        for scope in resource_spans.scope_spans
        for span in scope.spans
    ]
    assert sorted(name for name, _, _ in exported) == ["inference", "predict"]
    predict = next(item for item in exported if item[0] == "predict")
    assert predict[1] == {"ml.model.name": "credit"}
    assert predict[2]["service.name"] == "credit-api"


def test_fastapi_requests_continue_the_callers_trace_and_skip_metrics(traced):
    provider, exporter = traced
    app = FastAPI()

    @app.get("/predict")
    def predict() -> dict[str, str | None]:
        ids = current_trace_ids()
        return {"trace_id": ids[0] if ids else None}

    @app.get("/metrics")
    def metrics() -> str:
        return ""

    instrument_fastapi(app, tracer_provider=provider)
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = f"00-{caller_trace}-00f067aa0ba902b7-01"

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            await client.get("/metrics")
            return await client.get("/predict", headers={"traceparent": traceparent})

    answer = asyncio.run(call())
    assert answer.json() == {"trace_id": caller_trace}
    server_spans = [s for s in exporter.get_finished_spans() if s.kind.name == "SERVER"]
    assert [s.name for s in server_spans] == ["GET /predict"]
    assert format(server_spans[0].context.trace_id, "032x") == caller_trace
    assert format(server_spans[0].parent.span_id, "016x") == "00f067aa0ba902b7"


def test_an_instrumented_httpx_client_sends_traceparent_from_its_own_span(traced):
    provider, exporter = traced
    seen: list[str] = []

    def service(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("traceparent", ""))
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(service)) as client:
        instrument_httpx_client(client, tracer_provider=provider)
        with get_tracer(provider).start_as_current_span("caller"):
            client.get("http://feature-store/features/1")
    client_span = next(s for s in exporter.get_finished_spans() if s.kind.name == "CLIENT")
    _, trace_id, span_id, _ = seen[0].split("-")
    assert trace_id == format(client_span.context.trace_id, "032x")
    assert span_id == format(client_span.context.span_id, "016x")
