"""A silence's regular expression can neither freeze the service nor mute it by accident.

Silences are matched with RE2 (linear time): the catastrophic pattern that froze the
process under Python's backtracking ``re`` is matched in microseconds, over HTTP, on a
real server, before and after a restart; patterns too long, too many matchers or
syntax RE2 refuses get a 422 saying why; a pattern stored by an older version that RE2
refuses matches nothing (logged) instead of crashing, hanging, or muting everything.
"""

from __future__ import annotations

import json

import httpx
import pytest
from alerting_helpers import alerting, bad_rows, fast_config, last_closed_hour, post_predictions

from live_servers import wait_until
from mlvigil.alerts.routing import Route
from mlvigil.exceptions import ConfigError
from mlvigil.service.config import load_service_config
from mlvigil.service.monitor import MonitoringService

#: Exponential for a backtracking engine: five ways to match each character, then fail.
CATASTROPHIC = "~(.|.|.|.|.)*!"


def silence(matchers: dict[str, str]) -> dict[str, object]:
    return {"matchers": matchers, "duration": 3600, "created_by": "probe", "comment": "redos"}


def delivered(receiver) -> list[str]:
    return [
        json.loads(r.body)["groupLabels"]["alertname"]
        for r in receiver.received()
        if r.status == 200
    ]


def test_a_catastrophic_pattern_neither_freezes_the_service_nor_mutes_it(
    serve_with, auth, local_receiver
):
    receiver = local_receiver()
    served = serve_with(alerting({"hook": f"{receiver.url}/hook"}))
    created = httpx.post(
        f"{served.url}/api/v1/silences", json=silence({"alertname": CATASTROPHIC}), headers=auth
    )
    assert created.status_code == 201, created.text  # RE2 runs it in linear time
    post_predictions(served.url, auth, bad_rows(last_closed_hour(), "a"))
    # The scheduler matches the silence against the alert; the process stays responsive.
    wait_until(lambda: "dataset_drift" in delivered(receiver))
    assert httpx.get(f"{served.url}/healthz", timeout=5).status_code == 200
    (alert,) = httpx.get(f"{served.url}/api/v1/alerts", headers=auth, timeout=5).json()["alerts"]
    assert alert["silenced"] is False

    served.process.terminate()
    served.process.wait(timeout=30)
    again = serve_with(config=served.config)  # the stored silence is read back
    assert httpx.get(f"{again.url}/healthz", timeout=5).status_code == 200
    listed = httpx.get(f"{again.url}/api/v1/alerts", headers=auth, timeout=5).json()["alerts"]
    assert [a["silenced"] for a in listed] == [False]


UNUSABLE = [
    ({"model": "~" + "a" * 257}, "257 characters long; at most 256"),
    ({f"label{i}": "x" for i in range(33)}, "33 matchers; a silence holds at most 32"),
    ({"alertname": r"~(drift)\1"}, "not a valid RE2 regular expression"),
    ({"alertname": "~(?=drift).*"}, "not a valid RE2 regular expression"),
]


def test_an_unusable_silence_is_refused_with_the_reason(serve_with, auth):
    served = serve_with()
    for matchers, reason in UNUSABLE:
        answer = httpx.post(f"{served.url}/api/v1/silences", json=silence(matchers), headers=auth)
        assert answer.status_code == 422, (matchers, answer.text)
        assert reason in json.dumps(answer.json()["detail"]), answer.text
    assert httpx.get(f"{served.url}/api/v1/silences", headers=auth).json()["silences"] == []


def test_a_stored_pattern_re2_refuses_matches_nothing_and_is_logged(
    serve_with, auth, local_receiver, tmp_path, monkeypatch
):
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)
    receiver = local_receiver()
    config = fast_config(tmp_path, alerting({"hook": f"{receiver.url}/hook"}))
    # As an older version stored it: Python's re accepted it, and it matched every alert.
    older = MonitoringService(load_service_config(config))
    older.store.save_silence(
        {
            "id": "legacy",
            "matchers": {"alertname": "~(?!nothing).*"},
            "starts_at": "2026-01-01T00:00:00+00:00",
            "ends_at": "2999-01-01T00:00:00+00:00",
            "created_by": "older version",
            "comment": "muted everything",
            "expired_at": None,
        }
    )
    older.close()
    served = serve_with(config=config)
    post_predictions(served.url, auth, bad_rows(last_closed_hour(), "a"))
    wait_until(lambda: "dataset_drift" in delivered(receiver))
    (listed,) = httpx.get(f"{served.url}/api/v1/silences", headers=auth).json()["silences"]
    assert listed["id"] == "legacy"
    assert listed["active"] is True
    assert "matches nothing" in served.log.read_text()


def test_a_route_pattern_re2_refuses_stops_the_start_with_the_reason():
    with pytest.raises(ConfigError, match=r"severity: '~\(critical\)\\\\1'.*RE2"):
        Route("pager", {"severity": r"~(critical)\1"})
