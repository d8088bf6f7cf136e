"""A wine classifier (three classes, a probability column each) and a diabetes regressor.

Both trained with scikit-learn on its bundled data and monitored by the real service:
the classifier's rows arrive as Parquet written by pandas (string timestamps, the
prediction in pandas' string dtype, a ``category`` target in the reference) with labels
as Arrow from a ``category`` column; the regressor's rows arrive as Arrow from polars
(naive datetimes, which count as UTC) with integer and float labels as JSON. Every
window must score as scikit-learn does on the same rows, and drift as the library does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from conformance_kit import (
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
from sklearn import metrics as sk
from sklearn.datasets import load_diabetes, load_wine
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

CLASSES = ["class_0", "class_1", "class_2"]
PROBABILITIES = {name: f"p_{name}" for name in CLASSES}


@pytest.fixture(scope="module")
def wine() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    data = load_wine(as_frame=True)
    frame = data.frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    features = [str(name) for name in data.feature_names]
    frame["target"] = pd.Categorical.from_codes(frame["target"], CLASSES)
    train, production = frame.iloc[:100].copy(), frame.iloc[100:].reset_index(drop=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000, C=0.05))
    model.fit(train[features], train["target"])
    for part in (train, production):
        probabilities = model.predict_proba(part[features])
        for i, name in enumerate(model.classes_):
            part[PROBABILITIES[name]] = probabilities[:, i]
        part["predicted"] = pd.array(model.predict(part[features]), dtype="string")
    production["ts"] = timestamps(len(production))
    return train, production, features


def test_multiclass_probability_columns_score_one_vs_rest_as_scikit_learn(wine, tmp_path: Path):
    reference, production, features = wine
    reference.to_parquet(tmp_path / "reference.parquet", index=False)
    labelled = labelled_subset(len(production), 0.8, seed=4)
    settings = {
        "schema": {
            "id": "id",
            "timestamp": "ts",
            "features": dict.fromkeys(features, "numerical"),
            "prediction": "predicted",
            "probabilities": PROBABILITIES,
            "target": "target",
        },
        "reference": {"path": "reference.parquet"},
        "window": {"rows": 30, "idle": "1s"},
        "checks": {
            "drift": {},
            "performance": {
                "metrics": ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"],
                "min_labels": 5,
            },
        },
    }
    body = production.drop(columns=["target"]).assign(
        id=[f"w{i}" for i in range(len(production))],
        ts=production["ts"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S")),  # naive text: UTC
    )
    with serve(tmp_path, "wine", settings) as service:
        parquet = {"content-type": "application/vnd.apache.parquet"}
        assert service.post("predictions", parquet_body(body), headers=parquet)["stored"] == 78
        labels = pa.Table.from_pandas(
            pd.DataFrame(
                {
                    "id": [f"w{i}" for i in np.flatnonzero(labelled)],
                    "target": production["target"][labelled].to_numpy(),  # category dtype
                }
            ),
            preserve_index=False,
        )
        arrow = {"content-type": "application/vnd.apache.arrow.stream"}
        assert service.post("labels", arrow_body(labels), headers=arrow)["unknown_ids"] == 0
        windows = service.wait_for(len(expected_windows(78, 30)), int(labelled.sum()))
        assert [w["rows"] for w in windows] == expected_windows(78, 30)
        results = service.results()
        compared_auc = 0
        for window in windows:
            rows = window_rows(production, window)
            got = labelled[rows.index]
            truth, predicted = rows["target"][got].astype(str), rows["predicted"][got].astype(str)
            probabilities = rows.loc[got, list(PROBABILITIES.values())].to_numpy()
            expected = {
                "accuracy": sk.accuracy_score(truth, predicted),
                "precision": sk.precision_score(truth, predicted, average="macro", zero_division=0),
                "recall": sk.recall_score(truth, predicted, average="macro", zero_division=0),
                "f1": sk.f1_score(truth, predicted, average="macro", zero_division=0),
                "log_loss": sk.log_loss(truth, probabilities, labels=CLASSES),
            }
            if truth.nunique() == len(CLASSES):  # scikit-learn needs every class labelled
                expected["roc_auc"] = sk.roc_auc_score(
                    truth, probabilities, multi_class="ovr", labels=CLASSES
                )
                compared_auc += 1
            check_metrics(results[window["start"]], expected, int(got.sum()))
            schema = dict.fromkeys([*features, *PROBABILITIES.values()], "numerical")
            assert check_drift(results[window["start"]], reference, rows, schema) == 16
        assert compared_auc >= 2


@pytest.fixture(scope="module")
def diabetes() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.frame.sample(frac=1.0, random_state=2).reset_index(drop=True)
    features = [str(name) for name in data.feature_names]
    train, production = frame.iloc[:250].copy(), frame.iloc[250:].reset_index(drop=True)
    model = GradientBoostingRegressor(random_state=0, n_estimators=60).fit(
        train[features], train["target"]
    )
    for part in (train, production):
        part["predicted"] = model.predict(part[features])
    production["ts"] = timestamps(len(production))
    return train, production, features


def test_regression_from_polars_scores_as_scikit_learn(diabetes, tmp_path: Path):
    reference, production, features = diabetes
    reference.to_parquet(tmp_path / "reference.parquet", index=False)
    labelled = labelled_subset(len(production), 0.75, seed=5)
    settings = {
        "schema": {
            "id": "id",
            "timestamp": "ts",
            "features": dict.fromkeys(features, "numerical"),
            "prediction": "predicted",
            "prediction_type": "numerical",
            "score": None,
            "target": "target",
        },
        "reference": {"path": "reference.parquet"},
        "window": {"rows": 50, "idle": "1s"},
        "checks": {
            "drift": {},
            "performance": {
                "task": "regression",
                "metrics": ["mae", "mse", "rmse", "mape", "r2"],
                "min_labels": 5,
            },
        },
    }
    rows = pl.DataFrame(
        {
            "id": [f"d{i}" for i in range(len(production))],
            "ts": [t.replace(tzinfo=None) for t in production["ts"]],  # naive: UTC
            **{name: production[name].to_numpy() for name in [*features, "predicted"]},
        }
    )
    with serve(tmp_path, "diabetes", settings) as service:
        arrow = {"content-type": "application/vnd.apache.arrow.stream"}
        assert service.post("predictions", arrow_body(rows.to_arrow()), headers=arrow)["stored"]
        labels = [
            # the target holds whole numbers: some clients send them as ints
            {"id": f"d{i}", "target": int(v) if i % 2 else float(v)}
            for i, v in zip(np.flatnonzero(labelled), production["target"][labelled], strict=True)
        ]
        service.post("labels", orjson.dumps({"records": labels}))
        expected_rows = expected_windows(len(production), 50)
        windows = service.wait_for(len(expected_rows), int(labelled.sum()))
        assert [w["rows"] for w in windows] == expected_rows
        results = service.results()
        for window in windows:
            part = window_rows(production, window)
            got = labelled[part.index]
            truth, predicted = part["target"][got], part["predicted"][got]
            check_metrics(
                results[window["start"]],
                {
                    "mae": sk.mean_absolute_error(truth, predicted),
                    "mse": sk.mean_squared_error(truth, predicted),
                    "rmse": sk.root_mean_squared_error(truth, predicted),
                    "mape": sk.mean_absolute_percentage_error(truth, predicted),
                    "r2": sk.r2_score(truth, predicted),
                },
                int(got.sum()),
            )
            schema = dict.fromkeys([*features, "predicted"], "numerical")
            check_drift(results[window["start"]], reference, part, schema)
