"""/metrics for many models: scrapes of some models, and the series ``result_families`` writes.

The result gauges are one SQL query that writes the exposition text itself; these tests
hold it to what prometheus-client writes for ``result_families`` of the store's latest
results (byte for byte), and a filtered scrape to the full one restricted to its models.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from in_process import Client
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from service_data import SECURITY, START, TOKEN, records, write_config

from mlvigil import catalog
from mlvigil.checks.export import result_families
from mlvigil.checks.result import CheckResult, CheckStatus, Severity
from mlvigil.service.config import load_service_config
from mlvigil.service.gauges import LabelLags, ResultGauges, result_exposition
from mlvigil.service.ingest import labels_from_json, predictions_from_json
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.store import Store, WindowRecord
from mlvigil.telemetry.exposition import render_metrics

HOUR = timedelta(hours=1)
#: Label values the exposition must escape: a quote, a backslash, a newline.
ODD = 'odd "name" \\ with\nnewline'


def window(hours: int, *, final: bool) -> WindowRecord:
    start = START + hours * HOUR
    return WindowRecord(start, start + HOUR, 300, 120, start + 2 * HOUR, final, 1, None, 0, 0, 0)


def result(check: str, metric: str, column: str | None, value: float | None, **kw: Any):
    kw.setdefault("status", CheckStatus.PASSED)
    return CheckResult(check, metric, column, value, kw.pop("threshold", 0.1), **kw)


def latest_window_results() -> list[CheckResult]:
    """One result of every kind the gauges read, with the edge cases of their labels."""
    failed, error = CheckStatus.FAILED, CheckStatus.ERROR
    return [
        result("drift", "drift_share", None, 0.5, status=failed),
        result("drift", "drift_share", None, 1.0, segment="region=north", status=failed),
        result("drift", "ks", "income", 0.31, status=failed),
        result("drift", "psi", ODD, 1e-7),
        result("drift", "chisquare", "region", None, status=error, severity=Severity.WARNING),
        result("drift", "domain_classifier_auc", None, 0.75),
        result("completeness", "null_rate", "income", 0.2, status=failed),
        result("completeness", "null_rate", "age", float("inf")),
        result("uniqueness", "duplicate_rate", "id", 0.0),
        result("freshness", "freshness_hours", None, 1_764_576_000.0),
        # two results with the labels of one quality series: 0 as one failed
        result("schema", "type", "age", 1.0),
        result("schema", "type", "age", 0.0, status=failed),
        result("volume", "row_count", None, 123_456_789.5),
        result("outliers", "outlier_rate", "income", None, status=error),
        result("estimation", "accuracy", None, 0.8125),
        result("serving", "latency_p50_ms", None, 2.5, severity=Severity.INFO),
        result("serving", "latency_p99_ms", None, 12.0, severity=Severity.INFO),
        # a performance result of the latest window: not the one the gauges read
        result("performance", "accuracy", None, 0.1),
        result("performance", "f1", None, None, status=error, severity=Severity.INFO),
    ]


def final_window_results() -> list[CheckResult]:
    return [
        result("performance", "accuracy", None, 0.91),
        result("performance", "roc_auc", None, None, status=CheckStatus.ERROR),
        result("performance", "label_coverage", None, 0.4, severity=Severity.INFO),
        result("performance", "accuracy", None, 0.7, segment="region=north"),
        result("drift", "ks", "income", 0.99, status=CheckStatus.FAILED),  # an older window's
    ]


class OneModelAtATime(Collector):
    """The gauges as the service built them before: per model, from ``result_families``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from result_families(self.store.latest_results())
        families = {
            m: GaugeMetricFamily(m.name, m.help, labels=list(m.labels))
            for m in (catalog.WINDOW_ROWS, catalog.LAST_WINDOW_END, catalog.LABEL_LAG_SECONDS)
        }
        for model in self.store.models:
            lag = self.store.label_lag(model)
            if lag is not None:
                families[catalog.LABEL_LAG_SECONDS].add_metric([model], lag)
            windows = self.store.windows(model)
            if windows:
                families[catalog.WINDOW_ROWS].add_metric([model], windows[-1].rows)
                families[catalog.LAST_WINDOW_END].add_metric([model], windows[-1].end.timestamp())
        yield from families.values()


def by_family(text: str) -> list[tuple[str, list[str]]]:
    """Each family's header and its sample lines, sorted (their order is free)."""
    families: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# HELP"):
            families.append((line, []))
        elif not line.startswith("# TYPE"):
            families[-1][1].append(line)
    return [(header, sorted(lines)) for header, lines in families]


@pytest.fixture
def service(service_factory) -> MonitoringService:
    """The credit model with an older, labelled window and a newer one of every result."""
    opened = service_factory()
    opened.store.save_window("credit", window(0, final=True), None, final_window_results())
    opened.store.save_window("credit", window(1, final=False), None, latest_window_results())
    body = orjson.dumps({"records": records(50, seed=1)})
    credit = opened.config.models["credit"]
    opened.store.insert_predictions("credit", predictions_from_json(body, credit))
    labels = orjson.dumps({"records": [{"id": f"p1-{i}", "label": 1} for i in range(50)]})
    opened.store.insert_labels("credit", labels_from_json(labels, credit))
    return opened


def test_the_batched_gauges_are_what_result_families_writes_byte_for_byte(service):
    registry = CollectorRegistry()
    registry.register(OneModelAtATime(service.store))
    expected = generate_latest(registry).decode()
    rendered = result_exposition(service.store, ["credit"])
    body, _ = render_metrics(None, CollectorRegistry(), rendered=rendered)
    assert by_family(body.decode()) == by_family(expected)
    # The edge cases are there, as prometheus-client writes them.
    assert 'column="odd \\"name\\" \\\\ with\\nnewline"' in expected
    assert 'mlvigil_data_freshness_hours{model="credit"} 1.764576e+09' in expected
    assert 'mlvigil_null_rate{column="age",model="credit"} +Inf' in expected
    assert 'mlvigil_performance{metric="accuracy",model="credit"} 0.91' in expected


def test_the_collector_gives_the_same_series_as_the_exposition(service):
    registry = CollectorRegistry()
    registry.register(ResultGauges(service.store))
    from_families = generate_latest(registry).decode()
    rendered = result_exposition(service.store, ["credit"])
    body, _ = render_metrics(None, CollectorRegistry(), rendered=rendered)
    assert by_family(from_families) == by_family(body.decode())


# -- scrapes of some models ------------------------------------------------------------

MODELS = ("credit-eu", "credit-us", "fraud-eu", "churn")


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """Four models with an evaluated window each, ingested over HTTP (counted)."""
    directory = tmp_path_factory.mktemp("shards")
    text = write_config(directory).read_text().split("security:")[0]
    body = text.split("models:")[1]
    models = "".join(body.replace("  credit:", f"  {name}:") for name in MODELS)
    path: Path = directory / "mlvigil.yaml"
    path.write_text(text.split("models:")[0] + "models:" + models + SECURITY)
    service = MonitoringService(load_service_config(path))
    client = Client(service, TOKEN)
    for seed, name in enumerate(MODELS):
        shift = 40_000 if name == "fraud-eu" else 0
        rows = records(200, seed=seed, income_shift=shift, prefix=name)
        response = client.post(f"/api/v1/models/{name}/predictions", json={"records": rows})
        assert response.status_code == 201, response.text
        service.evaluate(name, START, START + HOUR)
    yield client
    service.close()


def samples(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    return {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not math.isnan(s.value)
    }


def scrape(client: Client, **params: Any) -> str:
    response = client.get("/metrics", params=params)
    assert response.status_code == 200, response.text
    return response.text


def test_a_scrape_of_some_models_is_the_full_scrape_restricted_to_them(shards):
    full = samples(scrape(shards))
    assert {dict(labels).get("model") for _, labels, _ in full} >= set(MODELS)
    part = samples(scrape(shards, model=["credit-eu", "fraud-eu"]))
    assert part == {s for s in full if dict(s[1]).get("model") in ("credit-eu", "fraud-eu")}
    assert ("mlvigil_dataset_drift", (("model", "fraud-eu"),), 1.0) in part
    ingested = {s for s in part if s[0] == "mlvigil_rows_ingested_total"}
    assert {dict(labels)["model"] for _, labels, _ in ingested} == {"credit-eu", "fraud-eu"}


def models_in(text: str) -> set[str | None]:
    return {dict(labels).get("model") for _, labels, _ in samples(text)}


def test_a_prefix_scrapes_the_models_whose_name_starts_with_it(shards):
    assert models_in(scrape(shards, model_prefix="credit-")) == {"credit-eu", "credit-us"}
    both = scrape(shards, model_prefix="credit-", model="churn")
    assert models_in(both) == {"credit-eu", "credit-us", "churn"}


def test_an_unknown_model_scrapes_nothing_but_still_answers(shards):
    text = scrape(shards, model="no-such-model")
    assert samples(text) == set()
    assert "# TYPE mlvigil_drift_score gauge" in text  # the families are still described


def test_openmetrics_scrapes_end_once_with_eof_and_hold_the_same_series(shards):
    accept = {"Accept": "application/openmetrics-text; version=1.0.0"}
    response = shards.get("/metrics", params={"model": "churn"}, headers=accept)
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    assert response.text.count("# EOF") == 1
    families = list(openmetrics_families(response.text))
    assert {f.name for f in families} >= {"mlvigil_drift_share", "mlvigil_rows_ingested"}
    plain = {s for s in samples(scrape(shards, model="churn")) if s[0].startswith("mlvigil_drift")}
    opened = {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for f in families
        for s in f.samples
        if s.name.startswith("mlvigil_drift")
    }
    assert opened == plain


# -- the label lag, read within a budget -------------------------------------------------


class SlowLabels:
    """A store whose label lag takes 0.1 s (of ``clock``) per model."""

    def __init__(self) -> None:
        self.now = 0.0
        self.asked: list[str] = []

    def clock(self) -> float:
        return self.now

    def label_lag(self, model: str) -> float:
        self.asked.append(model)
        self.now += 0.1
        return float(len(self.asked))


def test_label_lags_are_read_within_the_budget_stalest_first_and_kept():
    store = SlowLabels()
    lags = LabelLags(max_age=60, budget=0.25, clock=store.clock)
    models = [f"m{i}" for i in range(7)]
    # 0.3 s spent after three: the rest wait for the next scrape
    assert list(lags.get(store.label_lag, models)) == ["m0", "m1", "m2"]
    assert list(lags.get(store.label_lag, models)) == models[:6]
    assert list(lags.get(store.label_lag, models)) == models
    asked = len(store.asked)
    assert lags.get(store.label_lag, models)["m0"] == 1.0  # fresh enough: not read again
    assert len(store.asked) == asked
    store.now += 60
    lags.get(store.label_lag, models)
    assert store.asked[asked:] == ["m0", "m1", "m2"]  # the stalest again first


def test_a_scraper_that_accepts_gzip_gets_the_same_scrape_compressed(shards):
    plain = shards.get("/metrics", headers={"Accept-Encoding": "identity"})
    packed = shards.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content) / 3
    assert samples(packed.text) == samples(plain.text)  # httpx decompresses


def test_each_family_is_written_once(shards):
    text = scrape(shards)
    helps = [line for line in text.splitlines() if line.startswith("# HELP ")]
    assert len(helps) == len(set(helps))
    assert "# HELP mlvigil_drift_score " in text
