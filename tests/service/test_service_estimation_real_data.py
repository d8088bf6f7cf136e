"""Estimated performance in the service, on scikit-learn's bundled datasets, over HTTP.

Two real models, each trained on one part of a dataset, its reference another part
(scored by the model, with labels), its production rows the rest:

- a multiclass logistic regression on the handwritten digits, which reports one
  probability per class (``schema.probabilities``, as ``predict_proba`` gives them),
  its rows posted as JSON;
- a binary logistic regression on the breast-cancer data, which reports the
  probability of the positive class (benign), its rows a pandas frame (float labels, a
  category column) logged through the SDK's prediction logger to a real ``mlvigil
  serve``.

The service estimates each window's performance before any label arrives; once the
labels come, the estimate must be near the performance scikit-learn measures on the
same rows. A window whose scores are not probabilities gets an error result saying
so, not an estimate.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pandas as pd
import pytest
import yaml
from in_process import Client, Clock
from prometheus_client import CollectorRegistry
from sklearn import metrics as sk
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from live_servers import free_port, start_logged, wait_until_serving
from mlvigil.service.config import load_service_config
from mlvigil.service.monitor import MonitoringService
from mlvigil.telemetry.prediction_log import PredictionLogger

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TOKEN = "estimation-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DIGITS = [str(k) for k in range(10)]


def settings(model: str, schema: dict[str, Any], chunk_rows: int) -> dict[str, Any]:
    """A service configuration monitoring ``model``: estimation and realized performance."""
    return {
        "store": "store.duckdb",
        "evaluation_interval": 3600,  # windows are evaluated when the test asks
        "lateness": 0,
        "accept": {"max_age": "36500d"},  # the rows are dated T0, whatever day tests run
        "security": {
            "tokens": [{"name": "test", "scopes": ["ingest", "read", "admin"], "token": TOKEN}]
        },
        "models": {
            model: {
                "schema": schema,
                "reference": {"path": "reference.parquet", "chunk_rows": chunk_rows},
                "window": "1h",
                "checks": {
                    "estimation": {"metrics": ["accuracy", "roc_auc"]},
                    "performance": {
                        "task": "classification",
                        "metrics": ["accuracy", "roc_auc"],
                        "min_labels": 20,
                    },
                },
            }
        },
    }


def write_config(folder: Path, config: dict[str, Any], reference: pd.DataFrame) -> Path:
    reference.to_parquet(folder / "reference.parquet", index=False)
    path = folder / "mlvigil.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def spread_over(start: datetime, rows: int) -> list[datetime]:
    """``rows`` timestamps over the half hour after ``start``."""
    return [start + timedelta(seconds=i * 1800 / rows) for i in range(rows)]


def by_window(rows: list[dict[str, Any]], check: str, metric: str) -> dict[str, dict[str, Any]]:
    """The whole-window results of ``check``/``metric``, by window start."""
    return {
        r["window_start"]: r
        for r in rows
        if r["check"] == check and r["metric"] == metric and r["segment"] is None
    }


def assert_near(
    estimate: dict[str, Any], realized: float, tolerance: float, *, in_band: bool = True
) -> None:
    """The estimate is within ``tolerance`` of the realized value shown beside it.

    ``in_band``: and the realized value within the estimate's ±3 SE band (not asked of
    a ROC AUC near 1, whose band narrows faster than the estimate's bias does).
    """
    details = estimate["details"]
    assert details["realized"] == pytest.approx(realized, abs=1e-9)
    assert abs(estimate["value"] - realized) <= tolerance, (estimate["value"], realized)
    if in_band:
        assert details["lower_band"] <= realized <= details["upper_band"], (estimate, realized)


# -- a multiclass model: handwritten digits, one probability column per class ---------


@pytest.fixture(scope="module")
def digits() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Reference and production rows of a digit classifier, with its outputs."""
    data = load_digits(as_frame=True)
    frame = data.frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    pixels = [str(name) for name in data.feature_names]
    train = frame.iloc[:600]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2_000))
    model.fit(train[pixels], train["target"])

    def scored(part: pd.DataFrame) -> pd.DataFrame:
        probabilities = model.predict_proba(part[pixels])
        return (
            part[pixels]
            .assign(
                **{f"p_{k}": probabilities[:, i] for i, k in enumerate(model.classes_)},
                predicted=model.predict(part[pixels]),
                digit=part["target"].to_numpy(),
            )
            .reset_index(drop=True)
        )

    return scored(frame.iloc[600:1200]), scored(frame.iloc[1200:]), pixels


@pytest.fixture
def digit_service(
    digits: tuple[pd.DataFrame, pd.DataFrame, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MonitoringService]:
    for name in ("MLVIGIL_STORE", "MLVIGIL_HOST", "MLVIGIL_PORT"):
        monkeypatch.delenv(name, raising=False)
    reference, _, pixels = digits
    schema = {
        "id": "image_id",
        "timestamp": "ts",
        "features": dict.fromkeys(pixels, "numerical"),
        "prediction": "predicted",
        "probabilities": {k: f"p_{k}" for k in DIGITS},
        "target": "digit",
    }
    path = write_config(tmp_path, settings("digits", schema, chunk_rows=300), reference)
    service = MonitoringService(load_service_config(path), clock=Clock(T0 + 3 * HOUR))
    yield service
    service.close()


def test_a_multiclass_models_accuracy_and_macro_auc_are_estimated_before_its_labels(
    digit_service, digits
):
    _, production, _ = digits
    client = Client(digit_service, TOKEN)
    halves = {T0: production.iloc[:300], T0 + HOUR: production.iloc[300:]}
    for start, rows in halves.items():
        records = rows.drop(columns="digit").assign(
            image_id=[f"{start:%H}-{i}" for i in range(len(rows))],
            ts=[t.isoformat() for t in spread_over(start, len(rows))],
        )
        body = orjson.dumps({"records": records.to_dict("records")})
        response = client.post(
            "/api/v1/models/digits/predictions",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 201, response.text
    span = {"start": T0.isoformat(), "end": (T0 + 2 * HOUR).isoformat()}
    evaluated = client.post("/api/v1/models/digits/evaluate", params=span).json()
    assert [w["start"] for w in evaluated["windows"]] == [s.isoformat() for s in halves]

    results = client.get("/api/v1/models/digits/results", params={"check": "estimation"})
    before = results.json()["results"]
    for metric in ("accuracy", "roc_auc"):
        estimates = by_window(before, "estimation", metric)
        assert set(estimates) == {s.isoformat() for s in halves}, metric
        for row in estimates.values():
            assert row["status"] in ("passed", "failed"), row  # an estimate, not an error
            assert row["details"]["realized"] is None  # no labels yet
            assert row["details"]["lower_band"] < row["value"] < row["details"]["upper_band"]

    for start, rows in halves.items():
        labels = [
            {"image_id": f"{start:%H}-{i}", "digit": int(d)} for i, d in enumerate(rows["digit"])
        ]
        response = client.post("/api/v1/models/digits/labels", json={"records": labels})
        assert response.status_code == 201, response.text
    client.post("/api/v1/models/digits/evaluate", params=span).raise_for_status()

    after = client.get("/api/v1/models/digits/results").json()["results"]
    probability_columns = [f"p_{k}" for k in DIGITS]
    for start, rows in halves.items():
        window = start.isoformat()
        accuracy = sk.accuracy_score(rows["digit"], rows["predicted"])
        auc = sk.roc_auc_score(
            rows["digit"], rows[probability_columns], multi_class="ovr", average="macro"
        )
        # The service's realized values are scikit-learn's...
        assert by_window(after, "performance", "accuracy")[window]["value"] == pytest.approx(
            accuracy, abs=1e-9
        )
        assert by_window(after, "performance", "roc_auc")[window]["value"] == pytest.approx(
            auc, abs=1e-9
        )
        # ... and the estimates made without labels are near them.
        assert_near(by_window(after, "estimation", "accuracy")[window], accuracy, 0.04)
        assert_near(by_window(after, "estimation", "roc_auc")[window], auc, 0.005, in_band=False)

    view = client.get("/api/v1/models/digits/dashboard").json()["estimation"]
    assert view["accuracy"]["realized"] == [
        pytest.approx(sk.accuracy_score(rows["digit"], rows["predicted"]), abs=1e-4)
        for rows in halves.values()
    ]


# -- a binary model: breast cancer, the positive class's probability, via the SDK -----


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Reference and production frames of a tumour classifier, as pandas gives them.

    The target is a float (1.0 = benign, the positive class), ``p_benign`` is
    ``predict_proba(X)[:, 1]``, and ``size_band`` a pandas category cut from the mean
    radius (the dataset has no categorical column).
    """
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    features = [str(name) for name in data.feature_names]
    train = frame.iloc[:200]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000))
    model.fit(train[features], train["target"])

    def scored(part: pd.DataFrame) -> pd.DataFrame:
        bands = pd.cut(part["mean radius"], [0, 12, 16, 100], labels=["small", "medium", "large"])
        return (
            part[features]
            .assign(
                size_band=bands,
                p_benign=model.predict_proba(part[features])[:, 1],
                predicted=model.predict(part[features]),
                benign=part["target"].astype(float),
            )
            .reset_index(drop=True)
        )

    return scored(frame.iloc[200:400]), scored(frame.iloc[400:]), features


def cancer_schema(features: list[str]) -> dict[str, Any]:
    return {
        "features": {**dict.fromkeys(features, "numerical"), "size_band": "categorical"},
        "prediction": "predicted",
        "score": "p_benign",
        "target": "benign",
    }


@pytest.fixture
def serve_cancer(
    cancer: tuple[pd.DataFrame, pd.DataFrame, list[str]], tmp_path: Path
) -> Iterator[str]:
    """A real ``mlvigil serve`` monitoring the tumour classifier; yields its URL."""
    reference, _, features = cancer
    config = settings("cancer", cancer_schema(features), chunk_rows=50)
    path = write_config(tmp_path, config, reference)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    argv = [sys.executable, "-m", "mlvigil", "serve", "--config", str(path), "--port", str(port)]
    log = tmp_path / "serve.log"
    server = start_logged(argv, log, env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/readyz", server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_a_pandas_frame_logged_through_the_sdk_gets_an_estimated_accuracy_near_the_realized(
    serve_cancer, cancer
):
    _, production, features = cancer
    times = spread_over(T0, len(production))
    logger = PredictionLogger.to_service(
        serve_cancer,
        token=TOKEN,
        batch_size=64,
        flush_interval=0.1,
        registry=CollectorRegistry(),
        flush_at_exit=False,
    )
    with logger:
        # As a model service logs a frame's rows: numpy floats, the category's values.
        for i, row in production.iterrows():
            logger.log_prediction(
                model="cancer",
                id=f"t-{i}",
                features={name: row[name] for name in [*features, "size_band"]},
                prediction=row["predicted"],
                score=row["p_benign"],
                timestamp=times[int(i)].timestamp(),
            )
        assert logger.flush(timeout=30)
        with httpx.Client(base_url=serve_cancer, headers=AUTH, timeout=30) as client:
            span = {"start": T0.isoformat(), "end": (T0 + HOUR).isoformat()}
            client.post("/api/v1/models/cancer/evaluate", params=span).raise_for_status()
            rows = client.get("/api/v1/models/cancer/results").json()["results"]
            before = by_window(rows, "estimation", "accuracy")[T0.isoformat()]
            assert before["status"] in ("passed", "failed"), before
            assert before["details"]["realized"] is None

            for i, label in production["benign"].items():
                logger.log_label(f"t-{i}", label, model="cancer")  # 1.0 / 0.0
            assert logger.flush(timeout=30)
            client.post("/api/v1/models/cancer/evaluate", params=span).raise_for_status()
            rows = client.get("/api/v1/models/cancer/results").json()["results"]
    assert logger.stats.dropped == {}
    accuracy = sk.accuracy_score(production["benign"], production["predicted"])
    realized = by_window(rows, "performance", "accuracy")[T0.isoformat()]
    assert realized["value"] == pytest.approx(accuracy, abs=1e-9)
    assert_near(by_window(rows, "estimation", "accuracy")[T0.isoformat()], accuracy, 0.04)
    auc = sk.roc_auc_score(production["benign"], production["p_benign"])
    assert_near(by_window(rows, "estimation", "roc_auc")[T0.isoformat()], auc, 0.02)


@pytest.fixture
def cancer_service(
    cancer: tuple[pd.DataFrame, pd.DataFrame, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MonitoringService]:
    for name in ("MLVIGIL_STORE", "MLVIGIL_HOST", "MLVIGIL_PORT"):
        monkeypatch.delenv(name, raising=False)
    reference, _, features = cancer
    config = settings("cancer", cancer_schema(features), chunk_rows=50)
    path = write_config(tmp_path, config, reference)
    service = MonitoringService(load_service_config(path), clock=Clock(T0 + 3 * HOUR))
    yield service
    service.close()


def test_scores_that_are_not_probabilities_give_an_error_result_with_the_reason(
    cancer_service, cancer
):
    _, production, _ = cancer
    client = Client(cancer_service, TOKEN)
    # A pipeline change ships logits in percent instead of probabilities.
    shipped = production.drop(columns="benign").assign(
        p_benign=production["p_benign"] * 100 + 5,
        id=[f"bad-{i}" for i in range(len(production))],
        timestamp=[t.isoformat() for t in spread_over(T0, len(production))],
    )
    body = orjson.dumps({"records": shipped.astype({"size_band": str}).to_dict("records")})
    response = client.post(
        "/api/v1/models/cancer/predictions",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    span = {"start": T0.isoformat(), "end": (T0 + HOUR).isoformat()}
    client.post("/api/v1/models/cancer/evaluate", params=span).raise_for_status()
    rows = client.get("/api/v1/models/cancer/results", params={"check": "estimation"}).json()
    for metric in ("accuracy", "roc_auc"):
        result = by_window(rows["results"], "estimation", metric)[T0.isoformat()]
        assert result["status"] == "error", result
        assert result["value"] is None
        assert "scores outside [0, 1] are not probabilities" in result["message"]
