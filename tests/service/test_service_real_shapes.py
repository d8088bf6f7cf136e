"""The service on data shaped as users send it: no silent wrong answer.

Each test reproduces what a new user hit on real data: float labels compared as text,
positive-class probabilities read as confidences, a float64 reference target, labels
posted after their window was evaluated, the last row window never closing, sketch
drift that changed between runs, string timestamps in Parquet, label fields named as
the schema names them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sklearn import metrics as sk

from mlvigil.checks.details import DriftDetails, PerformanceDetails
from mlvigil.checks.drift import DriftConfig, detect_drift
from mlvigil.checks.result import CheckKind
from mlvigil.exceptions import ConfigError
from mlvigil.service.config import load_service_config
from mlvigil.service.gauges import ResultGauges
from mlvigil.service.ingest import read_labels, read_predictions
from mlvigil.service.monitor import MonitoringService
from mlvigil.service.views import overview, window_report

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

CONFIG = """
store: store.duckdb
evaluation_interval: 3600
lateness: 0
models:
  loans:
    schema:
      id: loan_id
      timestamp: ts
      features: {{income: numerical, grade: categorical}}
      prediction: predicted
      score: p_default
      target: default
    reference: {source}
    window: {window}
    checks:
      drift: {{drift_share: 0.5{drift}}}
      performance:
        task: classification
        metrics: [accuracy, f1, roc_auc]
        min_labels: 20
        label_delay: {label_delay}{performance}
{alerting}"""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def loans(rows: int, seed: int, *, shift: float = 0.0) -> pd.DataFrame:
    """Loan applications scored by a model, as a pandas frame (float target, category)."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50 + shift, 10, rows)
    grade = pd.Categorical(rng.choice(["A", "B", "C"], rows))
    risk = 1 / (1 + np.exp((income - 45) / 4))
    default = (rng.random(rows) < risk).astype(float)  # pandas gives floats: 0.0 / 1.0
    return pd.DataFrame(
        {
            "income": income,
            "grade": grade,
            "p_default": risk.round(6),
            "predicted": (risk >= 0.5).astype(int),
            "default": default,
        }
    )


@pytest.fixture
def make_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., MonitoringService]]:
    for name in ("MLVIGIL_STORE", "MLVIGIL_HOST", "MLVIGIL_PORT"):
        monkeypatch.delenv(name, raising=False)
    opened: list[MonitoringService] = []

    def make(
        *,
        reference: pd.DataFrame | None = None,
        window: str = "1h",
        label_delay: str = "0s",
        drift: str = "",
        performance: str = "",
        clock: Clock | None = None,
        source: str = "{path: reference.parquet}",
        alerting: str = "",
    ) -> MonitoringService:
        (reference if reference is not None else loans(4_000, 0)).to_parquet(
            tmp_path / "reference.parquet"
        )
        path = tmp_path / "mlvigil.yaml"
        path.write_text(
            CONFIG.format(
                window=window,
                label_delay=label_delay,
                drift=drift,
                performance=performance,
                source=source,
                alerting=alerting,
            )
        )
        service = MonitoringService(load_service_config(path), clock=clock or Clock(T0 + HOUR))
        opened.append(service)
        return service

    yield make
    for service in opened:
        if service.ready:
            service.close()


def post_predictions(
    service: MonitoringService, frame: pd.DataFrame, start: datetime, *, prefix: str = "L"
) -> list[str]:
    """The frame's rows as JSON records spread over the half hour after ``start``."""
    ids = [f"{prefix}{i}" for i in range(len(frame))]
    records = []
    for i, row in enumerate(frame.to_dict("records")):
        records.append(
            {
                "loan_id": ids[i],
                "ts": (start + timedelta(seconds=i * 1800 / len(frame))).isoformat(),
                "income": row["income"],
                "grade": row["grade"],
                "p_default": row["p_default"],
                "predicted": row["predicted"],
            }
        )
    config = service.model("loans")
    body = orjson.dumps({"records": records}, option=orjson.OPT_SERIALIZE_NUMPY)
    service.store.insert_predictions("loans", read_predictions(body, "json", config))
    return ids


def post_labels(service: MonitoringService, ids: list[str], labels: list[Any]) -> None:
    """Labels under the schema's own field names (``loan_id``, ``default``)."""
    records = [{"loan_id": i, "default": label} for i, label in zip(ids, labels, strict=True)]
    body = orjson.dumps({"records": records}, option=orjson.OPT_SERIALIZE_NUMPY)
    service.store.insert_labels("loans", read_labels(body, "json", service.model("loans")))


def results(service: MonitoringService, check: str) -> dict[tuple[str, str | None], dict]:
    rows = service.store.results("loans", check=check)
    return {(r.metric, r.column): r.to_row() for r in rows if r.segment is None}


def gauges(service: MonitoringService) -> str:
    registry = CollectorRegistry()
    registry.register(ResultGauges(service.store))
    return generate_latest(registry).decode()


# -- 1. labels are classes, not text ---------------------------------------------------


def test_float_labels_are_scored_against_integer_predictions_as_scikit_learn_does(make_service):
    service = make_service()
    window = loans(500, 1)
    ids = post_predictions(service, window, T0)
    post_labels(service, ids, window["default"].tolist())  # 1.0 / 0.0
    service.evaluate("loans", T0, T0 + HOUR)
    performance = results(service, "performance")
    truth, predicted = window["default"].astype(int), window["predicted"]
    assert performance["accuracy", None]["value"] == pytest.approx(
        sk.accuracy_score(truth, predicted), abs=1e-12
    )
    assert performance["f1", None]["value"] == pytest.approx(sk.f1_score(truth, predicted))
    assert performance["roc_auc", None]["value"] == pytest.approx(
        sk.roc_auc_score(truth, window["p_default"]), abs=1e-12
    )
    accuracy = sk.accuracy_score(truth, predicted)
    assert f'mlvigil_performance{{metric="accuracy",model="loans"}} {accuracy}' in gauges(service)
    label_drift = results(service, "drift")
    assert [r["status"] for (m, c), r in label_drift.items() if c == "default"] == ["passed"]


def test_labels_of_classes_the_reference_never_had_are_an_alerting_error(make_service):
    service = make_service()
    window = loans(300, 2)
    ids = post_predictions(service, window, T0)
    post_labels(service, ids, ["yes" if d else "no" for d in window["default"]])
    service.evaluate("loans", T0, T0 + HOUR)
    accuracy = results(service, "performance")["accuracy", None]
    assert accuracy["status"] == "error"
    assert accuracy["value"] is None
    assert "classes the reference never had: 'no', 'yes'" in accuracy["message"]
    exported = gauges(service)
    assert (
        'mlvigil_check_error{check="performance",column="",metric="accuracy",model="loans"} 1.0'
        in exported
    )
    firing = [a for a in service.alerts() if a["labels"]["alertname"] == "check_error"]
    assert {a["labels"]["metric"] for a in firing} >= {"accuracy", "f1", "roc_auc"}
    (model,) = overview(service)["models"]
    assert {e["metric"] for e in model["errors"]} >= {"accuracy", "f1"}


# -- 2. score semantics -------------------------------------------------------------------


def test_scores_that_contradict_score_is_are_reported_at_start_and_on_every_window(
    make_service, caplog
):
    service = make_service(performance="\n        score_is: confidence")
    warnings = service.reference("loans").warnings
    assert any("set score_is: positive_probability" in w for w in warnings)
    assert any("set score_is: positive_probability" in r.getMessage() for r in caplog.records)
    window = loans(400, 3)
    ids = post_predictions(service, window, T0)
    post_labels(service, ids, window["default"].tolist())
    service.evaluate("loans", T0, T0 + HOUR)
    performance = results(service, "performance")
    assert performance["roc_auc", None]["status"] == "error"
    assert "set score_is: positive_probability" in performance["roc_auc", None]["message"]
    assert performance["accuracy", None]["status"] == "passed"  # labels still score


# -- 3. the reference takes the schema's types -----------------------------------------


def test_a_reference_column_that_cannot_take_its_type_stops_the_start_naming_both(
    make_service,
):
    reference = loans(100, 4)
    reference["income"] = reference["income"].astype(str)
    reference.loc[3, "income"] = "n/a"
    with pytest.raises(ConfigError) as raised:
        make_service(reference=reference)
    message = str(raised.value)
    assert "column 'income'" in message
    assert "numerical" in message
    assert "cannot read 'n/a' as a number" in message


# -- 4. late data --------------------------------------------------------------------------


def test_labels_posted_after_evaluation_are_used_and_counted_as_late(make_service):
    clock = Clock(T0 + HOUR)
    service = make_service(clock=clock)
    window = loans(400, 5)
    ids = post_predictions(service, window, T0)
    assert service.evaluate_due() == 1  # closed, no labels yet
    assert results(service, "performance")["accuracy", None]["status"] == "error"
    clock.now += 10 * timedelta(minutes=1)
    post_labels(service, ids, window["default"].tolist())
    assert service.evaluate_due() == 1  # the scheduler saw the labels
    (record,) = service.store.windows("loans")
    assert (record.revision, record.labelled, record.labels_final) == (2, 400, True)
    assert record.late_labels == 400  # label_delay 0: final at once, so these came late
    accuracy = results(service, "performance")["accuracy", None]
    assert accuracy["value"] == pytest.approx(
        sk.accuracy_score(window["default"].astype(int), window["predicted"])
    )
    assert service.evaluate_due() == 0  # nothing new: not evaluated again


def test_rows_arriving_for_an_evaluated_window_are_evaluated_too(make_service):
    clock = Clock(T0 + HOUR)
    service = make_service(clock=clock)
    post_predictions(service, loans(300, 6), T0)
    service.evaluate_due()
    post_predictions(service, loans(200, 7), T0 + timedelta(minutes=5), prefix="late")
    assert service.evaluate_due() == 1
    (record,) = service.store.windows("loans")
    assert (record.rows, record.revision, record.late_rows) == (500, 2, 200)


def test_a_backfilled_window_waits_label_delay_from_its_first_evaluation(make_service):
    clock = Clock(T0 + 30 * 24 * HOUR)  # replaying last month
    service = make_service(clock=clock, label_delay="2h")
    window = loans(400, 8)
    ids = post_predictions(service, window, T0)
    service.evaluate_due()
    record = service.store.windows("loans")[0]  # then a month of empty windows
    assert record.rows == 400
    assert not record.labels_final  # its label delay passed long ago by the wall clock
    clock.now += HOUR
    post_labels(service, ids, window["default"].tolist())
    service.evaluate_due()
    record = service.store.windows("loans")[0]
    assert (record.revision, record.labelled, record.labels_final, record.late_labels) == (
        2,
        400,
        False,
        0,
    )
    clock.now += 2 * HOUR
    service.evaluate_due()
    assert service.store.windows("loans")[0].labels_final


def test_an_alert_fires_on_a_window_re_evaluated_for_its_late_labels(make_service):
    clock = Clock(T0 + HOUR)
    service = make_service(clock=clock, performance="\n        baseline: {accuracy: 0.95}")
    window = loans(400, 9)
    ids = post_predictions(service, window, T0)
    service.evaluate_due()
    assert not [
        a for a in service.alerts() if a["labels"]["alertname"] == "performance_degradation"
    ]
    wrong = [1.0 - d for d in window["default"]]  # every label contradicts the model
    post_labels(service, ids, wrong)
    service.evaluate_due()
    firing = {a["labels"]["alertname"] for a in service.alerts() if a["state"] == "firing"}
    assert "performance_degradation" in firing


# -- 5. row windows close ---------------------------------------------------------------


def test_row_windows_close_when_full_and_the_last_one_after_its_idle_time(make_service):
    clock = Clock(T0 + HOUR)
    service = make_service(clock=clock, window="{rows: 100, idle: 5m}")
    post_predictions(service, loans(1_000, 10), T0)
    assert service.evaluate_due() == 10  # 1,000 rows: ten full windows, the last included
    post_predictions(service, loans(40, 11), T0 + HOUR, prefix="tail")
    assert service.evaluate_due() == 0  # 40 rows wait for more...
    clock.now += 5 * timedelta(minutes=1)
    assert service.evaluate_due() == 1  # ...until nothing came for 5 minutes
    assert [w.rows for w in service.store.windows("loans")] == [100] * 10 + [40]


def test_evaluate_closes_a_partial_row_window_and_says_why_when_nothing_matches(make_service):
    service = make_service(window="{rows: 100}")
    assert (
        service.no_windows_reason("loans", T0, T0 + HOUR) == "model 'loans' has no predictions yet"
    )
    post_predictions(service, loans(150, 12), T0)
    evaluations = service.evaluate("loans", T0, T0 + HOUR)
    assert [e.window.rows for e in evaluations] == [100, 50]
    later = T0 + 48 * HOUR
    assert service.evaluate("loans", later, later + HOUR) == []
    assert "its predictions run from 2026-11-02T08:00:00+00:00" in service.no_windows_reason(
        "loans", later, later + HOUR
    )


# -- 6. exact, repeatable drift -------------------------------------------------------------


def test_window_drift_is_the_exact_drift_of_its_rows_and_repeats_byte_for_byte(make_service):
    service = make_service()
    window = loans(3_000, 13, shift=2.0)
    post_predictions(service, window, T0)
    first = service.evaluate("loans", T0, T0 + HOUR)[0]
    second = service.evaluate("loans", T0, T0 + HOUR)[0]
    assert first.profile == second.profile
    reference = pd.read_parquet(service.model("loans").reference_path)
    exact = detect_drift(
        pa.table({"income": reference["income"], "p_default": reference["p_default"]}),
        pa.table({"income": window["income"], "p_default": window["p_default"]}),
        config=DriftConfig(),
    )
    drift = results(service, "drift")
    for column in ("income", "p_default"):
        (stored,) = [r for (m, c), r in drift.items() if c == column]
        assert stored["value"] == exact[column].statistic  # exact: equal, not close
        assert stored["details"]["approximation_error"] is None


# -- 7. thresholds learned from the reference ------------------------------------------------


def test_learned_thresholds_come_from_reference_chunks_of_the_windows_size(make_service):
    service = make_service(
        reference=loans(10_000, 14), window="{rows: 1000}", drift=", thresholds: learned"
    )
    reference = service.reference("loans")
    assert set(reference.learned_drift.limits) >= {"income", "grade", "p_default"}
    assert reference.learned_drift.limits["income"].chunk_rows == 1_000
    assert set(reference.performance.limits) == {"accuracy", "f1", "roc_auc"}  # auto: learned
    post_predictions(service, loans(1_000, 15), T0)
    service.evaluate("loans", T0, T0 + HOUR)
    income = next(r for (m, c), r in results(service, "drift").items() if c == "income")
    assert income["details"]["rule"] == "learned"
    assert income["threshold"] == pytest.approx(reference.learned_drift.limits["income"].upper)


# -- 8. ingest shapes ------------------------------------------------------------------------


def test_parquet_from_pandas_with_string_timestamps_and_schema_named_labels(make_service):
    service = make_service()
    config = service.model("loans")
    frame = loans(200, 16)
    frame.insert(0, "loan_id", [f"P{i}" for i in range(200)])
    frame.insert(1, "ts", [(T0 + timedelta(seconds=i)).isoformat() for i in range(200)])
    frame["predicted"] = frame["predicted"].astype("Int64")  # nullable integers
    frame["grade"] = frame["grade"].astype("string")  # pandas' string dtype
    body = io.BytesIO()
    frame.drop(columns=["default"]).to_parquet(body)
    outcome = service.store.insert_predictions(
        "loans", read_predictions(body.getvalue(), "application/vnd.apache.parquet", config)
    )
    assert outcome.stored == 200
    labels = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame[["loan_id", "default"]]), labels)
    outcome = service.store.insert_labels(
        "loans", read_labels(labels.getvalue(), "application/vnd.apache.parquet", config)
    )
    assert (outcome.stored, outcome.unknown_ids) == (200, 0)
    service.evaluate("loans", T0, T0 + HOUR)
    assert results(service, "performance")["accuracy", None]["value"] == pytest.approx(
        sk.accuracy_score(frame["default"].astype(int), frame["predicted"].astype(int))
    )


def test_fixed_thresholds_take_their_baselines_from_the_reference(make_service):
    service = make_service(
        performance="\n        thresholds: fixed\n        max_degradation: {accuracy: 0.02}"
    )
    reference = loans(4_000, 0)  # what make_service wrote
    baseline = sk.accuracy_score(reference["default"].astype(int), reference["predicted"])
    assert service.reference("loans").performance.baseline["accuracy"] == pytest.approx(baseline)
    window = loans(400, 17)
    ids = post_predictions(service, window, T0)
    post_labels(service, ids, window["default"].tolist())
    service.evaluate("loans", T0, T0 + HOUR)
    performance = results(service, "performance")
    assert performance["accuracy", None]["threshold"] == pytest.approx(baseline - 0.02)
    assert performance["f1", None]["threshold"] is None  # no tolerance given for f1


def test_the_report_of_a_multi_day_window_names_both_dates(make_service):
    service = make_service(window="2d")
    post_predictions(service, loans(200, 18), T0)
    service.evaluate("loans", T0, T0 + HOUR)
    html = window_report(service, "loans", None)
    title = html.split("<title>")[1].split("</title>")[0]
    assert "2026-11-01 00:00 – 2026-11-03 00:00" in title


def test_a_reference_of_the_first_windows_is_their_rows_with_their_labels(make_service):
    service = make_service(source="{first_windows: 2}")
    first = pd.concat([loans(300, 19), loans(300, 20)], ignore_index=True)
    for hour, part in enumerate((first.iloc[:300], first.iloc[300:])):
        ids = post_predictions(service, part, T0 + hour * HOUR, prefix=f"r{hour}-")
        post_labels(service, ids, part["default"].tolist())
        service.evaluate("loans", T0 + hour * HOUR, T0 + (hour + 1) * HOUR)
        drift_share = results(service, "drift")["drift_share", None]
        assert "no reference yet" in drift_share["message"]
    late = loans(300, 21, shift=8.0)
    post_predictions(service, late, T0 + 2 * HOUR, prefix="late")
    service.evaluate("loans", T0 + 2 * HOUR, T0 + 3 * HOUR)
    reference = service.reference("loans")
    assert reference.table.num_rows == 600
    assert reference.classes.classes == ("0", "1")  # float labels, integer predictions
    window = service.store.results("loans", start=T0 + 2 * HOUR)
    income = next(r.to_row() for r in window if r.check == "drift" and r.column == "income")
    exact = detect_drift(
        pa.table({"income": first["income"]}), pa.table({"income": late["income"]})
    )["income"]
    assert income["value"] == exact.statistic
    assert income["status"] == "failed"


def test_alerts_on_a_backfill_count_its_windows_as_a_live_stream_would(make_service):
    rule = """
alerting:
  default_rules: false
  rules:
    - {name: drift_twice, check: drift, metric: drift_share, condition: failed, for: 2}
"""
    clock = Clock(T0 + 10 * 24 * HOUR)  # the windows are replayed ten days later
    service = make_service(clock=clock, alerting=rule)
    for hour in range(2):
        post_predictions(
            service, loans(300, 30 + hour, shift=8.0), T0 + hour * HOUR, prefix=f"b{hour}"
        )
    service.evaluate("loans", T0, T0 + 2 * HOUR)  # one call, two drifted windows
    (alert,) = [a for a in service.alerts() if a["labels"]["alertname"] == "drift_twice"]
    assert (alert["state"], alert["windows_true"]) == ("firing", 2)


def test_the_store_hands_back_the_typed_results_it_was_given(make_service):
    service = make_service(reference=loans(10_000, 40), window="{rows: 1000}")
    window = loans(1_000, 41)
    ids = post_predictions(service, window, T0)
    post_labels(service, ids, window["default"].tolist())
    (evaluation,) = service.evaluate("loans", T0, T0 + HOUR)
    stored = {(r.check, r.metric, r.column): r for r in service.store.results("loans")}
    for result in evaluation.results:
        if result.segment is not None:
            continue
        back = stored[result.check, result.metric, result.column]
        assert type(back.details) is type(result.details)
        assert back.details == result.details
        assert (back.model, back.window_start, back.score) == ("loans", T0, result.score)
    (income,) = [
        r.details for k, r in stored.items() if k[0] == CheckKind.DRIFT and k[2] == "income"
    ]
    assert isinstance(income, DriftDetails)
    assert income.rule == "p_value"  # ks on 1,000 rows
    assert income.p_value is not None
    accuracy = stored[CheckKind.PERFORMANCE, "accuracy", None].details
    assert isinstance(accuracy, PerformanceDetails)
    assert accuracy.learned == service.reference("loans").performance.limits["accuracy"]
