"""Silences mute notifications (not alert states), via the API and the CLI."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
import uvicorn
import yaml
from service_data import AUTH, START, TOKEN, records
from typer.testing import CliRunner

from live_servers import free_port, wait_until
from mlvigil.cli.app import app as cli
from mlvigil.exceptions import InputError
from mlvigil.service.app import create_app
from mlvigil.service.config import load_service_config
from mlvigil.service.ingest import predictions_from_json
from mlvigil.service.monitor import MonitoringService

HOUR = timedelta(hours=1)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def service(config_path, monkeypatch, local_receiver):
    monkeypatch.delenv("MLVIGIL_STORE", raising=False)
    receiver = local_receiver()
    data = yaml.safe_load(config_path.read_text())
    data["alerting"] = {
        "receivers": {"hook": {"webhook": f"{receiver.url}/hook"}},
        "route": {"receiver": "hook", "group_wait": "0s"},
    }
    config_path.write_text(yaml.safe_dump(data))
    opened = MonitoringService(load_service_config(config_path), clock=lambda: NOW)
    opened.receiver = receiver  # type: ignore[attr-defined]
    yield opened
    if opened.ready:
        opened.close()


def bad_window(service: MonitoringService) -> None:
    credit = service.config.models["credit"]
    body = orjson.dumps({"records": records(300, seed=3, income_shift=40_000)})
    service.store.insert_predictions("credit", predictions_from_json(body, credit))
    service.evaluate("credit", START, START + HOUR)


def test_a_silenced_alert_fires_but_pages_nobody(service):
    silence = service.add_silence(
        {"alertname": "~dataset_.*"},
        duration=2 * HOUR,
        created_by="ana",
        comment="retraining today",
    )
    bad_window(service)
    (alert,) = service.alerts()
    assert (alert["state"], alert["silenced"]) == ("firing", True)
    assert service.deliver_due() == 0
    assert service.receiver.received() == []
    assert [s.to_dict(NOW)["active"] for s in service.silences()] == [True]
    expired = service.expire_silence(silence.id)
    assert not expired.active(NOW)
    assert service.alerts()[0]["silenced"] is False


def test_a_silence_needs_matchers_an_author_a_reason_and_a_future_end(service):
    with pytest.raises(InputError, match="at least one matcher"):
        service.add_silence({}, duration=HOUR, created_by="ana", comment="x")
    with pytest.raises(InputError, match="author and a comment"):
        service.add_silence({"alertname": "x"}, duration=HOUR, created_by="ana", comment=" ")
    with pytest.raises(InputError, match="no silence with id 'nope'"):
        service.expire_silence("nope")
    with pytest.raises(InputError, match="ends after the year 9999"):
        service.add_silence(
            {"alertname": "x"}, duration=timedelta(days=9_999 * 366), created_by="a", comment="c"
        )


def test_the_cli_adds_lists_and_expires_silences_on_a_running_service(service):
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service, schedule=False),
            host="127.0.0.1",
            port=port,
            log_config=None,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        wait_until(lambda: server.started)
        url = f"http://127.0.0.1:{port}"
        runner = CliRunner(env={"MLVIGIL_TOKEN": TOKEN})
        added = runner.invoke(
            cli,
            [
                "silence",
                "add",
                "--url",
                url,
                "-m",
                "alertname=no_data",
                "-m",
                "model=credit",
                "--duration",
                "30m",
                "--author",
                "ana",
                "--comment",
                "maintenance",
            ],
        )
        assert added.exit_code == 0, added.output
        silence_id = added.output.strip()
        listed = runner.invoke(cli, ["silence", "list", "--url", url])
        assert silence_id in listed.output
        assert "maintenance" in listed.output
        expired = runner.invoke(cli, ["silence", "expire", silence_id, "--url", url])
        assert expired.output.strip() == f"expired {silence_id}"
        missing = runner.invoke(cli, ["silence", "expire", "nope", "--url", url])
        assert missing.exit_code == 2
        bad = runner.invoke(cli, ["silence", "add", "--url", url, "-m", "oops", "--comment", "x"])
        assert bad.exit_code == 2
        assert "LABEL=VALUE" in bad.output
        bad_window(service)
        alerts = runner.invoke(cli, ["alerts", "list", "--url", url])
        assert "dataset_drift" in alerts.output
        assert "firing" in alerts.output
        body = httpx.get(f"{url}/api/v1/silences", headers=AUTH).json()
        assert body["silences"][0]["expired_at"] is not None
    finally:
        server.should_exit = True
        thread.join()
