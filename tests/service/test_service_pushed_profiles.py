"""Windows pushed as profiles (what a Spark job sends instead of rows): stored per
source, merged, judged for drift and quality like rows, alerting, idempotent per
source, and refused with a clear 4xx when they cannot be used."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from in_process import Client, Clock

from mlvigil.checks.result import CheckKind, CheckStatus
from mlvigil.profile import profile_table
from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import PROFILE_TYPE
from mlvigil.service.monitor import MonitoringService

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TOKEN = "pushed-profiles-token-0123456789"
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
      prediction: clicked
      score: null
    reference: {{path: reference.parquet}}
    window: 1h
    checks:
      drift: {{drift_share: 0.5}}
      quality: {{completeness: {{default_max_null_rate: 0.05}}}}
"""


def sessions(rows: int, seed: int, *, shift: float = 0.0, nulls: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    dwell = rng.gamma(2.0, 10.0 + shift, rows)
    dwell[rng.random(rows) < nulls] = np.nan
    device = rng.choice(["mobile", "desktop", "tablet"], rows, p=[0.5, 0.4, 0.1])
    if shift:
        device = rng.choice(["mobile", "desktop", "tablet"], rows, p=[0.1, 0.3, 0.6])
    return pa.table(
        {
            "dwell": pa.array(dwell, from_pandas=True),
            "device": device,
            "clicked": rng.choice(["yes", "no"], rows),
        }
    )


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MonitoringService]:
    for name in ("MLVIGIL_STORE", "MLVIGIL_HOST", "MLVIGIL_PORT"):
        monkeypatch.delenv(name, raising=False)
    import pyarrow.parquet as pq

    pq.write_table(sessions(5_000, 0), tmp_path / "reference.parquet")
    (tmp_path / "mlvigil.yaml").write_text(CONFIG)
    opened = MonitoringService(
        load_service_config(tmp_path / "mlvigil.yaml"), clock=Clock(T0 + 5 * HOUR)
    )
    yield opened
    opened.close()


def push(client: Client, table: pa.Table, at: datetime, source: str = "job-1"):
    return client.post(
        "/api/v1/models/clicks/profiles",
        params={"window": at.isoformat(), "source": source},
        content=profile_table(table).serialize(),
        headers={"Content-Type": PROFILE_TYPE},
    )


def test_a_drifted_pushed_profile_is_a_window_with_drift_results_and_an_alert(service):
    client = Client(service, TOKEN)
    answer = push(client, sessions(3_000, 1, shift=20.0), T0 + timedelta(minutes=10))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["window_start"], body["sources"], body["rows"]) == (T0.isoformat(), 1, 3_000)
    results = service.store.results("clicks", start=T0, end=T0 + HOUR)
    share = next(r for r in results if r.check is CheckKind.DRIFT and r.metric == "drift_share")
    assert share.status is CheckStatus.FAILED
    drifted = {r.column for r in results if r.check is CheckKind.DRIFT and r.column and
               r.status is CheckStatus.FAILED}  # fmt: skip
    assert drifted == {"dwell", "device"}
    (window,) = service.store.windows("clicks")
    assert window.rows == 3_000
    firing = {a["labels"]["alertname"] for a in service.alerts() if a["state"] == "firing"}
    assert "dataset_drift" in firing


def test_sources_merge_and_a_source_pushing_again_replaces_its_profile(service):
    client = Client(service, TOKEN)
    first, second = sessions(2_000, 2), sessions(1_000, 3)
    assert push(client, first, T0, "part-0").json()["rows"] == 2_000
    assert push(client, second, T0, "part-1").json()["rows"] == 3_000
    again = push(client, second, T0, "part-1").json()  # a retried job: not counted twice
    assert (again["sources"], again["rows"]) == (2, 3_000)
    merged = service.store.pushed_profile("clicks", T0)
    assert merged == profile_table(first).merge(profile_table(second))
    results = service.store.results("clicks", start=T0, end=T0 + HOUR)
    share = next(r for r in results if r.metric == "drift_share")
    assert share.status is CheckStatus.PASSED  # the same distribution as the reference


def test_quality_checks_run_on_the_pushed_profile(service):
    client = Client(service, TOKEN)
    assert push(client, sessions(2_000, 4, nulls=0.2), T0).status_code == 201
    results = service.store.results("clicks", start=T0, end=T0 + HOUR)
    nulls = next(r for r in results if r.metric == "null_rate" and r.column == "dwell")
    assert nulls.status is CheckStatus.FAILED
    assert nulls.value == pytest.approx(0.2, abs=0.03)


def test_bodies_that_are_no_usable_profile_are_refused_with_the_reason(service):
    client = Client(service, TOKEN)
    garbage = client.post(
        "/api/v1/models/clicks/profiles",
        params={"window": T0.isoformat()},
        content=b"not a profile",
        headers={"Content-Type": PROFILE_TYPE},
    )
    assert garbage.status_code == 400
    assert "DatasetProfile.serialize" in garbage.json()["detail"]
    foreign = push(client, pa.table({"other": [1.0, 2.0]}), T0)
    assert foreign.status_code == 400
    assert "none of model 'clicks'" in foreign.json()["detail"]
    wrong_type = client.post(
        "/api/v1/models/clicks/profiles",
        params={"window": T0.isoformat()},
        content=b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert wrong_type.status_code == 415
    as_rows = client.post(
        "/api/v1/models/clicks/predictions",
        content=profile_table(sessions(10, 5)).serialize(),
        headers={"Content-Type": PROFILE_TYPE},
    )
    assert as_rows.status_code == 415
    assert service.store.windows("clicks") == []


def test_pushing_needs_the_ingest_scope(service):
    anonymous = Client(service, "not-a-token-of-this-service-000")
    assert push(anonymous, sessions(100, 6), T0).status_code == 401
