"""A credit-risk model server instrumented end to end with mlvigil.

Run it with ``uvicorn app:app --app-dir examples/serving`` (see this folder's README).
Every request gets all four signals:

- metrics at ``/metrics`` (request counts, latency with trace-id exemplars, confidence by
  class, missing features), aggregated across workers when ``PROMETHEUS_MULTIPROC_DIR``
  is set, with the host's CPU, memory, disk and network (``mlvigil_host_*``) and its
  GPUs (``mlvigil_gpu_*``; only ``mlvigil_gpu_available 0`` and why on a machine
  without one);
- an OpenTelemetry trace per request (server span, then ``predict`` with
  ``preprocessing``, ``inference`` and ``postprocessing`` inside), exported as the
  standard ``OTEL_*`` variables say;
- JSON log lines on stdout carrying the request id, trace id and span id;
- a prediction record shipped to the mlvigil service at ``MLVIGIL_URL``, or to Parquet
  files under ``MLVIGIL_PREDICTION_LOG_DIR`` (default ``./predictions``); labels sent to
  ``/labels`` later are joined to it by id.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import FastAPI
from model import FEATURES, decide, default_chance, to_frame, train
from pydantic import BaseModel, Field

from mlvigil.telemetry import (
    CorrelationIdMiddleware,
    ModelMonitor,
    configure_logging,
    configure_metrics,
    configure_tracing,
    create_prediction_logger,
    get_logger,
    inference,
    instrument_fastapi,
    metrics_endpoint,
    postprocessing,
    preprocessing,
)

MODEL_NAME = "credit-risk"
MODEL_VERSION = os.environ.get("MODEL_VERSION", "1")

configure_logging(level=os.environ.get("LOG_LEVEL", "INFO"))
configure_metrics(host=True)  # host and GPU series, read when /metrics is scraped
log = get_logger("credit_risk")


class Applicant(BaseModel):
    """A loan application; any feature may be missing (null), as in real traffic."""

    age: int | None = Field(default=None, ge=18, le=120)
    income: float | None = Field(default=None, ge=0)
    credit_score: float | None = Field(default=None, ge=300, le=850)
    loan_amount: float | None = Field(default=None, ge=0)
    employment_years: float | None = Field(default=None, ge=0)
    loan_purpose: str | None = None
    region: str | None = None


class Decision(BaseModel):
    """The model's answer; ``id`` is what a label is later sent with."""

    id: str
    prediction: Literal["default", "repaid"]
    confidence: float


class Label(BaseModel):
    """The true outcome of a prediction, known weeks later."""

    id: str
    defaulted: bool


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Train the model and open the prediction logger; flush everything on shutdown."""
    app.state.model = train()
    prediction_logger = create_prediction_logger()
    app.state.monitor = ModelMonitor(
        MODEL_NAME,
        version=MODEL_VERSION,
        prediction_logger=prediction_logger,
        expected_features=FEATURES,
        feature_histograms=["credit_score"],
        trace=True,
    )
    log.info("model ready", model=MODEL_NAME, version=MODEL_VERSION)
    yield
    prediction_logger.close()
    tracer_provider.shutdown()


app = FastAPI(title="credit-risk model", lifespan=lifespan)
tracer_provider = configure_tracing("credit-risk-model")
instrument_fastapi(app, tracer_provider=tracer_provider)
app.add_middleware(CorrelationIdMiddleware)
app.add_route("/metrics", metrics_endpoint(), include_in_schema=False)


@app.post("/predict")
def predict(applicant: Applicant) -> Decision:
    """Score one applicant."""
    monitor: ModelMonitor = app.state.monitor
    features = applicant.model_dump()
    with monitor.predict(features) as scope:
        with preprocessing():
            row = to_frame(features)
        with inference():
            probability = default_chance(app.state.model, row)
        with postprocessing():
            predicted, confidence = decide(probability)
        outcome: Literal["default", "repaid"] = "default" if predicted else "repaid"
        scope.set(predicted, score=confidence, predicted_class=outcome)
    log.info("prediction served", prediction_id=scope.id, prediction=outcome)
    return Decision(id=scope.id, prediction=outcome, confidence=confidence)


@app.post("/labels", status_code=202)
def record_label(label: Label) -> dict[str, bool]:
    """Ship the true outcome of an earlier prediction."""
    monitor: ModelMonitor = app.state.monitor
    queued = monitor.log_label(label.id, int(label.defaulted))
    return {"queued": queued}


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness."""
    return {"status": "ok"}
