"""The estimated-performance chart in Chromium: estimate, its band, and the realized line.

The scored model's windows all have an estimate made from the scores alone; the older
ones also have labels, so the realized accuracy is drawn beside the estimate there.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from ui.dashboard_data import SCORED, UNLABELLED_FROM, WINDOWS
from ui.screenshots import screenshot


def _view(url: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/api/v1/models/{SCORED}/dashboard", timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _points(path: Locator) -> int:
    """How many points a chart's line passes through (its moveto and lineto commands)."""
    return len(re.findall(r"[ML]", path.get_attribute("d") or ""))


def test_the_estimation_card_draws_estimate_band_and_the_realized_line(
    page: Page, dashboard_url: str
) -> None:
    series = _view(dashboard_url)["estimation"]["accuracy"]
    assert None not in series["values"]  # every window estimated, labelled or not
    labelled = [v is not None for v in series["realized"]]
    assert labelled == [True] * UNLABELLED_FROM + [False] * (WINDOWS - UNLABELLED_FROM)

    page.goto(f"{dashboard_url}/#/models/{SCORED}")
    card = page.locator('.estimation[data-metric="accuracy"]')
    expect(card).to_contain_text("accuracy: estimate (line, band ±3 SE), realized (dashed)")
    chart = page.get_by_role("img", name="estimated accuracy over time")
    expect(chart).to_be_visible()

    estimate = chart.locator("path.line:not(.realized)")
    expect(estimate).to_have_count(1)
    assert _points(estimate) == WINDOWS

    band = chart.locator("polygon.band")
    expect(band).to_have_count(1)  # one run: every window has both bounds
    corners = (band.get_attribute("points") or "").split()
    assert len(corners) == 2 * WINDOWS  # upper bounds left to right, lower back

    realized = chart.locator("path.line.realized")
    expect(realized).to_have_count(1)
    assert _points(realized) == UNLABELLED_FROM  # only where the labels came
    dashes = realized.evaluate("line => getComputedStyle(line).strokeDasharray")
    assert dashes not in ("", "none")
    # A dot per estimate and per realized value.
    expect(chart.locator("circle")).to_have_count(WINDOWS + UNLABELLED_FROM)
    expect(page.locator(".caveat").last).to_contain_text("P(y|x)")
    screenshot(page, "9-estimation")
