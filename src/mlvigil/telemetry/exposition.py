"""Serve ``/metrics``: content negotiation, exemplars and multiprocess workers.

Exemplars (the trace id on latency buckets) exist only in the OpenMetrics format, which
Prometheus asks for in its ``Accept`` header when exemplar storage is enabled; the
classic text format is served otherwise. When several worker processes serve one app
(gunicorn or ``uvicorn --workers N``), each keeps its metrics in files under
``PROMETHEUS_MULTIPROC_DIR`` and any worker answering the scrape aggregates them all.

Multiprocess set-up, in short: export ``PROMETHEUS_MULTIPROC_DIR`` to an empty
directory before the server starts (prometheus-client reads it at import), wipe it
between deployments, and with gunicorn call
``prometheus_client.multiprocess.mark_process_dead(worker.pid)`` from the
``child_exit`` hook so live-worker gauges forget dead workers. Exemplars are not
available in multiprocess mode (a prometheus-client limitation).

Host and GPU metrics (:func:`~mlvigil.telemetry.host.register_host_metrics`) describe
the machine, not a worker, so in multiprocess mode the answering worker's own host and
GPU collectors join the aggregate as they are; its ``process_*`` metrics do not, as
they would describe only that worker. ``mlvigil_host_cpu_utilization_ratio`` is then
the busy share since that worker last answered a scrape; ``rate()`` over
``mlvigil_host_cpu_seconds_total`` does not depend on which worker answers.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_EOF = b"# EOF\n"


@dataclass(frozen=True)
class Rendered:
    """A metric family whose sample lines are already written (by a database, say).

    ``samples`` are its lines in the exposition format, each ending in a newline: the
    same in the Prometheus text format and in OpenMetrics for gauges without
    timestamps or exemplars. :func:`render_metrics` writes the family's ``# HELP`` and
    ``# TYPE`` lines before them as prometheus-client does.
    """

    name: str
    documentation: str
    kind: str
    samples: bytes | memoryview


class _Header(Collector):
    """One empty family, so that the encoder writes its ``# HELP`` and ``# TYPE`` lines."""

    def __init__(self, family: Rendered) -> None:
        self._metric = Metric(family.name, family.documentation, family.kind)

    def collect(self) -> Iterator[Metric]:
        yield self._metric


class _Kept(Collector):
    """A registry's families with only the samples whose labels ``keep`` accepts."""

    def __init__(self, registry: Collector, keep: Callable[[Mapping[str, str]], bool]) -> None:
        self._registry, self._keep = registry, keep

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            kept = copy.copy(family)
            kept.samples = [s for s in family.samples if self._keep(s.labels)]
            yield kept


def multiprocess_enabled() -> bool:
    """Whether metrics are shared between worker processes through files."""
    return bool(os.environ.get(MULTIPROCESS_ENV))


def scrape_registry(registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """The registry a scrape should read.

    In multiprocess mode, a fresh registry aggregating every worker's files (the
    per-process registry would show only the answering worker), plus the host and GPU
    collectors registered on ``registry``; otherwise ``registry`` or the global one.
    """
    if not multiprocess_enabled():
        return REGISTRY if registry is None else registry
    from prometheus_client import multiprocess

    aggregate = CollectorRegistry()
    multiprocess.MultiProcessCollector(aggregate)  # type: ignore[no-untyped-call]
    for collector in _machine_collectors(registry):
        aggregate.register(collector)
    return aggregate


def _machine_collectors(registry: CollectorRegistry | None) -> list[Collector]:
    """The host and GPU collectors on ``registry``: machine-wide, so any worker's do."""
    if "mlvigil.telemetry.host" not in sys.modules:
        return []  # never imported, so nothing registered; and psutil stays unimported
    from mlvigil.telemetry.host import registered_host_metrics

    metrics = registered_host_metrics(registry)
    if metrics is None:
        return []
    return [c for c in (metrics.host, metrics.gpu) if c is not None]


def render_metrics(
    accept: str | None,
    registry: CollectorRegistry | None = None,
    *,
    rendered: Sequence[Rendered] = (),
    keep: Callable[[Mapping[str, str]], bool] | None = None,
) -> tuple[bytes, str]:
    r"""Encode the metrics for a scrape with the given ``Accept`` header.

    Parameters
    ----------
    accept
        The scraper's ``Accept`` header.
    registry
        The metrics (the global registry by default).
    rendered
        Families written already, served before the registry's.
    keep
        Which samples of the registry to serve, by their labels (all by default).

    Returns
    -------
    The body and its content type: OpenMetrics (with exemplars) when the scraper
    accepts it, the Prometheus text format otherwise.

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry, Counter
    >>> registry = CollectorRegistry()
    >>> Counter("jobs", "Jobs run.", registry=registry).inc()
    >>> body, content_type = render_metrics("application/openmetrics-text", registry)
    >>> content_type.split(";")[0], body.endswith(b"# EOF\n")
    ('application/openmetrics-text', True)
    """
    encoder, content_type = choose_encoder(accept or "")
    source: Collector = scrape_registry(registry)
    body = encoder(source if keep is None else _Kept(source, keep))
    if not rendered:
        return body, content_type
    parts = []
    for family in rendered:
        header = encoder(_Header(family))
        parts += [header.removesuffix(_EOF), family.samples]
    return b"".join([*parts, body]), content_type


def metrics_endpoint(
    registry: CollectorRegistry | None = None,
) -> Callable[[Any], Awaitable[Any]]:
    """A Starlette/FastAPI endpoint serving the metrics.

    Examples
    --------
    ``app.add_route("/metrics", metrics_endpoint(), include_in_schema=False)``
    """
    from starlette.responses import Response

    async def metrics(request: Any) -> Response:
        body, content_type = render_metrics(request.headers.get("accept"), registry)
        return Response(body, media_type=content_type)

    return metrics
