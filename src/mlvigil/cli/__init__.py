"""The ``mlvigil`` command line."""

from __future__ import annotations

from mlvigil.cli.app import app, main

__all__ = ["app", "main"]
