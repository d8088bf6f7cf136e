"""A served model with data, and a real headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, sync_playwright

from live_servers import system_binary
from ui.dashboard_data import serving, write_config

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # Package scope: Playwright's sync API runs an event loop while it is open, which
    # other packages' tests (asyncio.run) must not find.
    executable = system_binary("chromium", "chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def dashboard_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlvigil serve` holding eight evaluated windows of the test model (open reads)."""
    with serving(write_config(tmp_path_factory.mktemp("dashboard"))) as url:
        yield url


@dataclass
class PageProblems:
    """What a page must never do: log errors (CSP violations among them) or open dialogs."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; the test fails if it logged an error or opened a dialog."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    problems = PageProblems()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.errors.append(message.text)

    def dialog(opened: Dialog) -> None:
        problems.dialogs.append(opened.message)
        opened.dismiss()

    page.on("console", console)
    page.on("pageerror", lambda error: problems.errors.append(str(error)))
    page.on("dialog", dialog)
    yield page
    context.close()
    assert problems.dialogs == [], "the page opened a dialog: injected script ran"
    assert problems.errors == []
