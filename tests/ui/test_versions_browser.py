"""Model versions side by side in Chromium, on scikit-learn's breast cancer data.

Four hourly windows: the first two served by v1 alone (a logistic regression on four
features), the last two split between v1 and v2 (one on smoothness alone), each
prediction with a conversion outcome.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from playwright.sync_api import Page, expect
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

from live_servers import free_port, start_logged, wait_until_serving
from ui.screenshots import screenshot

TOKEN = "versions-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = datetime(2026, 11, 20, tzinfo=UTC)
WINDOWS = 4
SPLIT_FROM = 2  # windows from this one on are split between v1 and v2
FEATURES = ["mean radius", "mean texture", "mean smoothness", "mean concavity"]
NAMES = [f.replace(" ", "_") for f in FEATURES]

CONFIG = f"""
store: store/mlvigil.duckdb
evaluation_interval: 3600
accept: {{max_age: 36500d}}
models:
  cancer:
    schema:
      features: {{{", ".join(f"{n}: numerical" for n in NAMES)}}}
      prediction: prediction
      score: score
      target: label
      outcomes: {{converted: rate}}
    reference: {{path: reference.parquet}}
    window: 1h
    checks:
      performance: {{task: classification, metrics: [accuracy], min_labels: 20}}
      versions:
        baseline: v1
        canary: {{guards: [{{metric: accuracy, max_degradation: 0.02, min_rows: 30}}]}}
security:
  open_reads: true
  tokens:
    - {{name: test, scopes: [ingest, read, admin], token: {TOKEN}}}
"""


def _post(client: httpx.Client, path: str, records: list[dict[str, Any]]) -> None:
    response = client.post(f"/api/v1/models/cancer/{path}", json={"records": records})
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The service after four windows; yields its URL and what scikit-learn measured."""
    folder = tmp_path_factory.mktemp("versions")
    data = load_breast_cancer()
    x = data.data[:, [list(data.feature_names).index(f) for f in FEATURES]]
    y = data.target
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:200], order[200:]
    good = LogisticRegression(max_iter=5000).fit(x[train], y[train])
    weak = LogisticRegression(max_iter=5000).fit(x[train][:, [2]], y[train])
    reference = {n: x[train][:, i] for i, n in enumerate(NAMES)}
    pq.write_table(
        pa.table({**reference, "prediction": good.predict(x[train]), "label": y[train]}),
        folder / "reference.parquet",
    )
    (folder / "mlvigil.yaml").write_text(CONFIG)
    port = free_port()
    log = folder / "serve.log"
    argv = [sys.executable, "-m", "mlvigil", "serve", "--config", str(folder / "mlvigil.yaml")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    server = start_logged([*argv, "--port", str(port)], log, env=env, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    rng = np.random.default_rng(1)
    measured: dict[tuple[int, str], float] = {}
    converted: list[float] = []
    try:
        wait_until_serving(f"{url}/readyz", server, log)
        with httpx.Client(base_url=url, headers=AUTH, timeout=60) as client:
            for window, rows in enumerate(np.array_split(test, WINDOWS)):
                start = START + timedelta(hours=window)
                halves = np.array_split(rows, 2) if window >= SPLIT_FROM else [rows]
                outcomes = []
                for version, part in zip(("v1", "v2"), halves, strict=False):
                    model, columns = (good, slice(None)) if version == "v1" else (weak, [2])
                    predicted = model.predict(x[part][:, columns])
                    measured[(window, version)] = float(accuracy_score(y[part], predicted))
                    records = []
                    for k, (i, p) in enumerate(zip(part, predicted, strict=True)):
                        outcome = float(rng.random() < 0.3)
                        outcomes.append(outcome)
                        records.append(
                            {
                                "id": f"{window}-{i}",
                                "timestamp": (start + timedelta(seconds=10 * k)).isoformat(),
                                "model_version": version,
                                "features": dict(zip(NAMES, map(float, x[i]), strict=True)),
                                "prediction": int(p),
                                "score": 0.5,
                                "converted": outcome,
                            }
                        )
                    _post(client, "predictions", records)
                    _post(
                        client,
                        "labels",
                        [{"id": f"{window}-{i}", "label": int(y[i])} for i in part],
                    )
                converted.append(float(np.mean(outcomes)))
                bounds = {
                    "start": start.isoformat(),
                    "end": (start + timedelta(hours=1)).isoformat(),
                }
                client.post("/api/v1/models/cancer/evaluate", params=bounds).raise_for_status()
        yield {"url": url, "accuracy": measured, "converted": converted}
    finally:
        server.kill()
        server.wait()


def test_the_model_view_lines_up_each_versions_metrics_with_scikit_learn(
    versions: dict[str, Any],
) -> None:
    view = httpx.get(f"{versions['url']}/api/v1/models/cancer/dashboard", timeout=30).json()
    side_by_side = view["versions"]
    assert side_by_side["versions"] == ["v1", "v2"]
    accuracy = side_by_side["metrics"]["accuracy"]
    # Per-version results exist only where a window held two versions.
    for window in range(WINDOWS):
        for version in ("v1", "v2"):
            expected = versions["accuracy"].get((window, version)) if window >= SPLIT_FROM else None
            assert accuracy[version][window] == pytest.approx(expected, abs=1e-4)
    assert side_by_side["canary"]["v2"]["values"] == [None] * SPLIT_FROM + [-1.0] * 2
    [difference] = [d for d in side_by_side["differences"] if d["metric"] == "accuracy_difference"]
    last = WINDOWS - 1
    gap = versions["accuracy"][(last, "v2")] - versions["accuracy"][(last, "v1")]
    assert difference["value"] == pytest.approx(gap, abs=1e-4)
    assert difference["low"] < difference["value"] < difference["high"]
    assert (difference["version"], difference["baseline"], difference["status"]) == (
        "v2",
        "v1",
        "failed",
    )
    rates = view["business"]["converted_rate"]["values"]
    assert rates == pytest.approx(versions["converted"], abs=1e-4)


def test_the_versions_card_draws_a_line_per_version_and_the_canary_verdicts(
    page: Page, versions: dict[str, Any]
) -> None:
    page.goto(f"{versions['url']}/#/models/cancer")
    expect(page.locator("#version-legend")).to_have_text("version v1version v2")
    chart = page.get_by_role("img", name="accuracy by version")
    expect(chart.locator("path.line")).to_have_count(2)
    # v2 has a point in the split windows only.
    expect(chart.locator("circle.v1")).to_have_count(WINDOWS - SPLIT_FROM)
    verdict = page.locator('#canary tr[data-version="v2"]')
    expect(verdict).to_contain_text("fail")
    expect(verdict).to_contain_text("accuracy: degraded by")
    strip = page.get_by_role("img", name="canary verdicts of version v2")
    expect(strip.locator("rect.verdict.fail")).to_have_count(WINDOWS - SPLIT_FROM)
    differences = page.locator("#differences")
    expect(differences).to_contain_text("accuracy_difference")
    expect(differences.locator(".badge.bad").first).to_have_text("failed")
    expect(page.get_by_role("img", name="converted_rate over time")).to_be_visible()
    screenshot(page, "8-versions")
