"""``mlvigil report`` on 1,000,000 rows × 25 columns: time, memory, file size, open time.

Each run is ``mlvigil report REFERENCE CURRENT -o OUT`` in a fresh process (measured
from here, with the child's peak RSS from ``/usr/bin/time``-free ``wait4``); then, with
Debian's chromium (skipped if absent), the time from opening the file to its ``load``
event, with every network request blocked. Figures are medians over ``--runs``.
Data: ``bench/datagen.py`` (the drift benchmark's files, cached in ``bench/.data``).

Usage: ``python bench/report.py [--rows N] [--runs R]``; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from datagen import make_dataset

BENCH_DIR = Path(__file__).resolve().parent


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _one_report(reference: Path, current: Path, out: Path) -> tuple[float, int]:
    """Seconds and peak RSS (bytes) of one ``mlvigil report`` process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlvigil", "report", str(reference), str(current), "-o", str(out)],
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"mlvigil report exited with {process.returncode}")
    return seconds, usage.ru_maxrss * 1024


def _open_times(path: Path, runs: int) -> dict[str, Any] | None:
    chromium = shutil.which("chromium")
    if chromium is None:
        log("chromium not found: open time skipped")
        return None
    from playwright.sync_api import sync_playwright

    times, blocked = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        for _ in range(runs):
            page = browser.new_page()
            page.route(
                "http*://**", lambda route: (blocked.append(route.request.url), route.abort())
            )
            page.goto(path.as_uri(), wait_until="load")
            times.append(
                page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            )
            page.close()
        browser.close()
    return {
        "load_event_median_ms": round(statistics.median(times), 1),
        "blocked_requests": len(blocked),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / ".data")
    args = parser.parse_args()
    reference, current = make_dataset(args.data_dir, rows=args.rows)
    input_bytes = reference.stat().st_size + current.stat().st_size
    out = Path(tempfile.mkdtemp(prefix="mlvigil-bench-report-")) / "report.html"
    seconds, peaks = [], []
    for run in range(1, args.runs + 1):
        elapsed, peak = _one_report(reference, current, out)
        log(f"run {run}/{args.runs}: {elapsed:.2f} s, peak RSS {peak / 2**20:.0f} MB")
        seconds.append(elapsed)
        peaks.append(peak)
    result = {
        "rows": args.rows,
        "runs": args.runs,
        "seconds": round(statistics.median(seconds), 3),
        "seconds_runs": [round(s, 3) for s in seconds],
        "peak_rss_mb": round(statistics.median(peaks) / 2**20, 1),
        "input_parquet_mb": round(input_bytes / 2**20, 1),
        "html_kb": round(out.stat().st_size / 1024, 1),
        "open": _open_times(out, max(args.runs, 5)),
    }
    shutil.rmtree(out.parent, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
