"""Shared parts of the conformance suite: a real ``mlvigil serve`` and what it computed.

Each test trains a real model on a dataset bundled with scikit-learn, writes its
reference the way pandas writes Parquet, starts the service over real HTTP, sends the
production rows in one of the shapes users send (the SDK's prediction logger, JSON,
Arrow IPC, Parquet), posts labels later, and then compares every window the service
evaluated with scikit-learn and with the library's exact drift on the same rows.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import yaml

from live_servers import free_port, start_logged, wait_until, wait_until_serving
from mlvigil.checks.drift import detect_drift

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
#: Metrics must equal scikit-learn's to this absolute tolerance.
TOLERANCE = 1e-9


@dataclass
class Service:
    """A running ``mlvigil serve`` and the model it monitors."""

    url: str
    model: str

    def post(self, kind: str, body: bytes, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """POST ``body`` (JSON unless ``headers`` name another type); assert it is stored."""
        response = httpx.post(
            f"{self.url}/api/v1/models/{self.model}/{kind}",
            content=body,
            headers=headers or {"Content-Type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def windows(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/models/{self.model}/windows", timeout=30)
        return list(response.json()["windows"])

    def results(self) -> dict[str, list[dict[str, Any]]]:
        """Whole-window results by window start."""
        response = httpx.get(f"{self.url}/api/v1/models/{self.model}/results", timeout=30)
        by_window: dict[str, list[dict[str, Any]]] = {}
        for row in response.json()["results"]:
            if row["segment"] is None:
                by_window.setdefault(row["window_start"], []).append(row)
        return by_window

    def wait_for(self, windows: int, labelled: int) -> list[dict[str, Any]]:
        """Wait until the scheduler evaluated ``windows`` windows holding ``labelled`` labels."""

        def done() -> bool:
            found = self.windows()
            return len(found) == windows and sum(w["labelled"] for w in found) == labelled

        wait_until(done, timeout=60)
        return self.windows()


@contextmanager
def serve(folder: Path, model: str, settings: dict[str, Any]) -> Iterator[Service]:
    """``mlvigil serve`` on ``folder/mlvigil.yaml`` (the scheduler every 0.2 s)."""
    config = {
        "store": "store.duckdb",
        "evaluation_interval": 0.2,
        "lateness": 0,
        # The rows are dated from START, whatever day the tests run.
        "accept": {"max_age": "36500d"},
        "models": {model: settings},
    }
    path = folder / "mlvigil.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    argv = [sys.executable, "-m", "mlvigil", "serve", "--config", str(path), "--port", str(port)]
    log = folder / "serve.log"
    server = start_logged(argv, log, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/readyz", server, log)
        yield Service(url, model)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def arrow_body(table: pa.Table) -> bytes:
    """An Arrow IPC stream body."""
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def parquet_body(frame: pd.DataFrame) -> bytes:
    """A Parquet body, as pandas writes it."""
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False)
    return sink.getvalue()


def timestamps(rows: int, start: datetime = START) -> list[datetime]:
    """One prediction every ten seconds."""
    return [start + timedelta(seconds=10 * i) for i in range(rows)]


def expected_windows(rows: int, size: int) -> list[int]:
    """Rows of each row-counted window: full ones, then the last with what is left."""
    return [min(size, rows - start) for start in range(0, rows, size)]


def window_rows(
    production: pd.DataFrame, window: dict[str, Any], time_column: str = "ts"
) -> pd.DataFrame:
    """The production rows the service put in ``window`` (by their timestamps)."""
    start, end = pd.Timestamp(window["start"]), pd.Timestamp(window["end"])
    times = pd.to_datetime(production[time_column], utc=True)
    return production[(times >= start) & (times < end)]


def check_metrics(
    rows: list[dict[str, Any]], expected: dict[str, float], labelled: int
) -> dict[str, float]:
    """The window's performance values equal ``expected``; returns them."""
    measured = {
        r["metric"]: r["value"]
        for r in rows
        if r["check"] == "performance" and r["metric"] != "label_coverage"
    }
    coverage = next(r for r in rows if r["metric"] == "label_coverage")
    assert coverage["details"]["labelled"] == labelled
    for metric, value in expected.items():
        status = next(r["status"] for r in rows if r["metric"] == metric)
        assert status != "error", (metric, rows)
        assert abs(measured[metric] - value) <= TOLERANCE, (metric, measured[metric], value)
    return measured


def check_drift(
    rows: list[dict[str, Any]],
    reference: pd.DataFrame,
    current: pd.DataFrame,
    schema: dict[str, str],
) -> int:
    """Each column's stored drift equals the library's exact drift on the same rows."""
    columns = list(schema)
    exact = detect_drift(
        pa.Table.from_pandas(reference[columns], preserve_index=False),
        pa.Table.from_pandas(current[columns], preserve_index=False),
        schema=schema,
    )
    stored = {r["column"]: r for r in rows if r["check"] == "drift" and r["column"]}
    for column in columns:
        result, row = exact[column], stored[column]
        assert row["metric"] == result.method, column
        assert abs(row["value"] - result.statistic) <= TOLERANCE, (column, row, result)
        assert (row["status"] == "failed") == result.drifted, column
    return len(columns)


def labelled_subset(rows: int, share: float, seed: int) -> np.ndarray:
    """Which rows get a label (targets arrive for only some rows)."""
    return np.random.default_rng(seed).random(rows) < share


Scorer = Callable[[pd.DataFrame], dict[str, float]]
