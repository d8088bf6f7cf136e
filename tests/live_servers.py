"""Helpers for tests that start real servers: free ports and waiting without sleeping long."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``condition`` every 10 ms; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.01)


def wait_until_serving(
    url: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 60.0
) -> None:
    """Wait until ``url`` answers 200; fail with the server's log if it exits or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server exited with {server.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"server did not start within {timeout} s:\n{log.read_text()}")


def system_binary(name: str, package: str) -> str:
    """Path of a program from a Debian package the set-up installs.

    Missing, the test skips with the reason, except under ``CI=true``, where a missing
    package means the set-up is broken: the test fails.
    """
    import os
    import shutil

    path = shutil.which(name)
    if path is None:
        reason = f"{name} not found: install Debian's {package} (make test does, as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def start_logged(
    argv: list[str], log: Path, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a server process with its stdout and stderr appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=out)
