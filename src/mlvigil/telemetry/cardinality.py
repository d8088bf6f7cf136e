"""Keep label values from data within a fixed number per label.

Every distinct label value is a time series Prometheus keeps in memory. A label fed
from data (a predicted class of a regressor, a feature name from a request body, a
user id someone added) can grow without bound and take Prometheus down with it.
:class:`LabelGuard` admits the first ``max_values`` distinct values of each label and
folds every later one into ``__other__``, counting the folds and logging once.
"""

from __future__ import annotations

import logging
import threading

from prometheus_client import CollectorRegistry, Counter

from mlvigil.exceptions import ConfigError
from mlvigil.telemetry._registry import shared_collector

OTHER = "__other__"

_log = logging.getLogger("mlvigil.telemetry.cardinality")


class LabelGuard:
    """Admit at most ``max_values`` distinct values per (metric, label).

    Parameters
    ----------
    max_values
        Distinct values admitted per label; later ones become ``"__other__"``.
    registry
        Where ``mlvigil_label_values_folded_total{metric, label}`` is counted.

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry
    >>> guard = LabelGuard(2, registry=CollectorRegistry())
    >>> [guard.admit("ml_x", "user", u) for u in ("a", "b", "c", "a")]
    ['a', 'b', '__other__', 'a']
    """

    def __init__(self, max_values: int = 100, *, registry: CollectorRegistry | None = None) -> None:
        if max_values < 1:
            raise ConfigError(f"max_values must be at least 1, got {max_values}")
        self.max_values = max_values
        self._admitted: dict[tuple[str, str], set[str]] = {}
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._folded = shared_collector(
            Counter,
            "mlvigil_label_values_folded",
            "Label values folded into __other__ because the label reached its cap.",
            ("metric", "label"),
            registry=registry,
        )

    def admit(self, metric: str, label: str, value: str) -> str:
        """Return ``value`` if admitted for this label, else ``"__other__"``."""
        key = (metric, label)
        admitted = self._admitted.get(key)
        if admitted is not None and value in admitted:
            return value
        with self._lock:
            admitted = self._admitted.setdefault(key, set())
            if value in admitted:
                return value
            if len(admitted) < self.max_values:
                admitted.add(value)
                return value
            first_fold = key not in self._warned
            self._warned.add(key)
        self._folded.labels(metric, label).inc()
        if first_fold:
            _log.warning(
                "label %r of %s reached %d distinct values; further values are "
                "recorded as %r and counted in mlvigil_label_values_folded_total",
                label,
                metric,
                self.max_values,
                OTHER,
            )
        return OTHER
