"""SLO rules run by the real promtool: a fast burn pages within minutes, a slow burn
opens a ticket and never pages, a healthy service stays quiet, and a drifted model
window burns a model SLO's budget the same way."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from live_servers import system_binary
from mlvigil.cli.app import app as cli
from mlvigil.slo import SLO, SLOModel, burn_windows, error_ratio_windows, slo_rules
from mlvigil.slo.windows import prometheus_duration

RUNBOOKS = "https://runbooks.example.com/ml.md"
DAY = 1440  # samples of one minute


def slo(**entry: Any) -> SLO:
    return SLOModel.model_validate({"model": "credit", **entry}).resolve()


AVAILABILITY = slo(name="credit-availability", objective=99.9, sli={"availability": {}})
DRIFT_FREE = slo(name="credit-drift-free", objective=99, sli={"drift": {}})


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = system_binary("promtool", "prometheus")
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def requests(errors_per_minute: list[tuple[float, int]]) -> list[dict[str, str]]:
    """100 good predictions a minute, and errors at each (rate, minutes) in turn."""
    values, total = [], 0.0
    for rate, minutes in errors_per_minute:
        values.append(f"{total + rate:g}+{rate:g}x{minutes - 1}")
        total += rate * minutes
    minutes = sum(m for _, m in errors_per_minute)
    return [
        {
            "series": 'ml_prediction_requests_total{model="credit",status="success"}',
            "values": f"0+100x{minutes}",
        },
        {
            "series": 'ml_prediction_requests_total{model="credit",status="error"}',
            "values": "0 " + " ".join(values),
        },
    ]


def fired(severity: str, rule: SLO) -> dict[str, Any]:
    """The alert promtool must see: labels and annotations as an on-call engineer reads them."""
    conditions = {
        "page": "14.4x over 1h and 5m or 6x over 6h and 30m",
        "ticket": "3x over 1d and 2h or 1x over 3d and 6h",
    }[severity]
    what = {
        "credit-availability": ("Predictions served without error", "99.9%"),
        "credit-drift-free": ("Windows without dataset drift", "99%"),
    }[rule.name]
    speed = "fast" if severity == "page" else "slowly"
    return {
        "exp_labels": {
            "slo": rule.name,
            "model": "credit",
            "slo_severity": severity,
            "severity": "critical" if severity == "page" else "warning",
        },
        "exp_annotations": {
            "summary": f"credit: SLO {rule.name} is burning its error budget {speed}",
            "description": f"{what[0]} should be {what[1]} over 30d; the error budget burns "
            f"at {conditions} the rate the period allows.",
            "runbook_url": f"{RUNBOOKS}#slo-budget-burn",
        },
    }


def run_promtool_test(tmp_path: Path, slos: list[SLO], tests: list[dict[str, Any]]) -> None:
    (tmp_path / "slo.yml").write_text(yaml.safe_dump(slo_rules(slos, runbooks=RUNBOOKS)))
    checked = promtool("check", "rules", "slo.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    spec = {"rule_files": ["slo.yml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_fast_burn_pages_within_minutes_and_a_healthy_service_stays_quiet(tmp_path):
    name = AVAILABILITY.alert_name
    # Two healthy days (0.05% errors: half the budget), then 5% of predictions fail.
    series = requests([(0.05, 2 * DAY), (5.0, 60)])
    at = [f"{2 * DAY + m}m" for m in (0, 10, 25)]
    run_promtool_test(
        tmp_path,
        [AVAILABILITY],
        [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": "1h", "alertname": name, "exp_alerts": []},
                    {"eval_time": at[0], "alertname": name, "exp_alerts": []},
                    {"eval_time": at[1], "alertname": name, "exp_alerts": []},
                    # 1h window above 14.4x the budget after ~17 minutes of 5% errors
                    {
                        "eval_time": at[2],
                        "alertname": name,
                        "exp_alerts": [fired("page", AVAILABILITY)],
                    },
                ],
                "promql_expr_test": [
                    {
                        "expr": "round(slo:period_error_budget_remaining:ratio"
                        '{slo="credit-availability"}, 0.001)',  # promtool compares exactly
                        "eval_time": at[0],
                        "exp_samples": [
                            {
                                "labels": '{model="credit",slo="credit-availability"}',
                                # steady errors at half the budget: half of it is left
                                "value": 0.5,
                            }
                        ],
                    }
                ],
            }
        ],
    )


def test_a_slow_burn_opens_a_ticket_and_never_pages(tmp_path):
    name = AVAILABILITY.alert_name
    # Three healthy days, then errors at 2.5x the budget: too slow to page, and over
    # 3 days and 6 hours above 1x after ~18 hours.
    series = requests([(0.05, 3 * DAY), (0.25, DAY)])
    run_promtool_test(
        tmp_path,
        [AVAILABILITY],
        [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": f"{3 * DAY + 12 * 60}m", "alertname": name, "exp_alerts": []},
                    {
                        "eval_time": f"{3 * DAY + 22 * 60}m",
                        "alertname": name,
                        "exp_alerts": [fired("ticket", AVAILABILITY)],
                    },
                ],
            }
        ],
    )


def test_a_drifted_model_window_burns_a_model_slo_as_time_spent_bad(tmp_path):
    name = DRIFT_FREE.alert_name
    good = 'mlvigil_slo_sli_good{slo="credit-drift-free",model="credit"}'
    # Three days of good windows, then the newest window drifted (the gauge reads 0).
    run_promtool_test(
        tmp_path,
        [DRIFT_FREE],
        [
            {
                "interval": "1m",
                "input_series": [{"series": good, "values": f"1x{3 * DAY} 0x120"}],
                "alert_rule_test": [
                    {"eval_time": f"{3 * DAY + 3}m", "alertname": name, "exp_alerts": []},
                    {
                        "eval_time": f"{3 * DAY + 15}m",
                        "alertname": name,
                        "exp_alerts": [fired("page", DRIFT_FREE)],
                    },
                ],
            }
        ],
    )


def test_every_window_and_factor_scales_with_the_period():
    thirty = burn_windows(timedelta(days=30))
    seven = burn_windows(timedelta(days=7))
    assert [(b.severity, b.factor) for b in seven] == [(b.severity, b.factor) for b in thirty]
    for short, long in zip(seven, thirty, strict=True):
        scaled = long.long.total_seconds() * 7 / 30
        assert short.long.total_seconds() == pytest.approx(scaled, abs=30)
    assert [prometheus_duration(w) for w in error_ratio_windows(timedelta(days=7))] == [
        "1m", "7m", "14m", "28m", "1h24m", "5h36m", "16h48m", "7d",
    ]  # fmt: skip


CONFIG = """
models:
  credit:
    schema: {features: {income: numerical}}
    reference: {first_windows: 1}
    window: 1h
    checks: {drift: {}}
slos:
  - {name: credit-drift-free, model: credit, objective: 99, sli: {drift: {}}}
  - name: credit-latency
    model: credit
    objective: 99.5
    period: 7d
    sli: {latency: {bound: 0.25}}
    alerting: {ticket_alert: {disable: true}, labels: {team: risk}}
"""


def test_slo_export_writes_rules_promtool_accepts_for_every_declared_slo(tmp_path):
    (tmp_path / "mlvigil.yaml").write_text(CONFIG)
    output = tmp_path / "slo.yml"
    result = CliRunner().invoke(
        cli, ["slo", "export", "-c", str(tmp_path / "mlvigil.yaml"), "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    checked = promtool("check", "rules", "slo.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    groups = yaml.safe_load(output.read_text())["groups"]
    assert [g["name"] for g in groups] == [
        "mlvigil-slo-credit-drift-free",
        "mlvigil-slo-credit-latency",
    ]
    latency = [r for r in groups[1]["rules"] if "alert" in r]
    assert [(r["labels"]["slo_severity"], r["labels"]["team"]) for r in latency] == [
        ("page", "risk")
    ]
    ratio = next(r for r in groups[1]["rules"] if r.get("record") == "slo:sli_error:ratio_rate14m")
    assert 'ml_prediction_latency_seconds_bucket{model="credit",le="0.25"}[14m]' in ratio["expr"]


def test_slo_export_without_slos_says_so(tmp_path):
    (tmp_path / "mlvigil.yaml").write_text(CONFIG.split("slos:")[0])
    output = str(tmp_path / "x.yml")
    result = CliRunner().invoke(
        cli, ["slo", "export", "-c", str(tmp_path / "mlvigil.yaml"), "-o", output]
    )
    assert result.exit_code == 1
    assert "declares no slos" in result.output
