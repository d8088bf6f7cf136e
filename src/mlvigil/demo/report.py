"""What the demo prints: one line per evaluated window, as the service sees it."""

from __future__ import annotations

from datetime import datetime

import typer

from mlvigil.checks.result import CheckKind, CheckResult, CheckStatus
from mlvigil.demo.example import MODEL
from mlvigil.demo.simulation import Simulation
from mlvigil.service.monitor import MonitoringService


class WindowReporter:
    """Prints each window once it is evaluated, and again when its labels are final."""

    def __init__(self, service: MonitoringService, simulation: Simulation, dashboard: str) -> None:
        self.service = service
        self.simulation = simulation
        self.dashboard = dashboard
        self._told = False
        self._printed: dict[datetime, bool] = {}
        self._phase = ""
        self._last_event = ""

    def print_new_windows(self) -> None:
        """Print the windows evaluated since the last call."""
        if self.simulation.phase.name != self._phase:
            self._phase = self.simulation.phase.name
            typer.echo(f"-- traffic now: {self._phase}")
        for window in self.service.store.windows(MODEL):
            if self._printed.get(window.start) == window.labels_final:
                continue
            self._printed[window.start] = window.labels_final
            results = self.service.store.results(MODEL, start=window.start, end=window.end)
            typer.echo(_line(window.start, window.end, window.rows, results, window.labels_final))
        new_events = [e for e in self.service.store.alert_events() if e["at"] > self._last_event]
        for event in reversed(new_events):
            alert = event["alert"]
            summary = alert["annotations"].get("summary", "")
            typer.echo(f"   ALERT {event['kind']}: {alert['labels']['alertname']} - {summary}")
            self._last_event = max(self._last_event, event["at"])
        self._tell_rollback()

    def _tell_rollback(self) -> None:
        """Once the rollback command took the canary out, the whole story is told."""
        deployment = self.simulation.deployment
        if self._told or deployment.rolled_back is None:
            return
        self._told = True
        typer.echo(
            f"   ROLLBACK by the rollback command: version {deployment.rolled_back} taken out, "
            f"all traffic on {deployment.stable} (notification {deployment.rolled_back_by})"
        )
        typer.echo(
            "\nThe story so far (drift, the quality page and its silence, the accuracy drop and\n"
            "its retraining run, the fix, the failed canary and its rollback) is on the\n"
            "dashboard; the demo keeps running until Ctrl-C:\n"
            f"  {self.dashboard}\n"
        )


def _line(
    start: datetime, end: datetime, rows: int, results: list[CheckResult], final: bool
) -> str:
    by_check: dict[CheckKind, list[CheckResult]] = {}
    for result in results:
        by_check.setdefault(result.check, []).append(result)
    parts = [f"{start:%H:%M}-{end:%H:%M}  {rows:4d} rows"]
    drift = [r for r in by_check.get(CheckKind.DRIFT, []) if not r.segment]
    drifted = [r.column for r in drift if r.column and r.status is CheckStatus.FAILED]
    share = next((r for r in drift if r.metric == "drift_share"), None)
    if share is not None and share.value is not None:
        flag = "DATASET DRIFT" if share.status is CheckStatus.FAILED else "drift"
        parts.append(f"{flag} {share.value:.0%} ({', '.join(drifted) or 'none'})")
    failing = [
        f"{r.column or r.check} {r.metric}={r.value:.0%}"
        for check, rows_ in by_check.items()
        if check.is_quality
        for r in rows_
        if r.status is CheckStatus.FAILED and r.value is not None
    ]
    if failing:
        parts.append("QUALITY " + ", ".join(failing[:3]))
    performance = {r.metric: r for r in by_check.get(CheckKind.PERFORMANCE, []) if not r.segment}
    accuracy = performance.get("accuracy")
    coverage = performance.get("label_coverage")
    if accuracy is not None and accuracy.value is not None:
        mark = " BELOW BASELINE" if accuracy.status is CheckStatus.FAILED else ""
        labelled = f", labels {coverage.value:.0%}" if coverage and coverage.value else ""
        state = "final" if final else "so far"
        parts.append(f"accuracy {accuracy.value:.2f}{mark} ({state}{labelled})")
    elif not final:
        parts.append("labels pending")
    for verdict in by_check.get(CheckKind.CANARY, []):
        version = (verdict.segment or "").removeprefix("model_version=")
        failed = verdict.status is CheckStatus.FAILED
        shown = f"FAILED ({verdict.message})" if failed else verdict.status.value
        parts.append(f"canary v{version} {shown}")
    return "  ".join(parts)
