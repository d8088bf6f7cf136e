"""Action receivers: a templated HTTP trigger and a real command fed the alerts on stdin."""

from __future__ import annotations

import json
import stat
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlvigil.alerts.actions import CommandNotifier, HttpActionNotifier
from mlvigil.alerts.config import AlertingModel, build_notifiers
from mlvigil.alerts.notifiers import DeliveryError, Notification, webhook_payload
from mlvigil.alerts.state import Alert, AlertState
from mlvigil.alerts.templates import render_template
from mlvigil.exceptions import ConfigError

FIRED = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
AIRFLOW_BODY = {
    "dag_run_id": "{key}",
    "conf": {"model": "{labels.model}", "why": "{annotations.summary}", "alerts": "{alerts}"},
}


def alert(model: str = "credit", summary: str = "credit: accuracy 0.71") -> Alert:
    return Alert(
        labels={"alertname": "performance_degradation", "model": model, "severity": "error"},
        state=AlertState.FIRING,
        value=0.71,
        active_since=FIRED,
        last_true=FIRED,
        windows_true=2,
        fired_at=FIRED,
        resolved_at=None,
        annotations={"summary": summary},
    )


def notification(*alerts: Alert, key: str = "mlvigil-7-abc") -> Notification:
    return Notification("retrain", alerts or (alert(),), {"alertname": "x"}, "", key)


def sent(notifier: HttpActionNotifier, note: Notification, status: int = 200) -> httpx.Request:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(status, text="dag run exists" if status == 409 else "ok")

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        notifier.send(note, client)
    [request] = requests
    return request


def test_an_http_action_fills_its_url_and_body_from_the_alerts_and_carries_the_key() -> None:
    notifier = HttpActionNotifier(
        "http://airflow.test/api/v1/dags/retrain_{labels.model}/dagRuns",
        AIRFLOW_BODY,
        headers={"Authorization": "Basic c2VjcmV0"},
    )
    request = sent(notifier, notification(alert(model="credit/eu")))
    assert str(request.url) == "http://airflow.test/api/v1/dags/retrain_credit%2Feu/dagRuns"
    assert request.method == "POST"
    assert request.headers["Idempotency-Key"] == "mlvigil-7-abc"
    assert request.headers["Authorization"] == "Basic c2VjcmV0"
    body = json.loads(request.content)
    assert body["dag_run_id"] == "mlvigil-7-abc"
    assert body["conf"]["model"] == "credit/eu"
    assert body["conf"]["alerts"][0]["labels"]["alertname"] == "performance_degradation"


def test_alert_text_is_inserted_as_data_never_parsed() -> None:
    tricky = 'x", "injected": true, "y": "{key}'
    body = render_template({"why": "{annotations.summary}"}, {"annotations.summary": tricky})
    assert body == {"why": tricky}
    request = sent(
        HttpActionNotifier("http://a.test/", AIRFLOW_BODY), notification(alert(summary=tricky))
    )
    assert json.loads(request.content)["conf"]["why"] == tricky


def test_a_retried_trigger_the_receiver_already_has_is_delivered_only_when_told_so() -> None:
    known = HttpActionNotifier("http://a.test/", AIRFLOW_BODY, already_done=(409,))
    assert sent(known, notification(), status=409).method == "POST"
    strict = HttpActionNotifier("http://a.test/", AIRFLOW_BODY)
    with pytest.raises(DeliveryError, match="answered 409") as refused:
        sent(strict, notification(), status=409)
    assert not refused.value.transient


def test_a_label_the_group_does_not_share_fails_the_delivery_instead_of_sending_blank() -> None:
    notifier = HttpActionNotifier("http://a.test/", {"model": "{labels.model}"})
    mixed = notification(alert(model="credit"), alert(model="churn"))
    with pytest.raises(DeliveryError, match=r"\{labels.model\}.*group by that label") as error:
        notifier.request(mixed)
    assert not error.value.transient


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"m": "{label.model}"}, r"unknown name \{label.model\}"),
        ({"m": "{labels.}"}, r"unknown name \{labels.\}"),
        ({"m": "retrain {alerts}"}, r"\{alerts\} is JSON"),
        ({"m": "{key"}, "unpaired brace"),
    ],
)
def test_a_template_naming_what_no_notification_has_stops_the_configuration(
    body: dict[str, str], message: str
) -> None:
    model = AlertingModel.model_validate(
        {"receivers": {"retrain": {"http_action": {"url": "http://a.test/", "body": body}}}}
    )
    with pytest.raises(ConfigError, match=message):
        build_notifiers(model)


def test_json_values_cannot_be_put_in_a_url() -> None:
    model = AlertingModel.model_validate(
        {"receivers": {"retrain": {"http_action": {"url": "http://a.test/{alerts}"}}}}
    )
    with pytest.raises(ConfigError, match=r"part of a URL"):
        build_notifiers(model)


def script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


RECORDER = """
import json, os, sys
from pathlib import Path
received = json.load(sys.stdin)
received["environment"] = {k: v for k, v in os.environ.items() if k.startswith("MLVIGIL_")}
received["argv"] = sys.argv[1:]
Path(sys.argv[1]).write_text(json.dumps(received))
"""


def test_a_command_gets_the_alerts_on_stdin_its_arguments_as_given_and_the_key(
    tmp_path: Path,
) -> None:
    script(tmp_path, "rollback.py", RECORDER)
    model = AlertingModel.model_validate(
        {"receivers": {"rollback": {"command": {"argv": ["./rollback.py", "out.json", "$(id)"]}}}}
    )
    [notifier] = build_notifiers(model, tmp_path).values()
    assert isinstance(notifier, CommandNotifier)
    tricky = notification(alert(summary="$(touch pwned); rm -rf /"))
    notifier.send(tricky, httpx.Client())
    received = json.loads((tmp_path / "out.json").read_text())
    assert received["argv"] == ["out.json", "$(id)"]  # no shell: nothing expanded
    assert received["idempotencyKey"] == "mlvigil-7-abc"
    assert received["environment"]["MLVIGIL_IDEMPOTENCY_KEY"] == "mlvigil-7-abc"
    assert received["environment"]["MLVIGIL_STATUS"] == "firing"
    del received["idempotencyKey"], received["environment"], received["argv"]
    assert received == json.loads(json.dumps(webhook_payload(tricky)))
    assert not (tmp_path / "pwned").exists()


def test_a_failing_command_is_retried_with_the_end_of_its_error_output(tmp_path: Path) -> None:
    failing = script(
        tmp_path,
        "fail.py",
        "import sys\nprint('kubectl: cluster unreachable', file=sys.stderr)\nsys.exit(3)\n",
    )
    with pytest.raises(DeliveryError, match="exited 3: kubectl: cluster unreachable") as error:
        CommandNotifier((str(failing),)).send(notification(), httpx.Client())
    assert error.value.transient


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text()
    except FileNotFoundError:
        return False


def test_a_command_past_its_timeout_is_killed_with_what_it_started(tmp_path: Path) -> None:
    hanging = script(
        tmp_path,
        "hang.py",
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        "open(sys.argv[1], 'w').write(str(child.pid))\n"
        "time.sleep(60)\n",
    )
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="ran past 1 s and was killed") as error:
        CommandNotifier((str(hanging), str(pid_file)), timeout=1.0).send(
            notification(), httpx.Client()
        )
    assert error.value.transient
    assert time.monotonic() - started < 30
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_a_command_that_is_not_there_stops_the_configuration(tmp_path: Path) -> None:
    model = AlertingModel.model_validate(
        {"receivers": {"rollback": {"command": {"argv": ["scripts/rollback.sh"]}}}}
    )
    with pytest.raises(ConfigError, match=r"'scripts/rollback\.sh' is not an executable file"):
        build_notifiers(model, tmp_path)
    on_path = AlertingModel.model_validate(
        {"receivers": {"rollback": {"command": {"argv": ["no-such-rollback-tool"]}}}}
    )
    with pytest.raises(ConfigError, match="on PATH"):
        build_notifiers(on_path, tmp_path)


def test_actions_act_on_what_fires_unless_told_to_hear_resolutions_too() -> None:
    model = AlertingModel.model_validate(
        {
            "receivers": {
                "team": {"webhook": "http://a.test/"},
                "retrain": {"http_action": {"url": "http://a.test/"}},
                "undo": {"http_action": {"url": "http://a.test/"}, "send_resolved": True},
            }
        }
    )
    heard: dict[str, Any] = {n: r.hears_resolved for n, r in model.receivers.items()}
    assert heard == {"team": True, "retrain": False, "undo": True}
