"""Collecting scipy's warnings safely from several threads.

``warnings.catch_warnings`` swaps process-wide state, so two threads using it at
once can restore each other's filters. Every place in mlvigil that turns a scipy
warning into a result note goes through this one lock.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()


@contextmanager
def collected_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Collect the warnings raised inside the block instead of emitting them."""
    with _LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
