"""A configuration that would misbehave quietly is refused at start, saying what to set.

Retention shorter than a window needs its rows (its length, ``lateness`` and
``label_delay``) left windows that never finalise; a model name holding ``/`` cannot be
addressed by the API; a budget of bodies in flight below ``max_body_bytes`` refuses the
largest bodies for ever.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlvigil.exceptions import ConfigError
from mlvigil.service.config import load_service_config
from service.service_data import write_config


def _with(path_text: str, old: str, new: str) -> str:
    assert old in path_text
    return path_text.replace(old, new)


def _config(tmp_path: Path, old: str = "", new: str = "", extra: str = "") -> Path:
    path = write_config(tmp_path)
    text = path.read_text()
    if old:
        text = _with(text, old, new)
    path.write_text(text + extra)
    return path


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLVIGIL_STORE", "MLVIGIL_HOST", "MLVIGIL_PORT"):
        monkeypatch.delenv(name, raising=False)


DELAY = ("min_labels: 20", "min_labels: 20\n        label_delay: 7d")


def test_a_model_retention_shorter_than_its_label_delay_is_refused(tmp_path):
    path = _config(tmp_path, "window: 1h", "window: 1h\n    retention: 1d")
    path.write_text(_with(path.read_text(), *DELAY))
    with pytest.raises(ConfigError) as refused:
        load_service_config(path)
    message = str(refused.value)
    assert "models.credit.retention: 1d is shorter than the 7d1h1m" in message
    assert "(window 1h + lateness 1m + label_delay 7d)" in message
    assert "set it to 7d1h1m or more" in message


def test_windows_retention_shorter_than_a_label_delay_is_refused(tmp_path):
    path = _config(tmp_path, *DELAY, extra="retention: {windows: 3d}\n")
    with pytest.raises(ConfigError, match=r"retention\.windows: 3d is shorter than the 7d1h1m"):
        load_service_config(path)


def test_retention_long_enough_is_accepted(tmp_path):
    path = _config(tmp_path, "window: 1h", "window: 1h\n    retention: 8d")
    path.write_text(_with(path.read_text(), *DELAY) + "retention: {windows: 8d}\n")
    settings = load_service_config(path)
    assert settings.retention.windows.days == 8


@pytest.mark.parametrize("name", ["credit/risk", "credit risk", "..", "crédit", "a?b", "a%2Fb"])
def test_a_model_name_the_api_cannot_address_is_refused(tmp_path, name):
    path = _config(tmp_path, "  credit:\n", f"  {name!r}:\n")
    with pytest.raises(ConfigError, match="the name cannot be a path segment of the API"):
        load_service_config(path)


def test_names_of_letters_digits_dots_dashes_and_underscores_are_accepted(tmp_path):
    path = _config(tmp_path, "  credit:\n", "  credit-risk_v2.1:\n")
    assert list(load_service_config(path).models) == ["credit-risk_v2.1"]


def test_a_body_budget_below_the_largest_body_is_refused(tmp_path):
    path = _config(tmp_path, extra="limits: {max_bodies_in_flight_bytes: 1048576}\n")
    with pytest.raises(ConfigError, match="max_bodies_in_flight_bytes: 1048576 is less than"):
        load_service_config(path)


def test_mlvigil_serve_refuses_to_start_and_says_why(tmp_path):
    path = _config(tmp_path, "  credit:\n", "  'credit/risk':\n")
    done = subprocess.run(
        [sys.executable, "-m", "mlvigil", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "models.credit/risk: the name cannot be a path segment" in done.stderr
