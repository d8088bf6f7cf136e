"""Screenshots of the pages under test, kept as test artifacts."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page

#: Where screenshots go (CI keeps the folder as an artifact).
SCREENSHOTS = Path(os.environ.get("MLVIGIL_TEST_ARTIFACTS", "test-artifacts")) / "screenshots"


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
