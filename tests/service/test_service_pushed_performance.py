"""Windows whose labels arrive as a pushed performance state (what a Spark job sends):
judged like rows' labels, against the same baselines, merged across sources, and
refused with the reason when they cannot be used."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from in_process import Client, Clock
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score

from mlvigil.checks.performance_state import PerformanceState
from mlvigil.checks.result import CheckKind, CheckStatus
from mlvigil.profile import profile_table
from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import PERFORMANCE_TYPE, PROFILE_TYPE
from mlvigil.service.monitor import MonitoringService

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TOKEN = "pushed-performance-token-0123456"
FEATURES = ["mean radius", "mean texture", "mean smoothness"]
CONFIG = f"""
store: store.duckdb
evaluation_interval: 3600
lateness: 0
accept: {{max_age: 36500d}}
security: {{tokens: [{{name: test, scopes: [ingest, read, admin], token: {TOKEN}}}]}}
models:
  tumours:
    schema:
      features: {{{", ".join(f"{f}: numerical" for f in FEATURES)}}}
      prediction: prediction
      score: score
      target: label
    reference: {{path: reference.parquet}}
    window: 1h
    checks:
      drift: {{drift_share: 0.5}}
      performance:
        task: classification
        metrics: [accuracy, roc_auc]
        baseline: {{accuracy: 0.9}}
        max_degradation: 0.05
        min_labels: 20
"""


def scored() -> pa.Table:
    """scikit-learn's breast cancer data scored by a logistic regression, shuffled."""
    data = load_breast_cancer(as_frame=True).frame.sample(frac=1.0, random_state=3)
    model = LogisticRegression(max_iter=5_000).fit(data[FEATURES], data["target"])
    score = model.predict_proba(data[FEATURES])[:, 1]
    return pa.table(
        {
            **{f: data[f].to_numpy() for f in FEATURES},
            "prediction": (score >= 0.5).astype(np.int64),
            "score": score,
            "label": data["target"].to_numpy(),
        }
    )


def state_of(table: pa.Table, *, flip: float = 0.0) -> PerformanceState:
    labels = table.column("label").to_numpy()
    if flip:
        rng = np.random.default_rng(5)
        labels = np.where(rng.random(labels.size) < flip, 1 - labels, labels)
    return PerformanceState.of_arrays(
        y_true=labels,
        y_pred=table.column("prediction").to_numpy(),
        y_score=table.column("score").to_numpy(),
        positive_label=1,
    )


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MonitoringService]:
    for name in ("MLVIGIL_STORE", "MLVIGIL_HOST", "MLVIGIL_PORT"):
        monkeypatch.delenv(name, raising=False)
    pq.write_table(scored().slice(0, 300), tmp_path / "reference.parquet")
    (tmp_path / "mlvigil.yaml").write_text(CONFIG)
    opened = MonitoringService(
        load_service_config(tmp_path / "mlvigil.yaml"), clock=Clock(T0 + 5 * HOUR)
    )
    yield opened
    opened.close()


def push(client: Client, kind: str, body: bytes, source: str = "job-1"):
    return client.post(
        f"/api/v1/models/tumours/{kind}",
        params={"window": (T0 + timedelta(minutes=5)).isoformat(), "source": source},
        content=body,
        headers={"Content-Type": PERFORMANCE_TYPE if kind == "performance" else PROFILE_TYPE},
    )


def performance(service: MonitoringService) -> dict[str, tuple[float | None, CheckStatus]]:
    results = service.store.results("tumours", start=T0, end=T0 + HOUR)
    return {
        r.metric: (r.value, r.status)
        for r in results
        if r.check is CheckKind.PERFORMANCE and r.segment is None
    }


def test_a_pushed_state_gives_the_metrics_scikit_learn_computes_on_the_rows(service):
    client = Client(service, TOKEN)
    window = scored().slice(300)
    features = window.select(FEATURES)
    assert push(client, "profiles", profile_table(features).serialize()).status_code == 201
    answer = push(client, "performance", state_of(window).serialize())
    assert answer.status_code == 201, answer.text
    assert answer.json()["rows"] == window.num_rows
    measured = performance(service)
    labels, score = window.column("label").to_numpy(), window.column("score").to_numpy()
    accuracy = accuracy_score(labels, window.column("prediction").to_numpy())
    assert measured["accuracy"][0] == pytest.approx(accuracy)
    assert measured["accuracy"][1] is CheckStatus.PASSED
    state = state_of(window)
    error = abs(measured["roc_auc"][0] - roc_auc_score(labels, score))
    assert error <= state.roc_auc_error() + 1e-12  # the stated bound, to float rounding
    assert measured["label_coverage"][0] == pytest.approx(1.0)
    (stored,) = service.store.windows("tumours")
    assert (stored.rows, stored.labelled) == (window.num_rows, window.num_rows)


def test_a_state_pushed_before_its_profile_waits_for_it(service):
    client = Client(service, TOKEN)
    window = scored().slice(300)
    early = push(client, "performance", state_of(window).serialize())
    assert early.status_code == 201
    assert early.json()["results"] == 0  # no window judged yet: no profile
    assert service.store.windows("tumours") == []
    assert (
        push(client, "profiles", profile_table(window.select(FEATURES)).serialize()).status_code
        == 201
    )
    assert performance(service)["accuracy"][1] is CheckStatus.PASSED


def test_degraded_labels_fail_accuracy_and_sources_merge(service):
    client = Client(service, TOKEN)
    window = scored().slice(300)
    halves = window.slice(0, 130), window.slice(130)
    assert (
        push(client, "profiles", profile_table(window.select(FEATURES)).serialize()).status_code
        == 201
    )
    for i, half in enumerate(halves):
        assert (
            push(client, "performance", state_of(half, flip=0.3).serialize(), f"p{i}").status_code
            == 201
        )
    again = push(client, "performance", state_of(halves[1], flip=0.3).serialize(), "p1")
    assert again.json()["sources"] == 2  # a retried source replaces its state
    merged = service.store.pushed_performance("tumours", T0)
    assert merged is not None
    assert merged.labelled == window.num_rows
    value, status = performance(service)["accuracy"]
    assert status is CheckStatus.FAILED
    assert value == pytest.approx(merged.metrics()["accuracy"])
    assert value < 0.85


def test_states_that_cannot_be_used_are_refused_with_the_reason(service):
    client = Client(service, TOKEN)
    garbage = push(client, "performance", b"not a state")
    assert garbage.status_code == 400
    assert "PerformanceState.serialize" in garbage.json()["detail"]
    regression = PerformanceState.of_arrays(task="regression", y_true=[1.0, 2.0], y_pred=[1.5, 2])
    wrong = push(client, "performance", regression.serialize())
    assert wrong.status_code == 400
    assert "regression" in wrong.json()["detail"]
    as_rows = client.post(
        "/api/v1/models/tumours/predictions",
        content=state_of(scored()).serialize(),
        headers={"Content-Type": PERFORMANCE_TYPE},
    )
    assert as_rows.status_code == 415


def test_a_state_that_inflates_without_bound_is_refused(service):
    packer = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    body = b"".join(packer.compress(chunk) for _ in range(257)) + packer.flush()
    assert len(body) < 1 << 20  # a small body...
    answer = push(Client(service, TOKEN), "performance", b"MLVPERF\x01" + body)
    assert answer.status_code == 400  # ...that would inflate past 256 MiB
    assert "inflates past" in answer.json()["detail"]
