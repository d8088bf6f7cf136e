"""Reads of a scheduler pass, made once for every model instead of once per model.

A pass asks each model for its evaluated windows, its logged data changes and where
pruning left it: three queries per model, which at 10,000 models cost more than the
evaluations. Inside :meth:`PassReads.pass_reads` the first such question reads the
answer for every model in one query; a model's answer is dropped (read again, alone)
once the pass writes it (a window saved, changes cleared). The cache belongs to the
thread running the pass: API requests answered meanwhile read the store as always.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from mlvigil.service.store_base import StoreConnection

__all__ = ["PassReads"]

T = TypeVar("T")


class _Answers:
    """One kind of answer for every model, and the models whose answer went stale."""

    def __init__(self, by_model: dict[str, Any]) -> None:
        self.by_model = by_model
        self.stale: set[str] = set()


class PassReads(StoreConnection):
    """A per-thread, per-pass cache of whole-store reads (see the module)."""

    _pass_local: threading.local

    @contextmanager
    def pass_reads(self) -> Iterator[None]:
        """Serve this thread's per-model reads from whole-store reads until the end."""
        local = self._local()
        local.answers = {}
        try:
            yield
        finally:
            local.answers = None

    def _local(self) -> threading.local:
        try:
            return self._pass_local
        except AttributeError:
            self._pass_local = threading.local()
            return self._pass_local

    def _answer(
        self, kind: str, model: str, read_all: Callable[[], dict[str, T]], default: T
    ) -> tuple[bool, T]:
        """``model``'s answer of ``kind`` from the pass's read: ``(True, answer)``.

        ``(False, default)`` outside a pass, or once the pass wrote that answer.
        """
        answers: dict[str, _Answers] | None = getattr(self._local(), "answers", None)
        if answers is None:
            return False, default
        cached = answers.get(kind)
        if cached is None:
            cached = answers[kind] = _Answers(read_all())
        if model in cached.stale:
            return False, default
        answer: T = cached.by_model.get(model, default)
        return True, answer

    def _written(self, kind: str, model: str) -> None:
        """``model``'s answer of ``kind`` changed: read it from the store from now on."""
        answers: dict[str, _Answers] | None = getattr(self._local(), "answers", None)
        if answers is not None and kind in answers:
            answers[kind].stale.add(model)


def group_rows(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """Rows whose first column is a model name, grouped by it (order kept)."""
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return grouped
