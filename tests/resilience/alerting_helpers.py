"""Helpers for the alerting tests against a real `mlvigil serve`: config, data, reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from service.service_data import records, write_config

HOUR = timedelta(hours=1)


class Clock:
    """A service clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def alerting(receivers: dict[str, str], *, no_data: bool = False, **route: Any) -> str:
    """The ``alerting`` section (YAML): webhook receivers by name, and the root route.

    The built-in ``no_data`` rule is off unless asked for: data sits in the last whole
    hour, and a test running across the hour would see an empty window fire it.
    """
    section = {
        "default_rules": {"no_data": no_data},
        "receivers": {name: {"webhook": url} for name, url in receivers.items()},
        "route": {"receiver": next(iter(receivers)), "group_wait": "0s", **route},
    }
    return "\n" + yaml.safe_dump({"alerting": section})


def fast_config(directory: Path, extra: str = "", *, window: str = "1h") -> Path:
    """The test configuration with the scheduler every 0.2 s, ``window`` and ``extra``."""
    path = write_config(directory)
    text = path.read_text().replace("evaluation_interval: 3600", "evaluation_interval: 0.2")
    text = text.replace("    window: 1h\n", f"    window: {window}\n")
    path.write_text(text + "lateness: 1\n" + extra)
    return path


def last_closed_hour(now: datetime | None = None) -> datetime:
    """Start of the latest whole hour before ``now``."""
    moment = now or datetime.now(UTC)
    return moment.replace(minute=0, second=0, microsecond=0) - HOUR


def post_predictions(url: str, auth: dict[str, str], rows: list[dict[str, Any]]) -> None:
    """Ingest prediction records; fail the test unless they are stored."""
    response = httpx.post(
        f"{url}/api/v1/models/credit/predictions",
        json={"records": rows},
        headers=auth,
        timeout=30,
    )
    assert response.status_code == 201, response.text


def bad_rows(start: datetime, tag: str, *, span: float = 1800.0, **shape: Any) -> list[Any]:
    """300 drifted records (incomes shifted) from ``start`` over ``span`` seconds.

    ``tag`` makes their ids unique; ``shape`` is passed to ``records`` (``null_income``).
    """
    data = records(300, seed=3, start=start, income_shift=40_000, prefix=tag, **shape)
    return _spread(data, start, span)


def good_rows(start: datetime, tag: str, *, span: float = 1800.0) -> list[Any]:
    """300 records like the reference from ``start`` over ``span`` seconds."""
    return _spread(records(300, seed=4, start=start, prefix=tag), start, span)


def _spread(data: list[dict[str, Any]], start: datetime, span: float) -> list[dict[str, Any]]:
    step = span / len(data)
    for i, record in enumerate(data):
        record["timestamp"] = (start + timedelta(seconds=i * step)).isoformat()
    return data


def alerts(url: str, auth: dict[str, str]) -> dict[str, str]:
    """Alerts pending or firing now: ``alertname`` (and column) -> state."""
    body = httpx.get(f"{url}/api/v1/alerts", headers=auth, timeout=30).json()
    out = {}
    for alert in body["alerts"]:
        labels = alert["labels"]
        name = labels["alertname"] + (f":{labels['column']}" if "column" in labels else "")
        out[name] = alert["state"]
    return out


def windows(url: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    """The model's evaluated windows, oldest first."""
    response = httpx.get(f"{url}/api/v1/models/credit/windows", headers=auth, timeout=30)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["windows"]
    return result


def window_with_rows(url: str, auth: dict[str, str], start: datetime) -> bool:
    """Whether the window starting at ``start`` was evaluated with rows in it."""
    return any(
        datetime.fromisoformat(w["start"]) == start and w["rows"] > 0 for w in windows(url, auth)
    )
