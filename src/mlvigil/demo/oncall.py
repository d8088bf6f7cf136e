"""The demo's on-call team: a local webhook receiver that prints each page it gets.

It stands in for Slack or PagerDuty, receiving Alertmanager's webhook JSON on
``/risk-team`` and ``/pager``. Like a person on call, it silences the first data-quality
page for a while ("known pipeline bug, fix deploying"), so the demo shows an alert
firing, being routed, silenced, paging again when the silence ends, and resolving.

Under ``/airflow`` it stands in for Airflow's REST API: the ``retrain`` action receiver
triggers a DAG run there, and a run id it has already is answered 409, as Airflow does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mlvigil.service.monitor import MonitoringService

SILENCE_FOR = timedelta(minutes=40)


class OnCall:
    """Receives the demo's notifications on 127.0.0.1 and prints them.

    Parameters
    ----------
    echo
        Where lines go.
    """

    def __init__(self, echo: Callable[[str], Any]) -> None:
        self.service: MonitoringService | None = None
        """The service whose alerts it silences, once attached."""
        self.echo = echo
        self.silenced = False
        self.dag_runs: set[str] = set()
        on_call = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                path = self.path.strip("/")
                known = path.startswith("airflow/") and not on_call.trigger(path, body)
                self.send_response(409 if known else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if not path.startswith("airflow/"):
                    on_call.page(path, body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def page(self, receiver: str, notification: dict[str, Any]) -> None:
        """Print one notification; silence the first data-quality page."""
        for alert in notification["alerts"]:
            name = alert["labels"]["alertname"]
            summary = alert["annotations"].get("summary", "")
            self.echo(f"   PAGE to {receiver}: [{alert['status'].upper()}] {name} - {summary}")
            if name == "quality_failure" and alert["status"] == "firing" and not self.silenced:
                self._silence(alert["labels"])

    def trigger(self, path: str, run: dict[str, Any]) -> bool:
        """Start a DAG run (print it); ``False`` for a run id already started."""
        run_id = run["dag_run_id"]
        if run_id in self.dag_runs:
            return False
        self.dag_runs.add(run_id)
        dag = path.split("/dags/")[1].split("/")[0]
        why = ", ".join(sorted({a["labels"]["alertname"] for a in run["conf"]["alerts"]}))
        self.echo(f"   RETRAIN requested: Airflow DAG {dag}, run {run_id} ({why})")
        return True

    def _silence(self, labels: dict[str, str]) -> None:
        if self.service is None:
            return
        self.silenced = True
        matchers = {"alertname": labels["alertname"], "model": labels["model"]}
        comment = "known pipeline bug, fix deploying"
        self.service.add_silence(
            matchers, duration=SILENCE_FOR, created_by="on-call", comment=comment
        )
        self.echo(
            f"   SILENCE by on-call for {SILENCE_FOR.total_seconds() / 60:.0f} simulated "
            f"minutes ({comment}); from a shell, with MLVIGIL_TOKEN set to the on-call token: "
            f"mlvigil silence add -m alertname="
            f"{labels['alertname']} -m model={labels['model']} --duration 40m --comment '...'"
        )

    def close(self) -> None:
        """Stop receiving."""
        self._server.shutdown()
        self._server.server_close()
