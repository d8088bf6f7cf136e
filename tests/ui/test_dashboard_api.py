"""The read-only views behind the dashboard, and window reports, over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ui.dashboard_data import DRIFT_FROM, HOSTILE, MODEL, SCORED, START, WINDOWS


def _get(url: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{url}{path}", params=params, timeout=30)


def _json(url: str, path: str, **params: str) -> Any:
    response = _get(url, path, **params)
    assert response.status_code == 200, response.text
    return response.json()


def test_overview_summarises_the_latest_windows(dashboard_url: str) -> None:
    models = {m["name"]: m for m in _json(dashboard_url, "/api/v1/overview")["models"]}
    assert set(models) == {MODEL, SCORED}
    model = models[MODEL]
    assert model["windows"] == WINDOWS
    assert model["drift"] == {"share": 0.75, "threshold": 0.5, "status": "failed"}
    assert model["quality"]["failed"] == 1
    assert model["alerts"]["firing"] == 4  # drift, quality and both multivariate methods
    (accuracy,) = model["performance"]
    assert accuracy["metric"] == "accuracy"
    assert accuracy["value"] == 0.75  # the last labelled window, one in four wrong
    assert accuracy["window_start"] == START.replace(hour=WINDOWS - 3).isoformat()
    assert model["label_coverage"] == 1.0


def test_drift_scores_cross_one_exactly_where_columns_drifted(dashboard_url: str) -> None:
    view = _json(dashboard_url, f"/api/v1/models/{MODEL}/dashboard")
    starts = [w["start"] for w in view["windows"]]
    assert len(starts) == WINDOWS
    columns, scores = view["drift_scores"]["columns"], view["drift_scores"]["scores"]
    assert columns == ["income", "age", HOSTILE, "prediction", "label"]
    assert all(len(row) == WINDOWS for row in scores)
    results = _json(dashboard_url, f"/api/v1/models/{MODEL}/results", check="drift")["results"]
    checked = 0
    for result in results:
        if result["column"] is None or result["status"] not in ("passed", "failed"):
            continue
        score = scores[columns.index(result["column"])][starts.index(result["window_start"])]
        assert (score >= 1) == (result["status"] == "failed"), (result, score)
        checked += 1
    assert checked >= 30


def test_model_view_series_follow_the_windows(dashboard_url: str) -> None:
    view = _json(dashboard_url, f"/api/v1/models/{MODEL}/dashboard")
    assert view["drift_share"][-1] == 0.75
    assert view["drift_share_threshold"] == 0.5
    assert view["quality_failed"] == [0] * DRIFT_FROM + [1] * (WINDOWS - DRIFT_FROM)
    accuracy = view["performance"]["accuracy"]
    assert accuracy["values"][DRIFT_FROM] == 0.75
    assert accuracy["values"][-1] is None  # no labels yet
    assert accuracy["threshold"] == pytest.approx(0.85)
    assert sorted(a["labels"]["alertname"] for a in view["alerts"]) == [
        "dataset_drift",
        "domain_drift",
        "quality_failure",
        "reconstruction_drift",
    ]


def test_distribution_compares_a_window_with_the_reference(dashboard_url: str) -> None:
    first = START.isoformat()
    d = _json(dashboard_url, f"/api/v1/models/{MODEL}/distribution", column=HOSTILE, window=first)
    assert d["window"]["start"] == first
    assert d["kind"] == "categorical"
    assert sum(d["current"]) == pytest.approx(1.0)
    gold = d["labels"].index("<b>gold</b>")
    assert d["reference"][gold] == pytest.approx(0.5, abs=0.03)
    latest = _json(dashboard_url, f"/api/v1/models/{MODEL}/distribution", column=HOSTILE)
    assert latest["current"][gold] == pytest.approx(0.2, abs=0.06)


def test_label_distribution_comes_from_the_windows_labels(dashboard_url: str) -> None:
    window = START.replace(hour=DRIFT_FROM).isoformat()
    d = _json(dashboard_url, f"/api/v1/models/{MODEL}/distribution", column="label", window=window)
    assert d["kind"] == "categorical"
    assert sum(d["current"]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/api/v1/models/nope/dashboard", {}, 404, "unknown model 'nope'"),
        ("/api/v1/models/nope/report", {}, 404, "unknown model 'nope'"),
        (f"/api/v1/models/{MODEL}/distribution", {"column": "wage"}, 400, "no column 'wage'"),
        (f"/api/v1/models/{MODEL}/distribution", {}, 422, "column"),
        (
            f"/api/v1/models/{MODEL}/report",
            {"window": "2020-01-01T00:00:00Z"},
            400,
            "no evaluated window containing 2020-01-01",
        ),
        (f"/api/v1/models/{MODEL}/report", {"window": "yesterday"}, 422, "datetime"),
    ],
)
def test_bad_requests_get_a_4xx_that_says_why(
    dashboard_url: str, path: str, params: dict[str, str], status: int, message: str
) -> None:
    response = _get(dashboard_url, path, **params)
    assert response.status_code == status
    assert message in response.text


def test_window_report_is_html_with_the_windows_results(dashboard_url: str) -> None:
    window = START.replace(hour=2).isoformat()
    response = _get(dashboard_url, f"/api/v1/models/{MODEL}/report", window=window)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    html = response.text
    assert "2026-11-20 02:00" in html
    assert "No dataset drift" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert HOSTILE not in html
    # Every column has its chart, the label too (from the window's labels).
    label_row = html.split('<td data-sort="label">')[1].split("</tr>")[0]
    assert label_row.count('class="cur"') == 2


def test_dashboard_page_and_assets_are_served_with_a_strict_policy(dashboard_url: str) -> None:
    page = _get(dashboard_url, "/")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    for asset in ("/ui/app.js", "/ui/app.css"):
        assert _get(dashboard_url, asset).status_code == 200
