"""The demo's deployment, and the rollback script its failing canary runs.

The deployment is a small JSON file: the stable version, the canary taking a share of
the traffic, and what was rolled back. The simulated traffic reads it on every step;
the service's ``rollback`` receiver (a command receiver) runs this module when the
``canary_failed`` alert fires::

    python -m mlvigil.demo.rollback deployment.json   # the alerts as JSON on stdin

as a deploy tool's rollback would (``kubectl argo rollouts abort``, ``helm rollback``):
it takes the failing canary out of the traffic. Running it again for the same alert
(a retried delivery) changes nothing.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Deployment", "main"]

_VERSION_SEGMENT = "model_version="


@dataclass(frozen=True)
class Deployment:
    """Which versions serve, and what was rolled back (by which notification)."""

    stable: str
    canary: str | None = None
    canary_share: float = 0.0
    rolled_back: str | None = None
    rolled_back_by: str | None = None

    @classmethod
    def read(cls, path: Path) -> Deployment | None:
        """The deployment in ``path``, or ``None`` before one is written."""
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None

    def write(self, path: Path) -> None:
        """Replace ``path`` at once: a reader never sees half a file."""
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(asdict(self)))
        os.replace(partial, path)


def failed_canaries(notification: Mapping[str, Any]) -> set[str]:
    """The versions whose ``canary_failed`` alert fires in a notification."""
    found = set()
    for alert in notification.get("alerts", []):
        labels = alert["labels"]
        segment = labels.get("segment", "")
        firing = alert["status"] == "firing" and labels.get("alertname") == "canary_failed"
        if firing and segment.startswith(_VERSION_SEGMENT):
            found.add(segment[len(_VERSION_SEGMENT) :])
    return found


def main(argv: list[str] | None = None) -> int:
    """Roll back the deployment's canary if the alerts on stdin say it failed."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1:
        print("usage: python -m mlvigil.demo.rollback DEPLOYMENT.json", file=sys.stderr)
        return 2
    path = Path(arguments[0])
    deployment = Deployment.read(path)
    if deployment is None:
        print(f"no deployment at {path}", file=sys.stderr)
        return 1
    failed = failed_canaries(json.load(sys.stdin))
    if deployment.canary is not None and deployment.canary in failed:
        key = os.environ.get("MLVIGIL_IDEMPOTENCY_KEY", "")
        Deployment(deployment.stable, None, 0.0, deployment.canary, key).write(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
