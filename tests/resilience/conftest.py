"""Fixtures: `mlvigil serve` as a real process on the credit model of ``service_data``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from serving import Served, launch, stop

from service.service_data import AUTH


@pytest.fixture
def auth() -> dict[str, str]:
    """Headers with the test token (every scope)."""
    return dict(AUTH)


@pytest.fixture
def serve_with(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start `mlvigil serve` on the test configuration plus top-level YAML ``extra``.

    The scheduler runs every 0.2 s. Calling it again with ``config=`` restarts on the
    same configuration and store. Servers still running are killed after the test.
    """
    started: list[Served] = []

    def start(extra: str = "", *, config: Path | None = None) -> Served:
        started.append(launch(tmp_path, extra, config=config))
        return started[-1]

    yield start
    for served in started:
        stop(served)
