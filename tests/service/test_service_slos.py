"""Model SLOs in the service: budgets and burn rates from stored results, the API, the
gauges Prometheus rules read, and burn-rate alerts through mlvigil's own engine.

A one-day period keeps the story short: hourly windows, a model that drifts in its
sixth hour. With a 99% objective the budget is 1% of the day (14.4 minutes); a
drifted window burns it at 100x, so the page condition (over 2 and 1 minutes at this
period) holds minutes after the drifted window's verdict.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest
from in_process import Client, Clock
from prometheus_client.parser import text_string_to_metric_families

from mlvigil.exceptions import ConfigError
from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import read_labels, read_predictions
from mlvigil.service.monitor import MonitoringService

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TOKEN = "slo-test-token-0123456789abcdef"

CONFIG = f"""
store: store.duckdb
evaluation_interval: 3600
lateness: 0
accept: {{max_age: 36500d}}
security: {{tokens: [{{name: test, scopes: [ingest, read, admin], token: {TOKEN}}}]}}
models:
  credit:
    schema:
      features: {{income: numerical, region: categorical}}
      prediction: approved
      score: null
    reference: {{path: reference.parquet}}
    window: 1h
    checks:
      drift: {{drift_share: 0.3}}
      performance:
        {{task: classification, metrics: [accuracy], min_labels: 20, positive_label: "yes"}}
slos:
  - name: credit-drift-free
    model: credit
    objective: 99
    period: 1d
    description: Inputs look like the training data.
    sli: {{drift: {{}}}}
  - name: credit-accurate
    model: credit
    objective: 95
    period: 1d
    sli: {{performance: {{metric: accuracy, threshold: 0.8}}}}
  - name: credit-availability
    model: credit
    objective: 99.9
    sli: {{availability: {{}}}}
"""


def applications(rows: int, seed: int, *, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.normal(50 + shift, 10, rows),
            "region": rng.choice(["north", "south"], rows),
            "approved": rng.choice(["yes", "no"], rows),
        }
    )


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MonitoringService]:
    for name in ("MLVIGIL_STORE", "MLVIGIL_HOST", "MLVIGIL_PORT"):
        monkeypatch.delenv(name, raising=False)
    applications(4_000, 0).to_parquet(tmp_path / "reference.parquet")
    (tmp_path / "mlvigil.yaml").write_text(CONFIG)
    opened = MonitoringService(load_service_config(tmp_path / "mlvigil.yaml"), clock=Clock(T0))
    yield opened
    opened.close()


def post_window(
    service: MonitoringService, start: datetime, *, shift: float = 0.0, right: float = 1.0
) -> None:
    """A window of predictions, and labels agreeing with a share ``right`` of them."""
    frame = applications(500, int(start.timestamp()) % 1000, shift=shift)
    records = [
        {"id": f"{start:%H}-{i}", "timestamp": (start + timedelta(seconds=i)).isoformat(), **row}
        for i, row in enumerate(frame.to_dict("records"))
    ]
    body = orjson.dumps({"records": records}, option=orjson.OPT_SERIALIZE_NUMPY)
    config = service.model("credit")
    service.store.insert_predictions("credit", read_predictions(body, "json", config))
    flip, labelled_at = {"yes": "no", "no": "yes"}, (start + timedelta(minutes=50)).isoformat()
    labels = [
        {
            "id": r["id"],
            "label": r["approved"] if i < right * len(records) else flip[r["approved"]],
            "timestamp": labelled_at,
        }
        for i, r in enumerate(records)
    ]
    body = orjson.dumps({"records": labels})
    service.store.insert_labels("credit", read_labels(body, "json", config))


def run_hours(
    service: MonitoringService, hours: int, *, drifted: set[int], wrong: set[int] = frozenset()
) -> None:
    """Post and evaluate each hour as the scheduler would, the clock at its end."""
    for hour in range(hours):
        start = T0 + hour * HOUR
        shift = 25.0 if hour in drifted else 0.0
        post_window(service, start, shift=shift, right=0.5 if hour in wrong else 0.95)
        service.clock.now = start + HOUR
        assert service.evaluate_due() == 1


def get(service: MonitoringService, path: str) -> httpx.Response:
    return Client(service, TOKEN).get(path)


def slo_alerts(service: MonitoringService) -> list[tuple[str, str, str]]:
    return sorted(
        (a["labels"]["alertname"], a["labels"]["slo"], a["state"])
        for a in service.alerts()
        if "slo" in a["labels"]
    )


def test_healthy_windows_leave_the_budget_whole_and_raise_no_alert(service):
    run_hours(service, 5, drifted=set())
    drift, accuracy = service.slo_statuses()
    for status in (drift, accuracy):
        assert status.good is True
        assert status.budget_remaining == pytest.approx(1.0)
        assert not status.page
        assert not status.ticket
    assert slo_alerts(service) == []


def test_a_window_below_the_accuracy_target_burns_the_performance_slo(service):
    run_hours(service, 4, drifted=set(), wrong={3})
    service.clock.now += timedelta(minutes=2)
    service.evaluate_due()
    _, accuracy = service.slo_statuses()
    assert accuracy.good is False  # 50% right against a target of 80%
    assert accuracy.budget_remaining == pytest.approx(1 - (2 / 182) / 0.05)
    assert ("slo_page", "credit-accurate", "firing") in slo_alerts(service)


def test_a_drifted_window_burns_the_budget_pages_and_is_shown_in_the_api_and_gauges(service):
    run_hours(service, 6, drifted={5})
    service.clock.now += timedelta(minutes=3)  # the drifted verdict has held 3 minutes
    service.evaluate_due()
    status, _ = service.slo_statuses()
    assert status.good is False
    # Bad for 3 of the 5 h 3 min any verdict covered (verdicts hold from a window's end).
    spent = (3 / 303) / 0.01
    assert status.budget_remaining == pytest.approx(1 - spent)
    assert status.page
    assert status.burn_rates["1m"] == pytest.approx(100.0)
    # Fast enough to page, and over the ticket's windows too (the default inhibit rule
    # mutes the ticket's notification while the page fires).
    assert [a for a in slo_alerts(service) if a[1] == "credit-drift-free"] == [
        ("slo_page", "credit-drift-free", "firing"),
        ("slo_ticket", "credit-drift-free", "firing"),
    ]
    (page,) = [
        a
        for a in service.alerts()
        if a["labels"]["alertname"] == "slo_page" and a["labels"]["slo"] == "credit-drift-free"
    ]
    assert page["labels"]["severity"] == "critical"
    assert "credit-drift-free burns its error budget fast" in page["annotations"]["summary"]

    body = get(service, "/api/v1/slos").json()["slos"]
    assert [s["name"] for s in body] == [
        "credit-drift-free",
        "credit-accurate",
        "credit-availability",
    ]
    drift, _, availability = body
    assert drift["evaluated_by"] == "service"
    assert drift["page"] is True
    assert drift["budget_remaining"] == pytest.approx(1 - spent, abs=1e-6)
    assert {w["window"] for w in drift["windows"]} >= {"1m", "2m", "1d"}
    assert drift["burn_down"][-1]["budget_remaining"] == pytest.approx(1 - spent, abs=1e-6)
    assert availability["evaluated_by"] == "prometheus"
    assert availability["windows"] == []

    metrics = get(service, "/metrics").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
    }
    labels = (("model", "credit"), ("slo", "credit-drift-free"))
    assert samples[("mlvigil_slo_sli_good", labels)] == 0.0
    assert samples[("mlvigil_slo_error_budget_remaining", labels)] == pytest.approx(1 - spent)


def test_the_alerts_resolve_once_good_verdicts_fill_their_short_windows(service):
    run_hours(service, 6, drifted={5})
    service.clock.now += timedelta(minutes=3)
    service.evaluate_due()
    post_window(service, T0 + 6 * HOUR)
    # The drifted verdict held an hour, until the next window's; 15 minutes of good
    # since then clear the ticket's 12-minute short window and the page's 1-minute one.
    service.clock.now = T0 + 7 * HOUR + timedelta(minutes=15)
    service.evaluate_due()
    assert slo_alerts(service) == []
    status, _ = service.slo_statuses()
    assert status.good is True
    assert not status.page
    assert not status.ticket
    # An hour bad of 6 h 15 min: 16% of the time against a 1% budget, overspent 16 times.
    assert status.budget_remaining == pytest.approx(1 - (60 / 375) / 0.01)


def test_an_slo_on_a_check_the_model_does_not_run_is_refused_at_start(tmp_path):
    text = CONFIG.replace("sli: {drift: {}}", "sli: {quality: {}}", 1)
    (tmp_path / "mlvigil.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"slos\[0\] \(credit-drift-free\): a quality SLI"):
        load_service_config(tmp_path / "mlvigil.yaml")
