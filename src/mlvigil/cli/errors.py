"""Turning user mistakes into a one-line message and exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from mlvigil.exceptions import MlvigilError

#: Exit code for bad input or options, as for command-line usage errors.
USER_ERROR = 2


@contextmanager
def exit_on_user_error() -> Iterator[None]:
    """Print an :class:`MlvigilError` as ``error: ...`` on stderr and exit with 2."""
    try:
        yield
    except MlvigilError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(USER_ERROR) from None
