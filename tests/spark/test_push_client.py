"""The job's HTTP client, and mlvigil.spark without PySpark (no Spark needed here)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from mlvigil.exceptions import ReceiverError
from mlvigil.spark.push import PERFORMANCE_TYPE, PROFILE_TYPE, Pusher, summary_path

START = datetime(2026, 11, 2, 5, tzinfo=UTC)


def _pusher(answers: list[int], seen: list[httpx.Request]) -> Pusher:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = answers.pop(0)
        body = {"rows": 10, "sources": 1} if status < 400 else {"detail": "not a profile"}
        return httpx.Response(status, json=body)

    return Pusher(
        "http://service:8000/", token="t0k3n", transport=httpx.MockTransport(handle), attempts=3
    )


def test_a_push_names_window_and_source_with_the_profile_media_type_and_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    seen: list[httpx.Request] = []
    with _pusher([503, 201], seen) as pusher:
        answer = pusher.push("fraud model", "profile", START, "spark-abc", b"bytes")
    assert (answer.status, answer.body["rows"]) == (201, 10)
    assert len(seen) == 2  # the 503 was retried
    request = seen[-1]
    assert request.url.raw_path.startswith(b"/api/v1/models/fraud%20model/profiles?")
    assert dict(request.url.params) == {"window": START.isoformat(), "source": "spark-abc"}
    assert request.headers["content-type"] == PROFILE_TYPE
    assert request.headers["authorization"] == "Bearer t0k3n"
    assert request.content == b"bytes"


def test_performance_states_go_to_their_own_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []
    with _pusher([201], seen) as pusher:
        pusher.push("m", "performance", START, "s", b"state")
    assert seen[0].url.path == "/api/v1/models/m/performance"
    assert seen[0].headers["content-type"] == PERFORMANCE_TYPE


def test_a_refusal_raises_with_the_services_reason_and_is_not_retried() -> None:
    seen: list[httpx.Request] = []
    with _pusher([400, 201], seen) as pusher, pytest.raises(ReceiverError, match="not a profile"):
        pusher.push("m", "profile", START, "s", b"x")
    assert len(seen) == 1


def test_an_unreachable_service_fails_after_the_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    seen: list[httpx.Request] = []
    with _pusher([502, 502, 502], seen) as pusher, pytest.raises(ReceiverError, match="3 attempts"):
        pusher.push("m", "profile", START, "s", b"x")


def test_summary_files_are_named_by_model_and_window_start(tmp_path: Path) -> None:
    assert summary_path(tmp_path, "a/b", START, "profile") == (
        tmp_path / "a%2Fb" / "2026-11-02T05-00-00Z.profile"
    )
    assert summary_path(tmp_path, "m", None, "profile").name == "no-timestamp.profile"


def test_without_pyspark_the_package_imports_and_calls_say_how_to_install() -> None:
    script = (
        "import sys; sys.modules['pyspark'] = None\n"
        "import mlvigil.spark, mlvigil.spark.job, mlvigil.cli.app\n"
        "from mlvigil.spark import profile_dataframe\n"
        "try:\n"
        "    profile_dataframe(None)\n"
        "except ModuleNotFoundError as error:\n"
        "    print(error.name, error)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert shown.startswith("pyspark ")
    assert "pip install 'mlvigil[spark]'" in shown
