"""The dashboard as a person sees it in Chromium: overview → model → feature."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from playwright.sync_api import Page, expect

from ui.dashboard_data import AUTH, DRIFT_FROM, HOSTILE, MODEL, START, WINDOWS
from ui.screenshots import screenshot


def test_overview_shows_each_models_health(page: Page, dashboard_url: str) -> None:
    page.goto(dashboard_url)
    row = page.locator(f'tr[data-model="{MODEL}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("drift 75.0%")
    expect(row).to_contain_text("1 quality failing")
    expect(row).to_contain_text("4 firing")
    # Performance comes from the latest window with labels: accuracy sagged after drift.
    expect(row).to_contain_text("accuracy 0.75")
    screenshot(page, "1-overview")


def test_model_page_shows_drift_quality_performance_and_alerts(
    page: Page, dashboard_url: str
) -> None:
    page.goto(dashboard_url)
    page.get_by_role("link", name=MODEL, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(MODEL)
    alerts = page.locator("#alerts")
    expect(alerts).to_contain_text("dataset_drift")
    expect(alerts).to_contain_text("quality_failure")
    expect(page.get_by_role("img", name="drift share over time")).to_be_visible()
    heatmap = page.get_by_role("img", name="drift scores by column and window")
    expect(heatmap).to_be_visible()
    labels = page.locator(".heatmap li")
    expect(labels).to_have_text(["income", "age", HOSTILE, "prediction", "label"])
    # One bar per window with a failed quality check (those after the pipeline broke).
    failed_bars = page.get_by_role("img", name="failed quality checks per window").locator("rect")
    expect(failed_bars).to_have_count(WINDOWS - DRIFT_FROM)
    expect(page.locator(".caveat")).to_contain_text("labelled predictions")
    expect(page.locator("#quality tbody tr").first).to_contain_text("failed")
    expect(page.get_by_role("img", name="label coverage over time")).to_be_visible()
    expect(page.get_by_role("img", name="distribution of prediction")).to_be_visible()
    expect(page.get_by_role("img", name="distribution of label")).to_be_visible()
    expect(page.get_by_role("heading", name="Versions")).to_have_count(0)  # one version
    screenshot(page, "2-model")


def test_model_page_draws_multivariate_drift_and_explains_the_latest_drift(
    page: Page, dashboard_url: str
) -> None:
    page.goto(f"{dashboard_url}/#/models/{MODEL}")
    domain = page.get_by_role("img", name="domain_classifier_auc over time")
    expect(domain).to_be_visible()
    # One point per window; the drifted windows are marked failed.
    expect(domain.locator("circle")).to_have_count(WINDOWS)
    expect(domain.locator("circle.failed")).to_have_count(WINDOWS - DRIFT_FROM)
    expect(page.get_by_role("img", name="reconstruction_error over time")).to_be_visible()
    ranked = page.locator("#contributions tbody tr")
    expect(ranked.first).to_contain_text("income")  # the shifted column leads


def test_hostile_names_render_as_text(page: Page, dashboard_url: str) -> None:
    page.goto(f"{dashboard_url}/#/models/{MODEL}")
    page.get_by_role("link", name=HOSTILE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE)
    chart = page.get_by_role("img", name=f"distribution of {HOSTILE}")
    expect(chart.locator("g.bin")).to_have_count(3)
    expect(chart).to_contain_text("<b>gold</b>")
    expect(page.locator("main img")).to_have_count(0)
    expect(page.locator("main b")).to_have_count(0)
    screenshot(page, "3-feature")


def test_feature_page_compares_the_chosen_window_with_the_reference(
    page: Page, dashboard_url: str
) -> None:
    page.goto(f"{dashboard_url}/#/models/{MODEL}/features/income")
    title = page.locator("section.card h2").first
    expect(title).to_contain_text("2026-11-20 07:00")  # the latest window by default
    before = START.replace(hour=1).isoformat()
    page.select_option("#window", before)
    expect(page).to_have_url(re.compile(re.escape(f"window={quote(before, safe='')}")))
    expect(title).to_contain_text("2026-11-20 01:00")
    bars = page.get_by_role("img", name="distribution of income").locator("g.bin")
    expect(bars).to_have_count(24)
    expect(page.get_by_role("img", name="drift score of income")).to_be_visible()


def test_clicking_a_heatmap_cell_opens_that_column_and_window(
    page: Page, dashboard_url: str
) -> None:
    page.goto(f"{dashboard_url}/#/models/{MODEL}")
    heatmap = page.get_by_role("img", name="drift scores by column and window")
    box = heatmap.bounding_box()
    assert box is not None
    # First row (income), last window.
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + 5)
    expect(page.get_by_role("heading", level=1)).to_have_text("income")
    expect(page.locator("#window")).to_have_value(START.replace(hour=WINDOWS - 1).isoformat())


def test_the_page_fetches_nothing_but_the_service(page: Page, dashboard_url: str) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{dashboard_url}/#/models/{MODEL}")
    expect(page.get_by_role("img", name="distribution of label")).to_be_visible()
    assert requested
    assert all(url.startswith(dashboard_url) for url in requested), requested


def test_window_report_opens_and_sorts_by_statistic(page: Page, dashboard_url: str) -> None:
    page.goto(f"{dashboard_url}/api/v1/models/{MODEL}/report")
    expect(page.locator("#verdict")).to_contain_text("Dataset drift detected")
    page.get_by_role("columnheader", name="Statistic").click()
    page.get_by_role("columnheader", name="Statistic").click()  # descending
    statistics = page.locator("#columns tbody tr td:nth-child(4)").all_inner_texts()
    values = [float(v) for v in statistics if v != "—"]
    assert values == sorted(values, reverse=True)
    assert len(values) >= 4
    screenshot(page, "4-window-report")


def test_a_silenced_alert_shows_as_silenced_beside_its_silence(
    page: Page, dashboard_url: str
) -> None:
    silence = httpx.post(
        f"{dashboard_url}/api/v1/silences",
        json={
            "matchers": {"alertname": "quality_failure"},
            "duration": 3600,
            "created_by": "on-call <b>",
            "comment": "known pipeline bug",
        },
        headers=AUTH,
    )
    assert silence.status_code == 201, silence.text
    try:
        page.goto(f"{dashboard_url}/#/models/{MODEL}")
        row = page.locator("#alerts tr", has_text="quality_failure")
        expect(row).to_contain_text("silenced")
        expect(page.locator("#silences")).to_contain_text("alertname=quality_failure until")
        expect(page.locator("#silences")).to_contain_text("known pipeline bug (on-call <b>)")
        page.get_by_role("link", name="Models").click()
        expect(page.locator(f'tr[data-model="{MODEL}"]')).to_contain_text("1 silenced")
        screenshot(page, "7-silenced")
    finally:
        httpx.delete(f"{dashboard_url}/api/v1/silences/{silence.json()['id']}", headers=AUTH)


def test_the_slos_page_burns_a_model_slo_down_and_points_serving_slos_to_prometheus(
    page: Page, dashboard_url: str
) -> None:
    page.goto(f"{dashboard_url}/#/")
    page.get_by_role("link", name="SLOs").click()
    drift = page.locator("section.card", has_text=f"{MODEL}-drift-free")
    # The latest windows drifted: the budget of a 99% objective is overspent.
    expect(drift.locator(".badge")).to_have_text("page")
    chart = drift.get_by_role("img", name=f"{MODEL}-drift-free budget burn-down")
    expect(chart).to_be_visible()
    expect(chart.locator("path.line")).to_have_count(1)
    expect(drift.locator("table.burn-rates th")).to_have_count(8)  # 5m ... 3d and 30d
    expect(drift).to_contain_text("windows without dataset drift")
    serving = page.locator("section.card", has_text="availability")
    expect(serving).to_contain_text("evaluated by the Prometheus rules")
