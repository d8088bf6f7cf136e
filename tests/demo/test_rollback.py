"""The demo's rollback script, run as the command receiver runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mlvigil.demo.rollback import Deployment


def notify(path: Path, status: str, key: str) -> subprocess.CompletedProcess[str]:
    alert = {
        "status": status,
        "labels": {"alertname": "canary_failed", "segment": "model_version=2"},
    }
    return subprocess.run(
        [sys.executable, "-m", "mlvigil.demo.rollback", str(path)],
        input=json.dumps({"alerts": [alert]}),
        env={"MLVIGIL_IDEMPOTENCY_KEY": key, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_failed_canary_is_rolled_back_once_and_a_retry_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    Deployment("1", "2", 0.4).write(path)
    assert notify(path, "resolved", "k0").returncode == 0
    assert Deployment.read(path) == Deployment("1", "2", 0.4)  # only what fires acts
    assert notify(path, "firing", "k1").returncode == 0
    assert Deployment.read(path) == Deployment("1", None, 0.0, "2", "k1")
    assert notify(path, "firing", "k1").returncode == 0  # the retried delivery
    assert Deployment.read(path) == Deployment("1", None, 0.0, "2", "k1")


def test_without_a_deployment_the_script_fails_so_the_delivery_is_retried(tmp_path: Path) -> None:
    done = notify(tmp_path / "missing.json", "firing", "k1")
    assert done.returncode == 1
    assert "no deployment at" in done.stderr
