"""Create Prometheus collectors once per registry.

prometheus-client refuses to register the same metric name twice on one registry,
yet a process may build several monitors or loggers on the same registry (one per
model, or again after a reload). Every telemetry module creates its collectors
through :func:`shared_collector`, which hands back the collector already registered
under that name, provided it has the same type and labels.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TypeVar

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from mlvigil.exceptions import ConfigError

_Metric = TypeVar("_Metric", bound=MetricWrapperBase)

_lock = threading.Lock()
_created: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, MetricWrapperBase]] = (
    weakref.WeakKeyDictionary()
)


def shared_collector(
    factory: Callable[..., _Metric],
    name: str,
    documentation: str,
    labelnames: Sequence[str] = (),
    *,
    registry: CollectorRegistry | None = None,
    **options: object,
) -> _Metric:
    """Return the collector ``name`` on ``registry``, creating it on first use.

    Parameters
    ----------
    factory
        The prometheus-client class (``Counter``, ``Histogram``, ...).
    name, documentation, labelnames
        As for the prometheus-client class.
    registry
        Where the collector lives; the global registry when omitted.
    **options
        Further keyword arguments for ``factory`` (``buckets``, ``multiprocess_mode``).
        They apply only when the collector is created.

    Returns
    -------
    The new collector, or the one created earlier under the same name.

    Raises
    ------
    ConfigError
        When ``name`` was created earlier with another type or other labels.

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry, Counter
    >>> registry = CollectorRegistry()
    >>> first = shared_collector(Counter, "jobs", "Jobs run.", registry=registry)
    >>> shared_collector(Counter, "jobs", "Jobs run.", registry=registry) is first
    True
    """
    target = REGISTRY if registry is None else registry
    with _lock:
        known = _created.setdefault(target, {})
        existing = known.get(name)
        if existing is None:
            created = factory(name, documentation, labelnames, registry=target, **options)
            known[name] = created
            return created
    if type(existing) is not factory or tuple(existing._labelnames) != tuple(labelnames):
        raise ConfigError(
            f"metric {name!r} already exists on this registry as a "
            f"{type(existing).__name__} with labels {list(existing._labelnames)}; "
            "use another registry or the same type and labels"
        )
    return existing  # type: ignore[return-value]
