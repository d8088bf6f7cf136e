"""Helpers shared by the benchmark's child processes (standard library only).

Every measurement runs in a fresh interpreter that reports its result by printing a
single JSON object as the last line of its stdout.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any

_PROC_STATUS = Path("/proc/self/status")


def peak_rss_bytes() -> int:
    """Peak resident set size of this process, in bytes.

    On Linux this reads ``VmHWM``: ``ru_maxrss`` is unsuitable there because ``exec``
    carries over the parent's high-water mark into the child.
    """
    if _PROC_STATUS.is_file():
        for line in _PROC_STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def emit(result: dict[str, Any]) -> None:
    """Print the child's result as one JSON line on stdout."""
    print(json.dumps(result), flush=True)
