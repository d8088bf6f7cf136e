"""A progress bar for long per-column work, shown only on an interactive terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def column_progress(description: str) -> Iterator[Callable[[Any], None]]:
    """Yield a callback that advances a spinner-and-counter by one column.

    On a non-interactive stderr (pipes, CI) nothing is drawn.
    """
    if not sys.stderr.isatty():
        yield lambda _result: None
        return
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        "{task.description}",
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)
        yield lambda _result: progress.advance(task)
