"""Alerts follow the windows that have data, across a restart and its catch-up.

A real `mlvigil serve` with one-second windows sees a window with bad data (a quality
alert fires) and is stopped; data time moves on while it is down, and on restart its
catch-up evaluates the empty windows in between. They fire ``no_data`` and leave the
quality alert firing: nothing good was seen. Late good rows for one of those windows
resolve it, as a fresh window would; a window backfilled before all the others, with
bad rows, fires it again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from alerting_helpers import (
    HOUR,
    Clock,
    alerts,
    bad_rows,
    fast_config,
    good_rows,
    post_predictions,
    windows,
)

from live_servers import wait_until
from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import predictions_from_json
from mlvigil.service.monitor import MonitoringService
from service.service_data import START

WIDTH = timedelta(seconds=1)
QUALITY = "quality_failure:income"


def window_of(moment: datetime) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + (moment - epoch) // WIDTH * WIDTH


def evaluated(url: str, auth: dict[str, str]) -> list[tuple[datetime, int]]:
    return [(datetime.fromisoformat(w["start"]), w["rows"]) for w in windows(url, auth)]


def test_empty_windows_after_a_restart_neither_fire_nor_resolve_data_alerts(
    serve_with, auth, tmp_path
):
    served = serve_with(config=fast_config(tmp_path, window="1s"))
    # Closing about now, evaluated alone: the next window closes a second later.
    first = window_of(datetime.now(UTC) - WIDTH)
    span = 0.9  # seconds: every row inside the window
    post_predictions(served.url, auth, bad_rows(first, "a", span=span, null_income=0.3))
    wait_until(lambda: alerts(served.url, auth).get(QUALITY) == "firing")

    served.process.terminate()
    served.process.wait(timeout=30)
    stopped = datetime.now(UTC)
    wait_until(lambda: datetime.now(UTC) > stopped + 2.5 * WIDTH)  # data time moves on
    served = serve_with(config=served.config)
    # The catch-up evaluates the windows that closed while the service was down; once a
    # later window is evaluated too, the catch-up's alert states are saved.
    wait_until(lambda: sum(s >= stopped for s, _ in evaluated(served.url, auth)) >= 2)
    caught_up = len(evaluated(served.url, auth))
    wait_until(lambda: len(evaluated(served.url, auth)) > caught_up)
    state = alerts(served.url, auth)
    assert state.get(QUALITY) == "firing"  # no good data seen: still firing
    assert state.get("no_data") == "firing"

    # Late good rows for a window evaluated empty: evaluated again, they resolve it.
    empty = next(s for s, rows in evaluated(served.url, auth) if s > first and rows == 0)
    post_predictions(served.url, auth, good_rows(empty, "b", span=span))
    wait_until(lambda: QUALITY not in alerts(served.url, auth))
    assert (empty, 300) in evaluated(served.url, auth)
    assert alerts(served.url, auth).get("no_data") == "firing"  # the newest is still empty

    # A window backfilled before every other, with bad rows, alerts as a fresh one.
    backfill = first - 5 * WIDTH
    post_predictions(served.url, auth, bad_rows(backfill, "c", span=span, null_income=0.3))
    wait_until(lambda: alerts(served.url, auth).get(QUALITY) == "firing")
    assert (backfill, 300) in evaluated(served.url, auth)


def test_a_window_evaluated_again_as_its_labels_mature_does_not_replay_its_alerts(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)
    config = fast_config(tmp_path)
    config.write_text(
        config.read_text().replace("min_labels: 20", "min_labels: 20\n        label_delay: 1d")
    )
    clock = Clock(START + 2 * HOUR)
    service = MonitoringService(load_service_config(config), clock=clock)
    try:
        for hour, rows in enumerate(
            [bad_rows(START, "a", null_income=0.3), good_rows(START + HOUR, "b")]
        ):
            table = predictions_from_json(orjson.dumps({"records": rows}), service.model("credit"))
            service.store.insert_predictions("credit", table)
            service.evaluate("credit", START + hour * HOUR, START + (hour + 1) * HOUR)
        clock.now += timedelta(days=1, minutes=1)  # both windows' labels are final now
        service.evaluate_due()
        finals = [w.labels_final for w in service.store.windows("credit")[:2]]
        history = [
            (e["kind"], e["alert"]["labels"]["alertname"]) for e in service.store.alert_events()
        ]
    finally:
        service.close()
    assert finals == [True, True]  # both evaluated again, the bad one first
    assert history.count(("firing", "quality_failure")) == 1
    assert history.count(("resolved", "quality_failure")) == 1


def test_a_window_that_fails_to_evaluate_resolves_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)
    service = MonitoringService(load_service_config(fast_config(tmp_path)), clock=Clock(START))
    try:
        rows = bad_rows(START, "a", null_income=0.3)
        table = predictions_from_json(orjson.dumps({"records": rows}), service.model("credit"))
        service.store.insert_predictions("credit", table)
        service.clock = Clock(START + 2 * HOUR)
        service.evaluate("credit", START, START + HOUR)

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr("mlvigil.service.window_pass.evaluate_rows", broken)
        service.evaluate("credit", START, START + HOUR)  # evaluated again, and fails
        failed = {a["labels"]["alertname"] for a in service.alerts() if a["state"] == "firing"}
        monkeypatch.undo()
        service.evaluate("credit", START + HOUR, START + 2 * HOUR)  # then an empty window
        firing = {a["labels"]["alertname"] for a in service.alerts() if a["state"] == "firing"}
    finally:
        service.close()
    assert {"quality_failure", "dataset_drift", "check_error"} <= failed
    assert {"quality_failure", "dataset_drift", "no_data"} <= firing
