"""The dashboard of a service whose reads need a token: it asks for one, then uses it.

The token is kept in the tab's sessionStorage and sent as an ``Authorization`` header on
every request; a report link, which a new tab would open without the header, downloads
the report instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from ui.dashboard_data import MODEL, TOKEN, serving, write_config
from ui.screenshots import screenshot


@pytest.fixture(scope="module")
def closed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlvigil serve` with the dashboard's data, where every read needs a token."""
    config = write_config(tmp_path_factory.mktemp("closed-dashboard"))
    config.write_text(config.read_text().replace("open_reads: true", "open_reads: false"))
    with serving(config) as url:
        yield url


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    """A fresh tab; script errors fail the test (the 401s it is shown are expected)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def sign_in(page: Page, token: str) -> None:
    page.locator("#token").fill(token)
    page.get_by_role("button", name="Use token").click()


def test_the_dashboard_asks_for_a_token_and_sends_it_on_every_request(
    tab: Page, closed_url: str
) -> None:
    tab.goto(closed_url)
    expect(tab.get_by_role("heading", level=1)).to_have_text("A token is needed")
    expect(tab.locator("main")).to_contain_text("needs a token with the read scope")
    screenshot(tab, "8-token")

    sign_in(tab, "not-the-token-at-all-0123456789")
    expect(tab.locator("main")).to_contain_text("unknown token")
    expect(tab.locator("#sign-out")).to_be_visible()  # a token is kept, if a wrong one

    api_calls: list[Request] = []
    tab.on("request", lambda r: api_calls.append(r) if "/api/v1/" in r.url else None)
    sign_in(tab, TOKEN)
    row = tab.locator(f'tr[data-model="{MODEL}"]')
    expect(row).to_contain_text("drift 75.0%")
    tab.get_by_role("link", name=MODEL, exact=True).click()
    expect(tab.get_by_role("img", name="distribution of label")).to_be_visible()
    assert len(api_calls) >= 3
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in api_calls)

    # The same tab keeps it across a reload; a new tab (another context) does not have it.
    tab.reload()
    expect(tab.get_by_role("heading", level=1)).to_have_text(MODEL)
    other = tab.context.browser.new_context().new_page()  # type: ignore[union-attr]
    other.goto(closed_url)
    expect(other.get_by_role("heading", level=1)).to_have_text("A token is needed")
    other.context.close()


def test_a_report_link_downloads_the_report_with_the_token(tab: Page, closed_url: str) -> None:
    tab.goto(f"{closed_url}/#/models/{MODEL}")
    sign_in(tab, TOKEN)
    link = tab.get_by_role("link", name="report of the latest window")
    with tab.expect_download() as started:
        link.click()
    download = started.value
    assert download.suggested_filename.startswith(f"mlvigil-report-{MODEL}-2026-11-20T07")
    assert download.suggested_filename.endswith(".html")
    html = Path(download.path()).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Dataset drift detected" in html


def test_forgetting_the_token_asks_for_it_again(tab: Page, closed_url: str) -> None:
    tab.goto(closed_url)
    sign_in(tab, TOKEN)
    expect(tab.locator(f'tr[data-model="{MODEL}"]')).to_be_visible()
    tab.get_by_role("button", name="forget token").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("A token is needed")
    expect(tab.locator("#sign-out")).to_be_hidden()
    assert tab.evaluate("sessionStorage.length") == 0
