"""Two model versions of a real dataset through the real service: comparisons and a canary."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from in_process import Client
from scipy.stats import binomtest
from service_data import AUTH, SECURITY, START, TOKEN, records
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

from live_servers import wait_until
from mlvigil import catalog
from mlvigil.service.evaluation import window_bounds
from mlvigil.service.routes import versions as canary_route
from mlvigil.telemetry.prediction_log import PredictionLogger

FEATURES = ["mean radius", "mean texture", "mean smoothness", "mean concavity"]
NAMES = [f.replace(" ", "_") for f in FEATURES]

CONFIG = """
store: store/mlvigil.duckdb
evaluation_interval: 3600
accept: {max_age: 36500d}
models:
  cancer:
    schema:
      features: {mean_radius: numerical, mean_texture: numerical, mean_smoothness: numerical,
                 mean_concavity: numerical}
      prediction: prediction
      score: score
      target: label
      outcomes: {converted: rate, revenue: mean}
      experiment_arm: arm
    reference: {path: reference.parquet}
    window: 1h
    checks:
      drift: {}
      quality: {completeness: {default_max_null_rate: 0.05}, volume: {min_rows: 100}}
      performance: {task: classification, metrics: [accuracy, roc_auc], min_labels: 20}
      versions:
        baseline: v1
        canary:
          guards:
            - {metric: accuracy, max_degradation: 0.02, min_rows: 50}
            - {metric: latency_p99_ms, max_degradation: 50, min_rows: 50}
alerting:
  receivers:
    team: {webhook: "RECEIVER/team"}
    rollback: {command: {argv: [./rollback.py, rolled-back.json], timeout: 20s}}
    retrain:
      http_action:
        url: "RECEIVER/api/v1/dags/retrain_{labels.model}/dagRuns"
        headers: {Authorization: "Basic YWlyZmxvdzphaXJmbG93"}
        body: {dag_run_id: "{key}", conf: {model: "{labels.model}", alerts: "{alerts}"}}
        already_done: [409]
  route:
    receiver: team
    group_wait: 0s
    routes:
      - {matchers: {alertname: canary_failed}, receiver: rollback, continue: true}
      - {matchers: {alertname: canary_failed}, receiver: retrain}
"""

#: The rollback script: what a deploy tool would do, here recording what it was told.
ROLLBACK = f"""#!{sys.executable}
import json, os, sys
alerts = json.load(sys.stdin)
alerts["key_variable"] = os.environ["MLVIGIL_IDEMPOTENCY_KEY"]
open(sys.argv[1], "w").write(json.dumps(alerts))
"""


class Receiver:
    """A real local HTTP receiver answering as Airflow does: 409 to a run id it has."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        runs: set[str] = set()
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received.append((self.path, dict(self.headers), body))
                known = isinstance(body, dict) and body.get("dag_run_id") in runs
                if isinstance(body, dict) and "dag_run_id" in body:
                    runs.add(body["dag_run_id"])
                self.send_response(409 if known else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.close()


@pytest.fixture
def cancer(config_path: Path, serve: Any, receiver: Receiver) -> dict[str, Any]:
    """The service running on the breast cancer data: v1 on all four features, v2 on one."""
    data = load_breast_cancer()
    x = data.data[:, [list(data.feature_names).index(f) for f in FEATURES]]
    y = data.target
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, test = order[:200], order[200:]
    good = LogisticRegression(max_iter=5000).fit(x[train], y[train])
    weak = LogisticRegression(max_iter=5000).fit(x[train][:, [2]], y[train])  # smoothness alone
    reference = {n: x[train][:, i] for i, n in enumerate(NAMES)}
    pq.write_table(
        pa.table(
            {
                **reference,
                "prediction": good.predict(x[train]),
                "label": y[train],
                "score": good.predict_proba(x[train])[:, 1],
            }
        ),
        config_path.parent / "reference.parquet",
    )
    config_path.write_text(CONFIG.replace("RECEIVER", receiver.url) + SECURITY)
    rollback = config_path.parent / "rollback.py"
    rollback.write_text(ROLLBACK)
    rollback.chmod(0o755)
    url, _ = serve()
    start, _ = window_bounds(datetime.now(UTC) - timedelta(hours=1), timedelta(hours=1))
    halves = {"v1": (good, test[:185], None), "v2": (weak, test[185:], [2])}
    expected: dict[str, float] = {}
    for version, (model, rows, columns) in halves.items():
        features = x[rows] if columns is None else x[rows][:, columns]
        predicted, score = model.predict(features), model.predict_proba(features)[:, 1]
        expected[version] = float(accuracy_score(y[rows], predicted))
        errors = rng.random(len(rows)) < (0.02 if version == "v1" else 0.25)
        expected[f"{version} errors"] = float(np.mean(errors))
        records = [
            {
                "id": f"{version}-{i}",
                "timestamp": (start + timedelta(seconds=10 * k)).isoformat(),
                "model_version": version,
                "features": dict(zip(NAMES, map(float, x[i]), strict=True)),
                "prediction": int(p),
                "score": float(s),
                "latency_ms": float(rng.gamma(4, 5)),
                "converted": float(rng.random() < (0.2 if version == "v1" else 0.1)),
                "error": bool(errors[k]),  # served a fallback
            }
            for k, (i, p, s) in enumerate(zip(rows, predicted, score, strict=True))
        ]
        posted = httpx.post(
            f"{url}/api/v1/models/cancer/predictions", json={"records": records}, headers=AUTH
        )
        assert posted.status_code == 201, posted.text
        # Revenue becomes known with the outcome: posted with the labels, not the predictions.
        revenue = {i: round(float(rng.gamma(2, 20 if version == "v1" else 15)), 2) for i in rows}
        expected[f"{version} revenue"] = float(np.mean(list(revenue.values())))
        labels = [{"id": f"{version}-{i}", "label": int(y[i]), "revenue": revenue[i]} for i in rows]
        httpx.post(
            f"{url}/api/v1/models/cancer/labels", json={"records": labels}, headers=AUTH
        ).raise_for_status()
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    httpx.post(
        f"{url}/api/v1/models/cancer/evaluate", params=window, headers=AUTH
    ).raise_for_status()
    return {
        "url": url,
        "expected": expected,
        "start": start,
        "folder": config_path.parent,
        "models": (good, weak),
        "data": (x, y, test),
    }


def _results(url: str, check: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{url}/api/v1/models/cancer/results", params={"check": check}, headers=AUTH
    )
    return list(response.json()["results"])


def test_versions_are_measured_compared_and_the_weak_canary_fails(cancer: dict[str, Any]) -> None:
    url, expected = cancer["url"], cancer["expected"]
    performance = {(r["segment"], r["metric"]): r["value"] for r in _results(url, "performance")}
    for version in ("v1", "v2"):
        measured = performance[(f"model_version={version}", "accuracy")]
        assert measured == pytest.approx(expected[version])
    comparisons = {r["metric"]: r for r in _results(url, "comparison")}
    accuracy = comparisons["accuracy_difference"]
    assert accuracy["segment"] == "model_version=v2"
    assert accuracy["value"] == pytest.approx(expected["v2"] - expected["v1"])
    assert accuracy["status"] == "failed"  # surely worse
    assert accuracy["details"]["baseline_version"] == "v1"
    assert accuracy["details"]["low"] < accuracy["value"] < accuracy["details"]["high"]
    serving = {(r["segment"], r["metric"]): r["value"] for r in _results(url, "serving")}
    for version in ("v1", "v2"):
        share = serving[(f"model_version={version}", "error_rate")]
        assert share == pytest.approx(expected[f"{version} errors"])
    errors = comparisons["error_rate_difference"]
    assert errors["value"] == pytest.approx(expected["v2 errors"] - expected["v1 errors"])
    assert errors["status"] == "failed"  # more errors: surely worse
    completeness = {r["segment"] for r in _results(url, "completeness")}
    assert {None, "model_version=v1", "model_version=v2"} <= completeness
    assert {r["segment"] for r in _results(url, "volume")} == {None}  # the window's own
    drift = {(r["segment"], r["metric"]) for r in _results(url, "drift")}
    assert {("model_version=v1", "drift_share"), ("model_version=v2", "drift_share")} <= drift
    [verdict] = _results(url, "canary")
    assert (verdict["status"], verdict["value"]) == ("failed", -1.0)
    assert "accuracy: degraded by" in verdict["message"]
    business = {(r["segment"], r["metric"]): r["value"] for r in _results(url, "business")}
    assert {(None, "converted_rate"), ("model_version=v2", "converted_rate")} <= set(business)
    for version in ("v1", "v2"):  # posted with the labels, after the predictions
        posted_later = business[(f"model_version={version}", "revenue_mean")]
        assert posted_later == pytest.approx(expected[f"{version} revenue"])

    metrics = httpx.get(f"{url}/metrics", headers=AUTH).text
    for gauge in (*catalog.VERSION_METRICS, catalog.SEGMENT_PERFORMANCE):  # Grafana's panels
        assert f"{gauge.name}{{" in metrics, gauge.name
    assert 'mlvigil_canary_verdict{model="cancer",segment="model_version=v2"} -1.0' in metrics
    assert (
        'mlvigil_version_difference{metric="accuracy_difference",model="cancer",'
        'segment="model_version=v2"}' in metrics
    )

    def canary_alert_fires() -> bool:
        alerts = httpx.get(f"{url}/api/v1/alerts", headers=AUTH).json()["alerts"]
        return any(
            a["labels"]["alertname"] == "canary_failed" and a["state"] == "firing" for a in alerts
        )

    wait_until(canary_alert_fires)


def test_a_failing_canary_runs_the_rollback_command_and_triggers_retraining(
    cancer: dict[str, Any], receiver: Receiver
) -> None:
    record = cancer["folder"] / "rolled-back.json"
    wait_until(lambda: record.exists())
    told = json.loads(record.read_text())
    [alert] = told["alerts"]
    assert (alert["labels"]["alertname"], alert["status"]) == ("canary_failed", "firing")
    assert alert["labels"]["segment"] == "model_version=v2"
    assert told["key_variable"] == told["idempotencyKey"]
    assert re.fullmatch(r"mlvigil-\d+-[0-9a-f]{12}", told["idempotencyKey"])

    def triggered() -> list[tuple[str, dict[str, str], Any]]:
        return [r for r in receiver.requests if "/dags/" in r[0]]

    wait_until(lambda: bool(triggered()))
    path, headers, body = triggered()[0]
    assert path == "/api/v1/dags/retrain_cancer/dagRuns"
    assert headers["Authorization"] == "Basic YWlyZmxvdzphaXJmbG93"
    assert body["dag_run_id"] == headers["Idempotency-Key"]
    assert body["conf"]["model"] == "cancer"
    assert body["conf"]["alerts"][0]["labels"]["segment"] == "model_version=v2"


def _canary_cli(url: str, start: datetime, candidate: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    env["MLVIGIL_TOKEN"] = TOKEN
    argv = [sys.executable, "-m", "mlvigil", "canary", "--url", url, "--model", "cancer"]
    argv += ["--baseline", "v1", "--canary", candidate, "--since", start.isoformat()]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


def test_the_canary_command_exits_1_on_a_failing_canary_and_2_on_an_unknown_version(
    cancer: dict[str, Any],
) -> None:
    failed = _canary_cli(cancer["url"], cancer["start"], "v2")
    assert failed.returncode == 1, failed.stderr
    assert "accuracy" in failed.stdout
    assert ": fail" in failed.stderr
    unknown = _canary_cli(cancer["url"], cancer["start"], "v9")
    assert unknown.returncode == 2
    assert "no rows of version 'v9'" in unknown.stderr


def test_the_sdk_ships_outcomes_with_predictions_and_later_with_labels(
    cancer: dict[str, Any],
) -> None:
    url = cancer["url"]
    start = cancer["start"] - timedelta(hours=1)  # a window of its own, before the fixture's
    logger = PredictionLogger.to_service(url, token=TOKEN, flush_interval=0.1)
    try:
        for k in range(40):
            logger.log_prediction(
                model="cancer",
                id=f"sdk-{k}",
                features=dict.fromkeys(NAMES, 1.0),
                prediction=k % 2,
                score=0.5,
                version="v1",
                timestamp=(start + timedelta(seconds=k)).timestamp(),
                outcomes={"converted": float(k < 10)},
            )
        assert logger.flush(timeout=30)
        for k in range(40):
            logger.log_label(f"sdk-{k}", k % 2, model="cancer", outcomes={"revenue": float(k)})
        assert logger.flush(timeout=30)
    finally:
        logger.close(timeout=10)
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    httpx.post(
        f"{url}/api/v1/models/cancer/evaluate", params=window, headers=AUTH
    ).raise_for_status()
    found = httpx.get(
        f"{url}/api/v1/models/cancer/results",
        params={"check": "business", "start": window["start"], "end": window["end"]},
        headers=AUTH,
    ).json()["results"]
    values = {r["metric"]: r["value"] for r in found if r["segment"] is None}
    assert values["converted_rate"] == pytest.approx(10 / 40)
    assert values["revenue_mean"] == pytest.approx(sum(range(40)) / 40)
    assert values["revenue_sum"] == pytest.approx(sum(range(40)))


def test_a_shadow_scores_the_same_rows_unserved_and_is_compared_row_by_row(
    cancer: dict[str, Any],
) -> None:
    url = cancer["url"]
    good, weak = cancer["models"]
    x, y, test = cancer["data"]
    start = cancer["start"] - timedelta(hours=2)  # a window of its own
    predicted = {"v1": good.predict(x[test]), "v2": weak.predict(x[test][:, [2]])}
    for version, arm in (("v1", "champion"), ("v2", "shadow")):
        records = [
            {
                "id": f"row-{i}",  # the same ids: the shadow scores the live rows
                "timestamp": (start + timedelta(seconds=5 * k)).isoformat(),
                "model_version": version,
                "arm": arm,
                "features": dict(zip(NAMES, map(float, x[i]), strict=True)),
                "prediction": int(p),
                "score": 0.5,
            }
            for k, (i, p) in enumerate(zip(test, predicted[version], strict=True))
        ]
        posted = httpx.post(
            f"{url}/api/v1/models/cancer/predictions", json={"records": records}, headers=AUTH
        )
        assert posted.status_code == 201, posted.text
        assert posted.json()["replaced"] == 0  # another version's row is not a repeat
    labels = [{"id": f"row-{i}", "label": int(y[i])} for i in test]
    httpx.post(
        f"{url}/api/v1/models/cancer/labels", json={"records": labels}, headers=AUTH
    ).raise_for_status()
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    evaluated = httpx.post(f"{url}/api/v1/models/cancer/evaluate", params=window, headers=AUTH)
    evaluated.raise_for_status()
    [summary] = evaluated.json()["windows"]
    assert summary["rows"] == len(test)  # what users were served: the shadow left out
    found = httpx.get(
        f"{url}/api/v1/models/cancer/results",
        params={"check": "comparison", **window},
        headers=AUTH,
    ).json()["results"]
    results = {r["metric"]: r for r in found}
    truth = y[test]
    paired = results["paired_accuracy_difference"]
    expected = accuracy_score(truth, predicted["v2"]) - accuracy_score(truth, predicted["v1"])
    assert paired["value"] == pytest.approx(expected)
    only_v1 = int(np.sum((predicted["v1"] == truth) & (predicted["v2"] != truth)))
    only_v2 = int(np.sum((predicted["v1"] != truth) & (predicted["v2"] == truth)))
    mcnemar = binomtest(only_v2, only_v1 + only_v2, 0.5).pvalue  # McNemar's exact test
    assert paired["details"]["p_value"] == pytest.approx(mcnemar, rel=1e-6, abs=1e-12)
    assert paired["status"] == "failed"
    disagreement = results["disagreement_rate"]
    assert disagreement["value"] == pytest.approx(np.mean(predicted["v1"] != predicted["v2"]))
    assert disagreement["details"]["pairs"] == len(test)


def test_a_canary_range_too_large_to_read_at_once_is_refused_saying_what_to_do(
    service_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(canary_route, "MAX_CANARY_ROWS", 10)
    service = service_factory()
    client = Client(service, TOKEN)
    posted = client.request(
        "POST", "/api/v1/models/credit/predictions", json={"records": records(20)}
    )
    assert posted.status_code == 201, posted.text
    window = {"start": START.isoformat(), "end": (START + timedelta(hours=1)).isoformat()}
    answer = client.request(
        "GET",
        "/api/v1/models/credit/canary",
        params={"baseline": "1", "candidate": "2", **window},
    )
    assert answer.status_code == 400
    assert "holds 20 rows, more than the 10 a verdict reads at once" in answer.json()["detail"]
    assert "narrow the range" in answer.json()["detail"]
