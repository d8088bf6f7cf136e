"""The job end to end: logger-layout Parquet on disk, Spark local[2], a real `mlvigil serve`.

The prediction logger's layout is written with pandas (``model=/date=/hour=``
directories, labels under ``labels/``); the job reads one model's directory, profiles
each hour in the Spark tasks and POSTs each window's profile over HTTP to a service
process started as users start it. The pushed windows appear in the service, the
drifted one fires an alert, and a second run (the same source) replaces, not adds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from live_servers import free_port, start_logged, wait_until, wait_until_serving
from mlvigil.profile import DatasetProfile

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TOKEN = "spark-job-test-token-0123456789"
CONFIG = f"""
store: store.duckdb
evaluation_interval: 3600
lateness: 0
accept: {{max_age: 36500d}}
security: {{tokens: [{{name: test, scopes: [ingest, read, admin], token: {TOKEN}}}]}}
models:
  clicks:
    schema:
      features: {{dwell: numerical, device: categorical}}
      prediction: prediction
      score: null
    reference: {{path: reference.parquet}}
    window: 1h
    checks:
      drift: {{drift_share: 0.5}}
      quality: {{completeness: {{default_max_null_rate: 0.05}}}}
"""


def sessions(rows: int, seed: int, *, shift: float = 0.0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    shares = [0.1, 0.3, 0.6] if shift else [0.5, 0.4, 0.1]
    return {
        "dwell": rng.gamma(2.0, 10.0 + shift, rows),
        "device": rng.choice(["mobile", "desktop", "tablet"], rows, p=shares),
        "prediction": rng.choice(["yes", "no"], rows),
    }


def write_logger_layout(root: Path) -> dict[datetime, int]:
    """Two hours of the model ``clicks`` (the second drifted), one of another model."""
    pandas = pytest.importorskip("pandas")
    frames, rows_per_hour = [], {}
    for index, (model, start, rows, shift) in enumerate(
        [("clicks", T0, 1200, 0.0), ("clicks", T0 + HOUR, 900, 25.0), ("other", T0, 300, 0.0)]
    ):
        rng = np.random.default_rng(100 + index)
        stamps = start + pandas.to_timedelta(np.sort(rng.integers(0, 3600, rows)), unit="s")
        frame = pandas.DataFrame(sessions(rows, index, shift=shift))
        frame.insert(0, "id", [f"{model}-{index}-{i}" for i in range(rows)])
        frame.insert(1, "timestamp", pandas.DatetimeIndex(stamps).astype("datetime64[us, UTC]"))
        frame["model_version"], frame["score"], frame["latency_ms"] = "v1", rng.random(rows), 3.0
        frame["model"] = model
        frame["date"] = frame["timestamp"].dt.strftime("%Y-%m-%d")
        frame["hour"] = frame["timestamp"].dt.strftime("%H")
        frames.append(frame)
        if model == "clicks":
            rows_per_hour[start] = rows
    data = pandas.concat(frames, ignore_index=True)
    data.to_parquet(root, partition_cols=["model", "date", "hour"], index=False)
    labels = data[data["model"] == "clicks"][["id", "timestamp", "model", "date", "hour"]].copy()
    labels["label"] = np.where(np.random.default_rng(9).random(len(labels)) < 0.5, "yes", "no")
    labels.to_parquet(root / "labels", partition_cols=["model", "date", "hour"], index=False)
    return rows_per_hour


@pytest.fixture
def lake(tmp_path: Path) -> tuple[Path, dict[datetime, int]]:
    root = tmp_path / "lake"
    return root, write_logger_layout(root)


#: The model judged on performance too: the job's pushed states carry the labels.
PERFORMANCE_CONFIG = CONFIG.replace(
    "      score: null\n", "      score: null\n      target: label\n"
)
PERFORMANCE_CONFIG += """      performance:
        task: classification
        metrics: [accuracy]
        positive_label: "yes"
        baseline: {accuracy: 0.9}
        max_degradation: 0.05
        min_labels: 20
"""


@pytest.fixture(params=[CONFIG], ids=["drift and quality"])
def service(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    reference = sessions(5_000, 42) | {"label": sessions(5_000, 43)["prediction"]}
    pq.write_table(pa.table(reference), tmp_path / "reference.parquet")
    config = tmp_path / "mlvigil.yaml"
    config.write_text(request.param)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    log = tmp_path / "serve.log"
    argv = [sys.executable, "-m", "mlvigil", "serve", "--config", str(config)]
    server = start_logged([*argv, "--port", str(port)], log, cwd=tmp_path, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/readyz", server, log)
        yield url
    finally:
        server.kill()
        server.wait()


def _get(url: str, path: str, **params: str) -> Any:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answer = httpx.get(f"{url}{path}", params=params, headers=auth, timeout=10)
    answer.raise_for_status()
    return answer.json()


def test_the_job_pushes_each_window_to_a_real_service_and_a_drifted_one_alerts(
    spark: Any, lake: tuple[Path, dict[datetime, int]], service: str, capsys: Any
) -> None:
    from mlvigil.spark.job import main

    root, rows = lake
    argv = ["--input", str(root), "--model", "clicks", "--window", "1h", "--push", service]
    assert main([*argv, "--token", TOKEN], spark=spark) == 0
    printed = capsys.readouterr().out
    assert "2026-11-02T01:00:00+00:00" in printed
    assert "2 windows, 2,100 rows" in printed
    windows = _get(service, "/api/v1/models/clicks/windows")["windows"]
    assert [(w["start"], w["rows"]) for w in windows] == [
        (start.isoformat(), count) for start, count in rows.items()
    ]
    results = _get(service, "/api/v1/models/clicks/results", start=(T0 + HOUR).isoformat())
    share = next(r for r in results["results"] if r["metric"] == "drift_share")
    assert share["status"] == "failed"
    wait_until(
        lambda: any(
            a["labels"]["alertname"] == "dataset_drift" and a["state"] == "firing"
            for a in _get(service, "/api/v1/alerts")["alerts"]
        )
    )
    # Run again (a retried job): the source's profiles are replaced, not added.
    assert main([*argv, "--token", TOKEN], spark=spark) == 0
    again = _get(service, "/api/v1/models/clicks/windows")["windows"]
    assert [w["rows"] for w in again] == list(rows.values())


@pytest.mark.parametrize("service", [PERFORMANCE_CONFIG], ids=["performance"], indirect=True)
def test_performance_states_pushed_with_the_profiles_are_judged_by_the_service(
    spark: Any, lake: tuple[Path, dict[datetime, int]], service: str
) -> None:
    from mlvigil.spark.job import main

    root, rows = lake
    argv = ["--input", str(root), "--model", "clicks", "--window", "1h", "--push", service]
    performance = ["--performance", "--positive-label", "yes"]
    assert main([*argv, "--token", TOKEN, *performance], spark=spark) == 0
    windows = _get(service, "/api/v1/models/clicks/windows")["windows"]
    assert [(w["rows"], w["labelled"]) for w in windows] == [(n, n) for n in rows.values()]
    results = _get(service, "/api/v1/models/clicks/results", check="performance")["results"]
    accuracy = [r for r in results if r["metric"] == "accuracy"]
    assert len(accuracy) == 2  # one per window; random labels: half right, below 0.85
    assert {r["status"] for r in accuracy} == {"failed"}
    assert all(0.4 < r["value"] < 0.6 for r in accuracy)


def test_without_push_the_profiles_are_files_and_performance_states_beside_them(
    spark: Any, lake: tuple[Path, dict[datetime, int]], tmp_path: Path, capsys: Any
) -> None:
    from mlvigil.checks.performance_state import PerformanceState
    from mlvigil.spark.job import main

    root, rows = lake
    out = tmp_path / "profiles"
    argv = ["--input", str(root), "--model", "clicks", "--window", "1h", "--output", str(out)]
    assert main([*argv, "--performance"], spark=spark) == 0
    files = sorted((out / "clicks").iterdir())
    assert [f.name for f in files] == [
        "2026-11-02T00-00-00Z.performance",
        "2026-11-02T00-00-00Z.profile",
        "2026-11-02T01-00-00Z.performance",
        "2026-11-02T01-00-00Z.profile",
    ]
    profile = DatasetProfile.load(files[1])
    assert profile.row_count == rows[T0]
    # The logger's bookkeeping columns and partitions are not profiled, as in the service.
    assert set(profile.columns) == {"id", "timestamp", "prediction", "score", "dwell", "device"}
    state = PerformanceState.deserialize(files[0].read_bytes())
    assert (state.rows, state.labelled) == (rows[T0], rows[T0])
    assert 0.3 < state.metrics()["accuracy"] < 0.7  # random labels
    assert "state bytes" in capsys.readouterr().out


def test_bad_options_and_inputs_give_one_error_line(
    spark: Any, tmp_path: Path, capsys: Any
) -> None:
    from mlvigil.spark.job import main

    base = ["--model", "m", "--window", "1h"]
    assert main(["--input", str(tmp_path / "nothing"), *base, "--output", "x"], spark=spark) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["--input", str(tmp_path), *base], spark=spark) == 2
    assert "--push URL" in capsys.readouterr().err
    segmented = ["--input", str(tmp_path), *base, "--push", "http://x", "--segment", "s"]
    assert main(segmented, spark=spark) == 2
    assert "--output only" in capsys.readouterr().err


def test_the_commands_answer_help_without_starting_spark() -> None:
    for argv in (
        ["-m", "mlvigil", "spark", "profile", "--help"],
        ["-m", "mlvigil.spark.job", "-h"],
    ):
        shown = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=True)
        assert "--window" in shown.stdout
