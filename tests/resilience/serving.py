"""`mlvigil serve` as a real process on the test configuration of ``service_data``."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from live_servers import free_port, start_logged, wait_until_serving
from service.service_data import write_config


@dataclass(frozen=True)
class Served:
    """A running `mlvigil serve`: its URL, process, configuration and log."""

    url: str
    process: subprocess.Popen[bytes]
    config: Path
    log: Path

    @property
    def store(self) -> Path:
        """The DuckDB file (``store/mlvigil.duckdb`` beside the configuration)."""
        return self.config.parent / "store" / "mlvigil.duckdb"


def launch(directory: Path, extra: str = "", *, config: Path | None = None) -> Served:
    """Start `mlvigil serve` on the test configuration in ``directory`` plus ``extra``.

    The scheduler runs every 0.2 s. With ``config=``, on that configuration as it is
    (a restart on the same store). The caller stops the process.
    """
    if config is None:
        config = write_config(directory)
        text = config.read_text().replace(
            "evaluation_interval: 3600", "evaluation_interval: 0.2\nlateness: 1"
        )
        config.write_text(text + extra)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLVIGIL_")}
    argv = [sys.executable, "-m", "mlvigil", "serve", "--config", str(config)]
    log = config.parent / "serve.log"
    server = start_logged([*argv, "--port", str(port)], log, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/readyz", server, log)
    except BaseException:
        server.kill()
        server.wait()
        raise
    return Served(url, server, config, log)


def stop(served: Served) -> None:
    """Kill a server still running (tests that stop it themselves have)."""
    if served.process.poll() is None:
        served.process.kill()
        served.process.wait()
