"""Alert rules evaluated by the service: built-in rules fire, resolve, and survive restarts."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from service_data import START, records

from mlvigil.exceptions import ConfigError
from mlvigil.service.config import load_service_config, parse_service_config
from mlvigil.service.gauges import ResultGauges
from mlvigil.service.ingest import labels_from_json, predictions_from_json
from mlvigil.service.monitor import MonitoringService

HOUR = timedelta(hours=1)


def ingest(service: MonitoringService, rows: list[dict]) -> None:
    credit = service.config.models["credit"]
    body = orjson.dumps({"records": rows})
    service.store.insert_predictions("credit", predictions_from_json(body, credit))


def firing(service: MonitoringService) -> set[str]:
    return {a["labels"]["alertname"] for a in service.alerts() if a["state"] == "firing"}


def events(service: MonitoringService) -> list[tuple[str, str]]:
    return [(e["kind"], e["alert"]["labels"]["alertname"]) for e in service.store.alert_events()]


def test_built_in_rules_fire_on_a_bad_window_and_resolve_on_a_good_one(service_factory):
    service = service_factory()
    ingest(service, records(300, seed=3, income_shift=40_000, null_income=0.3))
    service.evaluate("credit", START, START + HOUR)
    assert firing(service) == {"dataset_drift", "quality_failure"}
    (quality,) = [a for a in service.alerts() if a["labels"]["alertname"] == "quality_failure"]
    assert quality["labels"]["column"] == "income"
    assert quality["labels"]["metric"] == "null_rate"
    assert quality["labels"]["severity"] == "error"
    assert quality["annotations"]["summary"].startswith(
        "credit: data-quality check failed: income null_rate 0.3"
    )

    ingest(service, records(300, seed=4, start=START + HOUR, prefix="good"))
    service.evaluate("credit", START + HOUR, START + 2 * HOUR)
    assert firing(service) == set()
    assert sorted(events(service)) == [
        ("firing", "dataset_drift"),
        ("firing", "quality_failure"),
        ("resolved", "dataset_drift"),
        ("resolved", "quality_failure"),
    ]


def test_a_restart_neither_repages_nor_forgets(service_factory):
    first = service_factory()
    ingest(first, records(300, seed=3, income_shift=40_000))
    first.evaluate("credit", START, START + HOUR)
    assert firing(first) == {"dataset_drift"}
    first.close()

    second = service_factory()
    assert firing(second) == {"dataset_drift"}
    second.evaluate("credit", START, START + HOUR)  # the same bad window again
    assert events(second) == [("firing", "dataset_drift")]  # paged once, not twice


def test_performance_alerts_come_from_the_latest_window_whose_labels_matured(
    config_path, monkeypatch
):
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)
    config_path.write_text(
        config_path.read_text().replace("min_labels: 20", "min_labels: 20\n        label_delay: 2h")
    )
    clock = [START + 65 * timedelta(minutes=1)]
    service = MonitoringService(load_service_config(config_path), clock=lambda: clock[0])
    try:
        credit = service.config.models["credit"]
        first = records(300, seed=5)
        ingest(service, first)
        wrong = [{"id": r["id"], "label": 1 - r["prediction"]} for r in first[:150]]
        right = [{"id": r["id"], "label": r["prediction"]} for r in first[150:]]
        body = orjson.dumps({"records": wrong + right})
        service.store.insert_labels("credit", labels_from_json(body, credit))
        service.evaluate("credit", START, START + HOUR)  # live: just after the window closed
        clock[0] = START + 3 * HOUR + 30 * timedelta(minutes=1)  # first window final now
        ingest(service, records(300, seed=6, start=START + HOUR, prefix="later"))
        service.evaluate("credit", START, START + 2 * HOUR)  # the second: first seen now
        assert "performance_degradation" in firing(service)
        (alert,) = [
            a for a in service.alerts() if a["labels"]["alertname"] == "performance_degradation"
        ]
        assert alert["value"] == pytest.approx(0.5)
    finally:
        service.close()


def test_a_segment_rule_fires_for_the_one_slice_where_the_model_fails(config_path, monkeypatch):
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)
    data = yaml.safe_load(config_path.read_text())
    data["models"]["credit"]["schema"]["segments"] = ["region"]
    data["alerting"] = {
        "default_rules": False,
        "rules": [
            {
                "name": "slice_accuracy",
                "check": "performance",
                "metric": "accuracy",
                "segment": "region",
                "condition": "< 0.8",
                "annotations": {"summary": "{model} {segment}: accuracy {value}"},
            }
        ],
    }
    config_path.write_text(yaml.safe_dump(data))
    service = MonitoringService(load_service_config(config_path))
    try:
        credit = service.config.models["credit"]
        rows = records(300, seed=7)
        ingest(service, rows)
        truth = [
            {
                "id": r["id"],
                "label": 1 - r["prediction"]
                if r["features"]["region"] == "south"
                else r["prediction"],
            }
            for r in rows
        ]
        body = orjson.dumps({"records": truth})
        service.store.insert_labels("credit", labels_from_json(body, credit))
        service.evaluate("credit", START, START + HOUR)
        (alert,) = service.alerts()
        assert alert["labels"]["segment"] == "region=south"
        assert alert["annotations"]["summary"] == "credit region=south: accuracy 0"
        whole = [r for r in service.store.latest_results() if r.metric == "accuracy"]
        by_segment = {r.segment: r.value for r in whole}
        assert by_segment["region=north"] == by_segment["region=east"] == 1.0
        assert by_segment[None] == pytest.approx(1 - share_of(rows, "south"))
        exposed = generate_latest(gauge_registry(service)).decode()
        assert (
            'mlvigil_segment_performance{metric="accuracy",model="credit",'
            'segment="region=south"} 0.0' in exposed
        )
    finally:
        service.close()


def share_of(rows: list[dict], region: str) -> float:
    return sum(r["features"]["region"] == region for r in rows) / len(rows)


def gauge_registry(service: MonitoringService) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(ResultGauges(service.store))
    return registry


def test_a_rule_can_watch_the_serving_latency_of_logged_predictions(config_path, monkeypatch):
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)
    data = yaml.safe_load(config_path.read_text())
    rule = {"name": "slow", "check": "serving", "metric": "latency_p99_ms", "condition": "> 1.5"}
    data["alerting"] = {"default_rules": False, "rules": [rule]}
    config_path.write_text(yaml.safe_dump(data))
    service = MonitoringService(load_service_config(config_path))
    try:
        ingest(service, records(300, seed=8))  # every record took 2 ms
        service.evaluate("credit", START, START + HOUR)
        (alert,) = service.alerts()
        assert (alert["labels"]["alertname"], alert["value"]) == ("slow", 2.0)
        exposed = generate_latest(gauge_registry(service)).decode()
        assert 'mlvigil_window_latency_seconds{model="credit",quantile="0.99"} 0.002' in exposed
    finally:
        service.close()


def test_custom_rules_with_for_windows_and_default_rules_switched_off(config_path, monkeypatch):
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)
    data = yaml.safe_load(config_path.read_text())
    data["alerting"] = {
        "default_rules": False,
        "rules": [
            {
                "name": "income_nulls",
                "check": "completeness",
                "metric": "null_rate",
                "column": "income",
                "condition": "> 0.1",
                "for": 2,
                "severity": "critical",
                "annotations": {"summary": "income nulls at {value}"},
            }
        ],
    }
    config_path.write_text(yaml.safe_dump(data))
    service = MonitoringService(load_service_config(config_path))
    try:
        ingest(service, records(300, seed=3, null_income=0.3))
        ingest(service, records(300, seed=5, null_income=0.3, start=START + HOUR, prefix="b"))
        service.evaluate("credit", START, START + HOUR)
        assert service.alerts()[0]["state"] == "pending"
        service.evaluate("credit", START + HOUR, START + 2 * HOUR)
        (alert,) = service.alerts()
        assert alert["state"] == "firing"
        assert alert["labels"]["severity"] == "critical"
        assert alert["annotations"]["summary"].startswith("income nulls at 0.")
    finally:
        service.close()


@pytest.mark.parametrize(
    ("alerting", "message"),
    [
        ({"rules": [{"name": "x", "condition": "bigger"}]}, "cannot read condition 'bigger'"),
        ({"rules": [{"name": "x", "condition": "> 1", "fore": 2}]}, "did you mean 'for'"),
        ({"default_rules": {"drift": False}}, "alerting.default_rules"),
        ({"rules": [{"name": "no_data", "condition": "> 1"}]}, "repeated: ['no_data']"),
    ],
)
def test_bad_alerting_settings_are_refused(alerting, message, tmp_path):
    from service_data import CONFIG

    data = {**yaml.safe_load(CONFIG), "alerting": alerting}
    with pytest.raises(ConfigError) as error:
        parse_service_config(data, base_dir=tmp_path)
    assert message in str(error.value)
