"""The overview of many models: pages, search, status order and counts over every model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from in_process import Client
from service_data import SECURITY, START, TOKEN, applicants, records

from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import labels_from_json, predictions_from_json
from mlvigil.service.monitor import MonitoringService

HOUR = timedelta(hours=1)
NOW = START + timedelta(hours=3)
TEAMS = ("fraud", "churn", "credit")
#: Their windows drifted (a dataset_drift alert fires) ...
DRIFTED = ("fraud-00", "fraud-01", "fraud-02")
#: ... a fifth of their incomes are null (quality_failure fires) ...
NULLS = ("churn-00", "churn-01")
#: ... it drifted too, but its alerts are silenced: failing, not alerting ...
SILENCED = "credit-00"
#: ... and they have no data at all.
EMPTY = ("churn-09", "credit-09")
#: Labelled: its overview row shows performance.
LABELLED = "credit-01"
#: No income at all: its drift on income cannot be computed.
BROKEN = "credit-03"
NAMES = tuple(f"{team}-{k:02d}" for team in TEAMS for k in range(10))

MODEL = """
  {name}:
    schema:
      features: {{income: numerical, age: numerical, region: categorical}}
      prediction: prediction
      score: score
      target: label
    reference: {{path: reference.parquet}}
    window: 1h
    checks:
      drift: {{drift_share: 0.5}}
      quality: {{completeness: {{default_max_null_rate: 0.05}}}}
      performance: {{task: classification, metrics: [accuracy], min_labels: 20}}
"""


def write_config(directory: Path) -> Path:
    reference = applicants(1_000, seed=0)
    labels = [int(i < 45_000) for i in reference["income"]]
    pq.write_table(
        pa.table({**reference, "prediction": labels, "label": labels}),
        directory / "reference.parquet",
    )
    body = "".join(MODEL.format(name=name) for name in NAMES)
    path = directory / "mlvigil.yaml"
    path.write_text(
        "store: store/mlvigil.duckdb\nevaluation_interval: 3600\n"
        f"accept: {{max_age: 36500d}}\nmodels:{body}{SECURITY}"
    )
    return path


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Thirty models, one evaluated window each (but two), some failing, some alerting."""
    config = load_service_config(write_config(tmp_path_factory.mktemp("overview")))
    opened = MonitoringService(config, clock=lambda: NOW)
    opened.add_silence(
        {"model": SILENCED}, duration=24 * HOUR, created_by="ana", comment="retraining"
    )
    for seed, name in enumerate(NAMES):
        if name in EMPTY:
            continue
        shift = 40_000 if name in (*DRIFTED, SILENCED) else 0
        nulls = 0.2 if name in NULLS else 1.0 if name == BROKEN else 0.0
        rows = records(200, seed=seed, income_shift=shift, null_income=nulls, prefix=name)
        body = orjson.dumps({"records": rows})
        opened.store.insert_predictions(name, predictions_from_json(body, config.models[name]))
        if name == LABELLED:
            labels = orjson.dumps({"records": [{"id": r["id"], "label": 0} for r in rows]})
            opened.store.insert_labels(name, labels_from_json(labels, config.models[name]))
        opened.evaluate(name, START, START + HOUR)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def client(service: MonitoringService) -> Client:
    return Client(service, TOKEN)


def overview(client: Client, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/overview", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(page: dict[str, Any]) -> list[str]:
    return [m["name"] for m in page["models"]]


def test_a_small_config_shows_every_model_on_the_first_page_in_config_order(client):
    page = overview(client)
    assert names(page) == list(NAMES)
    assert (page["total"], page["offset"], page["limit"], page["next_offset"]) == (30, 0, 100, None)


def test_pages_follow_each_other_without_gap_or_repeat(client):
    seen, offset = [], 0
    while offset is not None:
        page = overview(client, limit=7, offset=offset)
        assert len(page["models"]) <= 7
        assert page["total"] == 30
        seen += names(page)
        offset = page["next_offset"]
    assert seen == list(NAMES)
    assert overview(client, limit=7, offset=28)["next_offset"] is None
    assert overview(client, offset=30)["models"] == []


def test_the_summary_counts_every_model_whatever_the_page_or_search(client):
    expected = {"models": 30, "alerting": 6, "failing": 7, "no_data": 2, "ok": 21}
    assert overview(client)["summary"] == expected
    assert overview(client, limit=3, offset=9)["summary"] == expected
    assert overview(client, search="fraud")["summary"] == expected


def test_each_model_says_its_status(client):
    status = {m["name"]: m["status"] for m in overview(client)["models"]}
    assert {n for n, s in status.items() if s == "alerting"} == {*DRIFTED, *NULLS, BROKEN}
    assert {n for n, s in status.items() if s == "failing"} == {SILENCED}
    assert {n for n, s in status.items() if s == "no_data"} == set(EMPTY)
    silenced = next(m for m in overview(client)["models"] if m["name"] == SILENCED)
    assert silenced["alerts"]["firing"] == 0
    assert silenced["alerts"]["silenced"] >= 1


def test_search_is_a_case_insensitive_substring_of_the_name(client):
    page = overview(client, search="URN-0")
    assert names(page) == [f"churn-{k:02d}" for k in range(10)]
    assert page["total"] == 10
    assert overview(client, search="nothing-like-it")["models"] == []
    assert (
        overview(client, search="credit-0", limit=4, offset=4)["models"][0]["name"] == "credit-04"
    )


def test_sorting_by_status_puts_alerting_then_failing_then_no_data_first(client):
    page = overview(client, sort="status", limit=10)
    assert names(page)[:6] == sorted([*DRIFTED, *NULLS, BROKEN])
    assert names(page)[6] == SILENCED
    assert names(page)[7:9] == sorted(EMPTY)
    assert names(page)[9:] == ["churn-02"]  # the first healthy one, by name
    by_name = overview(client, sort="name")
    assert names(by_name) == sorted(NAMES)


def test_a_status_filter_keeps_only_those_models(client):
    page = overview(client, status=["failing", "no_data"], sort="status")
    assert names(page) == [SILENCED, *sorted(EMPTY)]
    assert page["total"] == 3


def test_a_model_row_keeps_its_verdicts(client):
    rows = {m["name"]: m for m in overview(client)["models"]}
    drifted = rows["fraud-00"]
    assert drifted["drift"]["status"] == "failed"
    assert drifted["windows"] == 1
    assert drifted["latest_window"]["rows"] == 200
    assert drifted["alerts"]["firing"] >= 1
    assert drifted["last_prediction"] is not None
    assert rows["churn-00"]["quality"]["failed"] >= 1
    empty = rows["churn-09"]
    assert (empty["windows"], empty["latest_window"], empty["drift"]) == (0, None, None)
    assert empty["last_prediction"] is None
    assert empty["data_age_seconds"] is None
    (accuracy,) = rows[LABELLED]["performance"]
    assert accuracy["metric"] == "accuracy"
    assert accuracy["window_start"] == START.isoformat()
    assert rows[LABELLED]["label_coverage"] == 1.0
    assert rows["credit-02"]["performance"] == []
    (error,) = rows[BROKEN]["errors"]
    assert (error["check"], error["column"]) == ("drift", "income")
    assert "null" in error["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"sort": "age"}, "sort"),
        ({"status": "sleepy"}, "status"),
    ],
)
def test_bad_paging_parameters_are_refused_naming_the_parameter(client, params, field):
    response = client.get("/api/v1/overview", params=params)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_the_overview_equals_what_the_store_says_model_by_model(service, client):
    """The batched queries agree with the store's per-model reads (the former overview)."""
    rows = {m["name"]: m for m in overview(client)["models"]}
    now = service.clock()
    for name in NAMES:
        assert rows[name] == {**expected_row(service, name, now), "status": rows[name]["status"]}


def expected_row(service: MonitoringService, name: str, now: datetime) -> dict[str, Any]:
    """A model's overview row from the store's per-model reads, as it was built before."""
    store = service.store
    mine = store.latest_results(name)
    windows = store.windows(name)
    span = store.data_range(name)
    share = next((r for r in mine if r.metric == "drift_share"), None)
    quality = [r for r in mine if r.check.is_quality]
    measured = [r for r in store.results(name, check="performance") if r.segment is None]
    measured = [r for r in measured if r.metric != "label_coverage"]
    ran = [r.window_start for r in measured if r.status.value in ("passed", "failed")]
    points = [r for r in measured if ran and r.window_start == max(ran)]
    covered = [w for w in windows if ran and w.start == max(ran)] or [
        w for w in windows if w.labels_final
    ]
    alerts = [a for a in service.alerts() if a["labels"].get("model") == name]
    latest = windows[-1] if windows else None
    return {
        "name": name,
        "windows": len(windows),
        "latest_window": None
        if latest is None
        else {
            "start": latest.start.isoformat(),
            "end": latest.end.isoformat(),
            "rows": latest.rows,
            "labelled": latest.labelled,
            "labels_final": latest.labels_final,
        },
        "drift": None
        if share is None
        else {"share": share.value, "threshold": share.threshold, "status": share.status.value},
        "quality": {"failed": sum(1 for r in quality if not r.passed), "total": len(quality)},
        "performance": [
            {
                "metric": r.metric,
                "value": None if r.value is None else round(r.value, 4),
                "threshold": None if r.threshold is None else round(r.threshold, 4),
                "status": r.status.value,
                "window_start": r.window_start.isoformat() if r.window_start else None,
            }
            for r in sorted(points, key=lambda r: r.metric)
        ],
        "errors": [
            {
                "check": r.check.value,
                "metric": r.metric,
                "column": r.column,
                "segment": r.segment,
                "message": r.message,
                "window_start": r.window_start.isoformat() if r.window_start else None,
            }
            for r in mine
            if r.status.value == "error" and r.severity.value != "info"
        ],
        "alerts": {
            "firing": sum(1 for a in alerts if a["state"] == "firing" and not a["silenced"]),
            "silenced": sum(1 for a in alerts if a["silenced"]),
            "pending": sum(1 for a in alerts if a["state"] == "pending"),
        },
        "last_prediction": None if span is None else span[1].astimezone(UTC).isoformat(),
        "data_age_seconds": None if span is None else (now - span[1]).total_seconds(),
        "label_coverage": covered[-1].labelled / covered[-1].rows
        if covered and covered[-1].rows
        else None,
    }
