"""Alert rule evaluation time, and notification throughput through the outbox.

- ``rules``: :func:`mlvigil.alerts.state.evaluate_rules` with ``--rules`` rules over the
  latest results of ``--models`` models (25 columns, drift and completeness results
  each): the first evaluation (every alert new) and a steady-state one;
- ``outbox``: ``--notifications`` webhook notifications queued in the service's DuckDB
  outbox and delivered by :meth:`MonitoringService.deliver_due` to a local HTTP receiver
  (real HTTP, one connection), marking each delivered in the store.

Medians over ``--runs`` runs; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mlvigil.alerts.rules import AlertRule, Condition
from mlvigil.alerts.state import Alert, AlertState, evaluate_rules
from mlvigil.checks.result import CheckResult, CheckStatus
from mlvigil.service.config import load_service_config
from mlvigil.service.monitor import MonitoringService

COLUMNS = [f"f{i}" for i in range(25)]


def results(models: int) -> list[CheckResult]:
    passed = CheckStatus.PASSED
    rows: list[CheckResult] = []
    for m in range(models):
        model = f"model-{m}"
        for i, column in enumerate(COLUMNS):
            rows.append(
                CheckResult(
                    "drift", "wasserstein", column, (i % 10) / 10, None, passed, model=model
                )
            )
            rows.append(
                CheckResult(
                    "completeness", "null_rate", column, (i % 7) / 70, None, passed, model=model
                )
            )
        rows.append(CheckResult("drift", "drift_share", None, 0.2, None, passed, model=model))
    return rows


def rules(count: int, models: int) -> list[AlertRule]:
    made = []
    for i in range(count):
        metric, check = ("wasserstein", "drift") if i % 2 else ("null_rate", "completeness")
        made.append(
            AlertRule(
                f"rule-{i}",
                metric,
                Condition.parse(f"> {(i % 100) / 100}"),
                check=check,
                model=f"model-{i % models}",
                column=COLUMNS[i % len(COLUMNS)],
                for_windows=1 + i % 3,
            )
        )
    return made


def time_rules(count: int, models: int) -> dict[str, float]:
    rule_list, rows = rules(count, models), results(models)
    now = datetime.now(UTC)
    started = time.perf_counter()
    states, _ = evaluate_rules(rule_list, rows, {}, now)
    first = time.perf_counter() - started
    started = time.perf_counter()
    evaluate_rules(rule_list, rows, states, now)
    steady = time.perf_counter() - started
    return {
        "rules_first_ms": first * 1000,
        "rules_steady_ms": steady * 1000,
        "alerts": float(len(states)),
    }


class _Accept(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def time_outbox(notifications: int) -> dict[str, float]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            pq.write_table(pa.table({"x": [1.0, 2.0]}), Path(folder, "reference.parquet"))
            config = Path(folder, "mlvigil.yaml")
            config.write_text(
                "models:\n  m:\n    schema: {features: {x: numerical}}\n"
                "    reference: {path: reference.parquet}\n"
                "alerting:\n"
                f"  receivers: {{hook: {{webhook: 'http://127.0.0.1:{server.server_address[1]}/'}}}}\n"
                "  route: {receiver: hook}\n"
            )
            service = MonitoringService(load_service_config(config))
            now = datetime.now(UTC)
            alert = Alert(
                {"alertname": "bench", "model": "m", "severity": "warning"},
                AlertState.FIRING,
                1.0,
                now,
                now,
                1,
                now,
                None,
                {"summary": "bench"},
            )
            body = {
                "receiver": "hook",
                "group_labels": {},
                "external_url": "",
                "alerts": [alert.to_dict()],
            }
            service.store.save_alerts({}, [], [("hook", body)] * notifications, {}, now=now)
            started = time.perf_counter()
            delivered = 0
            while delivered < notifications:
                delivered += service.deliver_due()
            seconds = time.perf_counter() - started
            service.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    return {"notifications_per_second": notifications / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--models", type=int, default=40)
    parser.add_argument("--notifications", type=int, default=2_000)
    args = parser.parse_args()
    runs = []
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", file=sys.stderr)
        runs.append({**time_rules(args.rules, args.models), **time_outbox(args.notifications)})
    median = {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}
    print(
        json.dumps(
            {
                "rules": args.rules,
                "result_rows": len(results(args.models)),
                "notifications": args.notifications,
                "runs": args.runs,
                "median": median,
                "all_runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
