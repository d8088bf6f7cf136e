"""`mlvigil demo` and `mlvigil init`: what a new user runs first."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading

import yaml

from live_servers import free_port
from mlvigil.service.config import load_service_config

#: Real seconds the demo may take to tell its whole story (~35 s on an idle machine at
#: 240x; CI runs it beside other tests, which slows the service's evaluations).
STORY_DEADLINE = 100.0


def story_told(out: str) -> bool:
    """Whether the demo printed its end: the quality alert resolved, the canary rolled back."""
    lines = out.splitlines()
    fixed = next((i for i, line in enumerate(lines) if "pipeline fixed" in line), None)
    return (
        fixed is not None
        and "The story so far" in out
        and any("PAGE to pager: [RESOLVED] quality_failure" in line for line in lines[fixed:])
    )


def run_demo(directory) -> tuple[int, str, str]:
    """Run ``mlvigil demo`` until its story is told, then stop it as a user does (Ctrl-C).

    Its own ``--duration`` ends it anyway past the deadline (exit status 0, where Ctrl-C
    gives 130), so a story that is never told fails the test rather than hanging it.
    Returns the exit status, the output and the errors.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLVIGIL_", "OTEL_"))}
    command = [sys.executable, "-m", "mlvigil", "demo", "--port", str(free_port())]
    command += ["--duration", str(STORY_DEADLINE), "--speed", "240", "--dir", str(directory)]
    out: list[str] = []
    errors: list[str] = []
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
    ) as demo:

        def read_out() -> None:
            told = False
            for line in demo.stdout or ():
                out.append(line)
                if not told and story_told("".join(out)):
                    told = True
                    demo.send_signal(signal.SIGINT)

        readers = [
            threading.Thread(target=read_out, daemon=True),
            threading.Thread(target=lambda: errors.extend(demo.stderr or ()), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            code = demo.wait(timeout=STORY_DEADLINE + 30)
        finally:
            if demo.poll() is None:
                demo.kill()
        for reader in readers:
            reader.join(10)
    return code, "".join(out), "".join(errors)


def test_the_demo_shows_drift_quality_failures_a_performance_drop_and_their_alerts(tmp_path):
    code, out, errors = run_demo(tmp_path)
    assert story_told(out), out
    assert code == 130, errors  # stopped by Ctrl-C once told, not by a crash
    assert "Traceback" not in errors, errors
    assert "/docs" in out
    assert "/metrics" in out
    # It ends by pointing at the dashboard, once the whole story is on it.
    assert "dashboard  http://127.0.0.1:" in out
    assert "The story so far" in out, out
    lines = out.splitlines()
    windows = [line for line in lines if " rows " in line]
    assert len(windows) >= 10
    normal = windows[:4]
    assert not any("income" in line for line in normal)  # no drift before the downturn
    assert any("drift" in line and "income" in line for line in windows)
    assert any("QUALITY employment_years null_rate" in line for line in windows)
    marker = next(i for i, line in enumerate(lines) if "defaults rise" in line)
    assert any("BELOW BASELINE" in line for line in lines[marker:]), out
    # Alerts fire, go where the routing tree sends them, get silenced, and resolve.
    assert "PAGE to risk-team: [FIRING] income_drift" in out
    assert "PAGE to pager: [FIRING] quality_failure" in out
    assert "PAGE to pager: [FIRING] income_drift" not in out  # warnings skip the pager
    assert "SILENCE by on-call" in out
    fixed = next(i for i, line in enumerate(lines) if "pipeline fixed" in line)
    assert any("PAGE to pager: [RESOLVED] quality_failure" in line for line in lines[fixed:]), out
    # Actions: a retraining run once accuracy drops; the failed canary rolled back.
    assert any(
        "RETRAIN requested: Airflow DAG retrain_credit-risk" in line for line in lines[marker:]
    )
    released = next(i for i, line in enumerate(lines) if "released as a canary" in line)
    after = lines[released:]
    failed = next(i for i, line in enumerate(after) if "ALERT firing: canary_failed" in line)
    rolled = next(i for i, line in enumerate(after) if "ROLLBACK by the rollback command" in line)
    assert failed < rolled, out
    assert any("canary v2 FAILED" in line for line in after), out
    deployment = json.loads((tmp_path / "deployment.json").read_text())
    assert (deployment["canary"], deployment["rolled_back"]) == (None, "2")
    assert re.fullmatch(r"mlvigil-\d+-[0-9a-f]{12}", deployment["rolled_back_by"])
    assert (tmp_path / "mlvigil.duckdb").exists()


def test_init_writes_a_configuration_that_validates_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "monitoring"
    first = subprocess.run(
        [sys.executable, "-m", "mlvigil", "init", str(target)], capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    assert f"mlvigil serve --config {target / 'mlvigil.yaml'}" in first.stdout
    config = load_service_config(target / "mlvigil.yaml")
    assert list(config.models) == ["credit-risk"]
    assert config.models["credit-risk"].reference_path == target / "reference.parquet"
    assert yaml.safe_load((target / "mlvigil.yaml").read_text())["port"] == 8000
    # Generated tokens, each in a file only its owner reads, and how to use them.
    scopes = {t.name: t.scopes for t in config.security.tokens}
    assert scopes == {"sdk": {"ingest"}, "on-call": {"read", "admin"}}
    for token in config.security.tokens:
        path = target / f"{token.name}.token"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().strip() == token.secret
        assert len(token.secret) >= 43  # secrets.token_urlsafe(32)
        assert token.secret not in first.stdout
    assert not config.security.open_reads
    assert f"MLVIGIL_TOKEN=$(cat {target / 'on-call.token'}) mlvigil silence list" in first.stdout
    again = subprocess.run(
        [sys.executable, "-m", "mlvigil", "init", str(target)], capture_output=True, text=True
    )
    assert again.returncode == 2
    assert "already exists" in again.stderr
