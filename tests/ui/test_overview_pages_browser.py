"""The overview of more models than a page, in Chromium: search, pages, urgent first."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from playwright.sync_api import Page, expect

from live_servers import free_port, start_logged, wait_until_serving
from ui.dashboard_data import AUTH, START, TOKEN, _features
from ui.screenshots import screenshot

TEAMS = ("fraud", "churn", "credit")
NAMES = [f"{team}-{k:02d}" for team in TEAMS for k in range(10)]
#: The one model with a drifted window: its dataset_drift alert fires.
DRIFTED = "credit-07"

MODEL = """
  {name}:
    schema:
      features: {{income: numerical, age: numerical}}
      prediction: prediction
      target: label
    reference: {{path: reference.parquet}}
    window: 1h
    checks:
      drift: {{drift_share: 0.3}}
"""


@pytest.fixture(scope="module")
def many_models_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlvigil serve` with 30 models (open reads), two of them with an evaluated window."""
    directory: Path = tmp_path_factory.mktemp("many-models")
    reference = _features(2_000, 0, drifted=False)
    del reference[next(k for k in reference if k not in ("income", "age"))]
    zeros = [0] * 2_000
    pq.write_table(
        pa.table({**reference, "prediction": zeros, "label": zeros}),
        directory / "reference.parquet",
    )
    models = "".join(MODEL.format(name=name) for name in NAMES)
    config = directory / "mlvigil.yaml"
    config.write_text(
        "store: store/mlvigil.duckdb\nevaluation_interval: 3600\n"
        f"accept: {{max_age: 36500d}}\nmodels:{models}"
        f"security:\n  open_reads: true\n  tokens:\n"
        f"    - {{name: test, scopes: [ingest, read, admin], token: {TOKEN}}}\n"
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    argv = [sys.executable, "-m", "mlvigil", "serve", "--config", str(config), "--port", str(port)]
    log = directory / "serve.log"
    server = start_logged(argv, log, env=env, cwd=directory)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/readyz", server, log)
        with httpx.Client(base_url=url, timeout=30, headers=AUTH) as client:
            for name, drifted in ((DRIFTED, True), ("churn-03", False)):
                data = _features(200, 1, drifted=drifted)
                records = [
                    {
                        "id": f"{name}-{i}",
                        "timestamp": (START + timedelta(seconds=i * 10)).isoformat(),
                        "features": {
                            "income": float(data["income"][i]),
                            "age": float(data["age"][i]),
                        },
                        "prediction": 0,
                    }
                    for i in range(200)
                ]
                client.post(
                    f"/api/v1/models/{name}/predictions", json={"records": records}
                ).raise_for_status()
                end = START + timedelta(hours=1)
                client.post(
                    f"/api/v1/models/{name}/evaluate",
                    params={"start": START.isoformat(), "end": end.isoformat()},
                ).raise_for_status()
        yield url
    finally:
        server.kill()
        server.wait()


def rows(page: Page):
    return page.locator("#models tbody tr")


def test_the_overview_pages_through_more_models_than_a_page(page: Page, many_models_url: str):
    page.goto(f"{many_models_url}/#/?limit=10")
    expect(rows(page)).to_have_count(10)
    expect(rows(page).first).to_have_attribute("data-model", "fraud-00")
    expect(page.locator("#range")).to_have_text("1–10 of 30")
    # The header counts every model, not the page's.
    expect(page.locator("#summary")).to_contain_text("30 models")
    expect(page.locator("#summary")).to_contain_text("1 alerting")
    expect(page.locator("#summary")).to_contain_text("28 without data")
    page.get_by_role("link", name="next →").click()
    expect(page.locator("#range")).to_have_text("11–20 of 30")
    expect(rows(page).first).to_have_attribute("data-model", "churn-00")
    page.get_by_role("link", name="next →").click()
    expect(page.locator("#range")).to_have_text("21–30 of 30")
    expect(page.locator(".pager .disabled")).to_have_text("next →")
    page.get_by_role("link", name="← previous").click()
    expect(page.locator("#range")).to_have_text("11–20 of 30")
    screenshot(page, "8-overview-pages")


def test_searching_narrows_the_models_as_one_types(page: Page, many_models_url: str):
    page.goto(f"{many_models_url}/#/?limit=10")
    box = page.get_by_label("search models")
    box.fill("CREDIT-0")
    expect(page.locator("#range")).to_have_text("1–10 of 10")
    expect(rows(page)).to_have_count(10)
    for row in rows(page).all():
        assert (row.get_attribute("data-model") or "").startswith("credit-")
    expect(page).to_have_url(f"{many_models_url}/#/?search=CREDIT-0&limit=10")
    expect(box).to_be_focused()  # the page followed the box without taking it away
    box.press_sequentially("7")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-model", DRIFTED)
    box.fill("no such model")
    expect(page.locator("main")).to_contain_text("No model matches the search.")


def test_the_most_urgent_models_come_first_and_a_status_filters(page: Page, many_models_url: str):
    page.goto(f"{many_models_url}/#/?limit=10")
    page.get_by_label("order").select_option("status")
    expect(rows(page).first).to_have_attribute("data-model", DRIFTED)
    expect(rows(page).first).to_have_attribute("data-status", "alerting")
    expect(rows(page).first).to_contain_text("firing")
    page.locator('#summary a[data-status="no_data"]').click()
    expect(page.locator("#range")).to_have_text("1–10 of 28")
    expect(rows(page).first).to_have_attribute("data-status", "no_data")
    page.locator('#summary a[data-status="no_data"]').click()  # again: every model
    expect(page.locator("#range")).to_have_text("1–10 of 30")
