"""The service before labels arrive: estimated performance, multivariate drift, drift
explained and drift per segment, as results, gauges, alerts and dashboard series.

The data: loan applications whose default risk depends on income through a calibrated
score (labels drawn from it), with debt correlated to income and a region segment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from mlvigil.checks.details import DriftShareDetails, EstimationDetails, MultivariateDetails
from mlvigil.checks.drift import detect_drift
from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus
from mlvigil.exceptions import ConfigError
from mlvigil.service.config import load_service_config
from mlvigil.service.gauges import ResultGauges
from mlvigil.service.ingest import read_labels, read_predictions
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.views import model_view

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
WINDOW_ROWS = 2_000
REGIONS = ["north", "south", "east", "west"]

CONFIG = """
store: store.duckdb
evaluation_interval: 3600
lateness: 0
accept: {max_age: 36500d}
models:
  loans:
    schema:
      id: loan_id
      timestamp: ts
      features: {income: numerical, debt: numerical, region: categorical}
      prediction: predicted
      score: p_default
      target: default
      segments: [region]
    reference: {path: reference.parquet, chunk_rows: 2000}
    window: 1h
    checks:
      drift: {drift_share: 0.5}
      estimation: {}
      multivariate: {}
      performance:
        task: classification
        metrics: [accuracy, roc_auc]
        min_labels: 20
"""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def applications(
    rows: int,
    seed: int,
    *,
    income_shift: float = 0.0,
    west_shift: float = 0.0,
    correlation: float = 0.8,
) -> pd.DataFrame:
    """Scored applications as a pandas frame: float labels, a category column."""
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, rows, p=[0.3, 0.3, 0.35, 0.05])
    z = rng.multivariate_normal([0.0, 0.0], [[1.0, correlation], [correlation, 1.0]], rows)
    income = 50 + 10 * z[:, 0] + income_shift + np.where(region == "west", west_shift, 0.0)
    risk = 1 / (1 + np.exp((income - 45) / 4))
    return pd.DataFrame(
        {
            "income": income,
            "debt": 20 + 5 * z[:, 1],
            "region": pd.Categorical(region),
            "p_default": risk.round(6),
            "predicted": (risk >= 0.5).astype(int),
            "default": (rng.random(rows) < risk).astype(float),  # calibrated: drawn from risk
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
        frame = reference if reference is not None else applications(12_000, 0)
        frame.to_parquet(tmp_path / "reference.parquet")
        path = tmp_path / "mlvigil.yaml"
        path.write_text(config)
        service = MonitoringService(load_service_config(path), clock=Clock(T0 + 3 * HOUR))
        opened.append(service)
        return service

    yield make
    for service in opened:
        if service.ready:
            service.close()


def post_predictions(service: MonitoringService, frame: pd.DataFrame, start: datetime) -> list[str]:
    """The frame's rows as the SDK's JSON records, spread over the half hour after ``start``."""
    ids = [f"{start:%H}-{i}" for i in range(len(frame))]
    step = 1800 / len(frame)
    records = [
        {
            "loan_id": ids[i],
            "ts": (start + timedelta(seconds=i * step)).isoformat(),
            **{k: row[k] for k in ("income", "debt", "region", "p_default", "predicted")},
        }
        for i, row in enumerate(frame.to_dict("records"))
    ]
    body = orjson.dumps({"records": records}, option=orjson.OPT_SERIALIZE_NUMPY)
    service.store.insert_predictions(
        "loans", read_predictions(body, "json", service.model("loans"))
    )
    return ids


def post_labels(service: MonitoringService, ids: list[str], labels: list[Any]) -> None:
    records = [{"loan_id": i, "default": label} for i, label in zip(ids, labels, strict=True)]
    body = orjson.dumps({"records": records}, option=orjson.OPT_SERIALIZE_NUMPY)
    service.store.insert_labels("loans", read_labels(body, "json", service.model("loans")))


def window_results(service: MonitoringService, start: datetime) -> list[CheckResult]:
    return service.store.results("loans", start=start, end=start + HOUR)


def one(results: list[CheckResult], check: CheckKind, metric: str, **where: Any) -> CheckResult:
    found = [
        r
        for r in results
        if r.check is check
        and r.metric == metric
        and all(getattr(r, k) == v for k, v in {"column": None, "segment": None, **where}.items())
    ]
    assert len(found) == 1, (metric, where, found)
    return found[0]


def gauges(service: MonitoringService) -> str:
    registry = CollectorRegistry()
    registry.register(ResultGauges(service.store))
    return generate_latest(registry).decode()


def firing(service: MonitoringService, rule: str) -> list[dict[str, Any]]:
    return [
        a for a in service.alerts() if a["labels"]["alertname"] == rule and a["state"] == "firing"
    ]


def test_performance_is_estimated_before_labels_and_shown_beside_the_realized_once_they_come(
    make_service,
):
    service = make_service()
    window = applications(WINDOW_ROWS, 1)
    ids = post_predictions(service, window, T0)
    service.evaluate("loans", T0, T0 + HOUR)
    before = one(window_results(service, T0), CheckKind.ESTIMATION, "accuracy")
    assert before.status is CheckStatus.PASSED
    assert isinstance(before.details, EstimationDetails)
    assert before.details.realized is None  # no labels yet, and still an estimate
    assert before.details.lower_band < before.value < before.details.upper_band
    assert before.details.limits is not None
    assert before.details.assumptions  # said with the result, not only in the README

    post_labels(service, ids, window["default"].tolist())  # pandas floats: 1.0 / 0.0
    service.evaluate("loans", T0, T0 + HOUR)
    results = window_results(service, T0)
    for metric in ("accuracy", "roc_auc"):
        estimated = one(results, CheckKind.ESTIMATION, metric)
        realized = one(results, CheckKind.PERFORMANCE, metric)
        assert estimated.details.realized == pytest.approx(realized.value)
        # calibrated scores, no concept shift: the estimate is within its sampling band
        assert estimated.details.lower_band <= realized.value <= estimated.details.upper_band

    estimated = one(results, CheckKind.ESTIMATION, "accuracy")
    realized = one(results, CheckKind.PERFORMANCE, "accuracy")
    series = model_view(service, "loans")["estimation"]["accuracy"]
    assert series["values"] == [pytest.approx(estimated.value, abs=1e-4)]
    assert series["realized"] == [pytest.approx(realized.value, abs=1e-4)]
    assert series["band_lower"][0] < series["values"][0] < series["band_upper"][0]
    exported = gauges(service)
    assert 'mlvigil_estimated_performance{metric="accuracy",model="loans"}' in exported


def test_a_covariate_shift_that_costs_accuracy_is_estimated_and_alerts_without_labels(
    make_service,
):
    service = make_service()
    # Incomes move to where the model is least sure: the same P(default | income), a
    # lower accuracy, and no label to show it for weeks.
    post_predictions(service, applications(WINDOW_ROWS, 2, income_shift=-5.0), T0)
    service.evaluate("loans", T0, T0 + HOUR)
    accuracy = one(window_results(service, T0), CheckKind.ESTIMATION, "accuracy")
    assert accuracy.status is CheckStatus.FAILED
    assert accuracy.details.direction == "degraded"
    assert accuracy.value < accuracy.details.limits.lower
    (alert,) = [
        a for a in firing(service, "estimated_performance") if a["labels"]["metric"] == "accuracy"
    ]
    assert "estimated accuracy" in alert["annotations"]["summary"]


def test_a_correlation_change_no_column_shows_is_multivariate_drift_and_names_its_columns(
    make_service,
):
    service = make_service()
    changed = applications(WINDOW_ROWS, 3, correlation=-0.8)  # same marginals
    post_predictions(service, changed, T0)
    service.evaluate("loans", T0, T0 + HOUR)
    results = window_results(service, T0)
    univariate = detect_drift(applications(12_000, 0), changed, columns=["income", "debt"])
    assert not any(c.drifted for c in univariate)  # no column on its own moved
    assert one(results, CheckKind.DRIFT, "drift_share").status is CheckStatus.PASSED
    for method in ("reconstruction_error", "domain_classifier_auc"):
        result = one(results, CheckKind.DRIFT, method)
        assert result.status is CheckStatus.FAILED, method
        assert isinstance(result.details, MultivariateDetails)
    assert {a["labels"]["alertname"] for a in service.alerts() if a["state"] == "firing"} >= {
        "reconstruction_drift",
        "domain_drift",
    }
    share = one(results, CheckKind.DRIFT, "drift_share")
    assert isinstance(share.details, DriftShareDetails)
    top = [column for column, _, _ in share.details.contributions[:2]]
    assert set(top) == {"income", "debt"}  # what changed: how those two move together
    view = model_view(service, "loans")
    assert view["multivariate"]["reconstruction_error"]["failed"] == [True]
    assert {c["column"] for c in view["drift_explained"]["contributions"][:2]} == {"income", "debt"}
    assert 'mlvigil_multivariate_drift{method="domain_classifier_auc",model="loans"}' in gauges(
        service
    )


def test_an_unchanged_window_raises_no_multivariate_or_estimation_alarm(make_service):
    service = make_service()
    post_predictions(service, applications(WINDOW_ROWS, 4), T0)
    service.evaluate("loans", T0, T0 + HOUR)
    results = window_results(service, T0)
    for check, metric in [
        (CheckKind.DRIFT, "reconstruction_error"),
        (CheckKind.DRIFT, "domain_classifier_auc"),
        (CheckKind.ESTIMATION, "accuracy"),
        (CheckKind.ESTIMATION, "roc_auc"),
    ]:
        assert one(results, check, metric).status is CheckStatus.PASSED, metric
    assert not [a for a in service.alerts() if a["state"] == "firing"]


def test_drift_confined_to_one_segment_is_its_own_result_and_alert(make_service):
    service = make_service()
    # West (5% of the rows) earns 15 more: too few rows to move the whole window.
    post_predictions(service, applications(WINDOW_ROWS, 5, west_shift=15.0), T0)
    service.evaluate("loans", T0, T0 + HOUR)
    results = window_results(service, T0)
    assert one(results, CheckKind.DRIFT, "drift_share").status is CheckStatus.PASSED
    west = one(results, CheckKind.DRIFT, "drift_share", segment="region=west")
    assert west.status is CheckStatus.FAILED
    assert "income" in west.details.drifted_columns
    for region in ("north", "south", "east"):
        segment = one(results, CheckKind.DRIFT, "drift_share", segment=f"region={region}")
        assert segment.status is CheckStatus.PASSED, region
    (alert,) = firing(service, "segment_drift")
    assert alert["labels"]["segment"] == "region=west"
    assert "drift in region=west" in alert["annotations"]["summary"]
    assert not firing(service, "dataset_drift")
    segments = model_view(service, "loans")["drift_explained"]["segments"]
    assert {s["segment"]: s["status"] for s in segments}["region=west"] == "failed"
    assert 'mlvigil_segment_dataset_drift{model="loans",segment="region=west"} 1.0' in gauges(
        service
    )


def test_estimation_without_labels_in_the_reference_stops_the_start_saying_what_to_do(
    make_service,
):
    reference = applications(4_000, 6).drop(columns=["default"])
    config = CONFIG.replace(
        "      performance:\n        task: classification\n        metrics: [accuracy, roc_auc]\n"
        "        min_labels: 20\n",
        "",
    )
    with pytest.raises(ConfigError) as raised:
        make_service(reference=reference, config=config)
    message = str(raised.value)
    assert "checks.estimation" in message
    assert "'default'" in message
