"""`mlvigil demo` ends by pointing at a dashboard that shows its drift and alerts."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from live_servers import free_port
from ui.screenshots import screenshot

STORY_TOLD = "The story so far"


def _lines(process: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """The process's stdout lines as they come, and the thread reading them."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def test_the_demo_dashboard_shows_the_simulated_drift_and_alerts(
    page: Page, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLVIGIL_", "OTEL_"))}
    argv = [sys.executable, "-m", "mlvigil", "demo", "--port", str(free_port())]
    demo = subprocess.Popen(
        [*argv, "--speed", "240", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    (lines, reader), seen = _lines(demo), []
    try:
        deadline = time.monotonic() + 150
        url = None
        while url is None:
            assert time.monotonic() < deadline, "\n".join(seen)
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                assert demo.poll() is None, "\n".join(seen)
                continue
            told = any(STORY_TOLD in line for line in seen[:-1])
            if told and "/#/models/" in seen[-1]:
                url = seen[-1].strip()
        assert url.endswith("/#/models/credit-risk"), url

        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_have_text("credit-risk")
        alerts = page.locator("#alerts")
        expect(alerts).to_contain_text("income_drift")
        expect(page.locator(".heatmap li").first).to_have_text("age")
        expect(page.locator(".heatmap")).to_contain_text("income")
        expect(page.get_by_role("img", name="drift share over time")).to_be_visible()
        expect(page.get_by_role("img", name="accuracy over time")).to_be_visible()
        screenshot(page, "5-demo-model")
        page.get_by_role("link", name="Models").click()
        expect(page.locator('tr[data-model="credit-risk"]')).to_contain_text("drift")
        screenshot(page, "6-demo-overview")
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(20)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
        reader.join(10)  # it stops at the end of the output
        assert demo.stdout is not None
        demo.stdout.close()
