"""A breast-cancer classifier monitored by the real service: SDK, JSON, Parquet, Arrow.

The model is scikit-learn's logistic regression on its bundled breast-cancer data; the
reference is its training split as pandas writes it (a float64 target, probabilities of
the positive class). Production rows go through the SDK's prediction logger and plain
HTTP; labels follow later, as floats, ints or booleans, for only some rows. Every
window the service evaluates, the last (short) one included, must score exactly as
scikit-learn does on the same rows, and drift as the library's exact engine does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pytest
from conformance_kit import (
    START,
    arrow_body,
    check_drift,
    check_metrics,
    expected_windows,
    labelled_subset,
    parquet_body,
    serve,
    timestamps,
    window_rows,
)
from prometheus_client import CollectorRegistry
from sklearn import metrics as sk
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlvigil.telemetry.prediction_log import PredictionLogger

MODEL = "cancer"
WINDOW = 50


@pytest.fixture(scope="module")
def scored() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Reference (training rows) and production rows, each with the model's outputs."""
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    features = [str(name) for name in data.feature_names]
    train, production = frame.iloc[:300].copy(), frame.iloc[300:].reset_index(drop=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000))
    model.fit(train[features], train["target"])
    for part in (train, production):
        part["p_benign"] = model.predict_proba(part[features])[:, 1]
        part["predicted"] = model.predict(part[features])
    train["target"] = train["target"].astype(float)  # as pandas often gives labels: 0.0/1.0
    production["ts"] = timestamps(len(production))
    return train, production, features


def _settings(features: list[str]) -> dict:
    return {
        "schema": {
            "id": "id",
            "timestamp": "ts",
            "features": dict.fromkeys(features, "numerical"),
            "prediction": "predicted",
            "score": "p_benign",
            "target": "target",
        },
        "reference": {"path": "reference.parquet"},
        "window": {"rows": WINDOW, "idle": "1s"},
        "checks": {
            "drift": {},
            "performance": {
                "task": "classification",
                "metrics": ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"],
                "min_labels": 5,
            },
        },
    }


def _expected(rows: pd.DataFrame, labels: pd.Series) -> dict[str, float]:
    truth, predicted = labels.astype(int), rows["predicted"].astype(int)
    return {
        "accuracy": sk.accuracy_score(truth, predicted),
        "precision": sk.precision_score(truth, predicted, zero_division=0),
        "recall": sk.recall_score(truth, predicted, zero_division=0),
        "f1": sk.f1_score(truth, predicted, zero_division=0),
        "roc_auc": sk.roc_auc_score(truth, rows["p_benign"]),
        "log_loss": sk.log_loss(truth, rows["p_benign"], labels=[0, 1]),
    }


def _assert_every_window(service, production, labelled, reference, features) -> None:
    windows = service.wait_for(len(expected_windows(len(production), WINDOW)), labelled.sum())
    assert [w["rows"] for w in windows] == expected_windows(len(production), WINDOW)
    results = service.results()
    for window in windows:
        rows = window_rows(production, window)
        got = labelled[rows.index]
        labels = rows["target"][got]
        check_metrics(results[window["start"]], _expected(rows[got], labels), int(got.sum()))
        schema = dict.fromkeys([*features, "p_benign"], "numerical")
        assert check_drift(results[window["start"]], reference, rows, schema) == len(schema)


def test_sdk_logged_predictions_and_float_labels_score_as_scikit_learn(scored, tmp_path: Path):
    reference, production, features = scored
    reference.to_parquet(tmp_path / "reference.parquet", index=False)
    labelled = labelled_subset(len(production), 0.85, seed=1)
    with serve(tmp_path, MODEL, _settings(features)) as service:
        logger = PredictionLogger.to_service(
            service.url, batch_size=64, flush_interval=0.1, registry=CollectorRegistry()
        )
        with logger:
            for i, row in production.iterrows():
                logger.log_prediction(
                    model=MODEL,
                    id=f"sdk-{i}",
                    features={name: float(row[name]) for name in features},
                    prediction=int(row["predicted"]),
                    score=float(row["p_benign"]),
                    timestamp=row["ts"].timestamp(),
                )
            assert logger.flush(timeout=30)
            for i in np.flatnonzero(labelled):
                logger.log_label(f"sdk-{i}", float(production["target"][i]), model=MODEL)
            assert logger.flush(timeout=30)
        _assert_every_window(service, production, labelled, reference, features)


def test_parquet_predictions_and_boolean_labels_over_arrow(scored, tmp_path: Path):
    reference, production, features = scored
    reference = reference.assign(target=reference["target"].astype(bool))  # True = benign
    reference.to_parquet(tmp_path / "reference.parquet", index=False)
    labelled = labelled_subset(len(production), 0.7, seed=2)
    body = production[[*features, "p_benign", "predicted", "ts"]].assign(
        id=[f"pq-{i}" for i in range(len(production))],
        predicted=production["predicted"].astype("Int64"),  # pandas' nullable integers
        ts=production["ts"].map(lambda t: t.isoformat()),  # timestamps as text
    )
    with serve(tmp_path, MODEL, _settings(features)) as service:
        assert service.post(
            "predictions",
            parquet_body(body),
            headers={"content-type": "application/vnd.apache.parquet"},
        )["stored"] == len(production)
        labels = pa.table(
            {
                "id": [f"pq-{i}" for i in np.flatnonzero(labelled)],
                "target": production["target"][labelled].astype(bool).to_numpy(),
            }
        )
        outcome = service.post(
            "labels",
            arrow_body(labels),
            headers={"content-type": "application/vnd.apache.arrow.stream"},
        )
        assert outcome["unknown_ids"] == 0
        _assert_every_window(service, production, labelled, reference, features)


def test_json_records_with_integer_labels_in_two_late_batches(scored, tmp_path: Path):
    reference, production, features = scored
    reference.to_parquet(tmp_path / "reference.parquet", index=False)
    labelled = labelled_subset(len(production), 0.9, seed=3)
    records = [
        {
            "id": f"js-{i}",
            "ts": row["ts"].isoformat().replace("+00:00", "Z"),
            "features": {name: row[name] for name in features},
            "predicted": row["predicted"],
            "p_benign": row["p_benign"],
        }
        for i, row in production.iterrows()
    ]
    with serve(tmp_path, MODEL, _settings(features)) as service:
        options = orjson.OPT_SERIALIZE_NUMPY
        service.post("predictions", orjson.dumps({"records": records}, option=options))
        service.wait_for(len(expected_windows(len(production), WINDOW)), 0)  # evaluated first
        positions = np.flatnonzero(labelled)
        for half in (positions[::2], positions[1::2]):  # labels come later, in two batches
            labels = [{"id": f"js-{i}", "target": int(production["target"][i])} for i in half]
            service.post("labels", orjson.dumps({"records": labels}, option=options))
        _assert_every_window(service, production, labelled, reference, features)
        assert START.isoformat() == service.windows()[0]["start"]
