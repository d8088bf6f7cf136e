"""OpenTelemetry tracing for model servers: one call to set up, small helpers to use.

:func:`configure_tracing` builds the SDK's ``TracerProvider`` with the exporter the
deployment asks for. Precedence follows the OpenTelemetry convention that operators
configure through the environment: an explicit argument wins, then the standard
``OTEL_*`` variable, then the default — except the service name, where
``OTEL_SERVICE_NAME`` (or ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``) wins over
the name the code passes, so one image can run under several names.

=================================================  ==========================================
variable                                           effect
=================================================  ==========================================
``OTEL_SDK_DISABLED=true``                         no spans are recorded
``OTEL_TRACES_EXPORTER``                           ``otlp`` (default), ``console``, ``none``,
                                                   or a comma-separated list
``OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL``           ``http/protobuf`` (default) or ``grpc``
``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT``           where OTLP goes (read by the exporter)
``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS``            e.g. auth headers (read by the exporter)
``OTEL_TRACES_SAMPLER``, ``..._SAMPLER_ARG``       sampling (read by the SDK)
``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``  resource attributes
``OTEL_PROPAGATORS``                               header formats (W3C ``traceparent`` default)
=================================================  ==========================================
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable, MutableMapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span, Tracer
from opentelemetry.util.types import AttributeValue

from mlvigil.exceptions import ConfigError

if TYPE_CHECKING:
    import httpx
    from starlette.types import ASGIApp

_F = TypeVar("_F", bound=Callable[..., Any])

INSTRUMENTATION_SCOPE = "mlvigil"
_EXPORTERS = ("otlp", "console", "none")
_PROTOCOLS = ("http/protobuf", "grpc")

Exporter = Literal["otlp", "console", "none"]
Protocol = Literal["http/protobuf", "grpc"]


def configure_tracing(
    service_name: str | None = None,
    *,
    exporter: Exporter | None = None,
    protocol: Protocol | None = None,
    endpoint: str | None = None,
    span_processors: Sequence[SpanProcessor] = (),
    batch: bool = True,
    set_global: bool = True,
) -> TracerProvider:
    """Create a tracer provider exporting spans as configured.

    Parameters
    ----------
    service_name
        ``service.name`` of the spans unless the environment sets one.
    exporter
        ``"otlp"``, ``"console"`` or ``"none"``; ``$OTEL_TRACES_EXPORTER`` (default
        ``otlp``) when omitted.
    protocol
        OTLP transport, ``"http/protobuf"`` or ``"grpc"`` (needs ``mlvigil[grpc]``);
        ``$OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` / ``$OTEL_EXPORTER_OTLP_PROTOCOL``
        (default ``http/protobuf``) when omitted.
    endpoint
        OTLP collector base URL (``http://collector:4318``; for HTTP, ``/v1/traces`` is
        appended); the exporter reads ``$OTEL_EXPORTER_OTLP_*ENDPOINT`` when omitted.
    span_processors
        Further processors (say, an in-memory exporter in tests).
    batch
        Export in the background in batches (production); ``False`` exports each span
        as it ends.
    set_global
        Install the provider as the process's global one, which instrumentations and
        :func:`get_tracer` use. OpenTelemetry allows this once per process.

    Returns
    -------
    The provider; call its ``shutdown()`` at exit to flush the last spans.

    Raises
    ------
    ConfigError
        For an unknown exporter or protocol, a missing optional dependency, or a second
        global provider.

    Examples
    --------
    >>> provider = configure_tracing("scorer", exporter="none", set_global=False)
    >>> with get_tracer(provider).start_as_current_span("score"):
    ...     current_trace_ids() is not None
    True
    >>> provider.shutdown()
    """
    attributes = {} if _service_name_from_env() else {"service.name": service_name or "mlvigil"}
    provider = TracerProvider(resource=Resource.create(attributes))
    for name in _exporter_names(exporter):
        span_exporter = _build_exporter(name, protocol, endpoint)
        if span_exporter is not None:
            processor_type = BatchSpanProcessor if batch else SimpleSpanProcessor
            provider.add_span_processor(processor_type(span_exporter))
    for processor in span_processors:
        provider.add_span_processor(processor)
    if set_global:
        if isinstance(trace.get_tracer_provider(), TracerProvider):
            provider.shutdown()
            raise ConfigError(
                "a global OpenTelemetry TracerProvider is already installed; call "
                "configure_tracing once per process, or pass set_global=False and use "
                "the returned provider"
            )
        trace.set_tracer_provider(provider)
    return provider


def _service_name_from_env() -> bool:
    if os.environ.get("OTEL_SERVICE_NAME"):
        return True
    resource_attributes = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return any(
        item.split("=", 1)[0].strip() == "service.name" for item in resource_attributes.split(",")
    )


def _exporter_names(exporter: str | None) -> list[str]:
    source = "exporter" if exporter is not None else "OTEL_TRACES_EXPORTER"
    value = exporter if exporter is not None else os.environ.get("OTEL_TRACES_EXPORTER", "otlp")
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in _EXPORTERS]
    if unknown:
        raise ConfigError(
            f"{source}={value!r} names unknown exporter(s) {unknown}; use one or more of "
            f"{', '.join(_EXPORTERS)}"
        )
    return names


def _protocol(protocol: str | None) -> str:
    if protocol is not None:
        source, value = "protocol", protocol
    else:
        source = next(
            (
                name
                for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
                if os.environ.get(name)
            ),
            "",
        )
        value = os.environ[source] if source else "http/protobuf"
    if value not in _PROTOCOLS:
        raise ConfigError(
            f"{source}={value!r} is not a supported OTLP protocol; use one of "
            f"{', '.join(_PROTOCOLS)}"
        )
    return value


def _build_exporter(name: str, protocol: str | None, endpoint: str | None) -> SpanExporter | None:
    if name == "none":
        return None
    if name == "console":
        return ConsoleSpanExporter(out=sys.stdout)
    if _protocol(protocol) == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcSpanExporter,
            )
        except ImportError as error:
            raise ConfigError(
                "the OTLP gRPC exporter is not installed; pip install 'mlvigil[grpc]' or "
                "use protocol http/protobuf"
            ) from error
        return GrpcSpanExporter(endpoint=endpoint)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if endpoint is not None:
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint)


def get_tracer(provider: trace.TracerProvider | None = None) -> Tracer:
    """The ``mlvigil`` tracer of ``provider`` (the global provider when omitted)."""
    if provider is None:
        return trace.get_tracer(INSTRUMENTATION_SCOPE)
    return provider.get_tracer(INSTRUMENTATION_SCOPE)


class span:  # noqa: N801 - used like a function: ``with span(...)`` / ``@span(...)``
    """A span around a block (``with``) or every call of a function (decorator).

    Exceptions are recorded on the span and set its status to ERROR, then re-raised.
    Works on sync and async functions.

    Parameters
    ----------
    name
        Span name.
    tracer
        Tracer to use; the global ``mlvigil`` tracer at the time the span starts when
        omitted (so decorating at import time is fine).
    attributes
        Span attributes.

    Examples
    --------
    >>> @span("load_features")
    ... def load(user):
    ...     return {"user": user}
    >>> load("u1")
    {'user': 'u1'}
    >>> with span("rank", attributes={"candidates": 20}) as current:
    ...     current.set_attribute("ranked", True)
    """

    def __init__(
        self,
        name: str,
        *,
        tracer: Tracer | None = None,
        attributes: dict[str, AttributeValue] | None = None,
    ) -> None:
        self.name = name
        self.tracer = tracer
        self.attributes = attributes
        self._scopes: list[Any] = []

    def _open(self) -> Any:
        tracer = self.tracer or get_tracer()
        return tracer.start_as_current_span(self.name, attributes=self.attributes)

    def __enter__(self) -> Span:
        scope = self._open()
        self._scopes.append(scope)
        return cast(Span, scope.__enter__())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._scopes.pop().__exit__(exc_type, exc, traceback)

    def __call__(self, func: _F) -> _F:
        """Wrap ``func`` so each call runs in its own span."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def traced_async(*args: Any, **kwargs: Any) -> Any:
                with self._open():
                    return await func(*args, **kwargs)

            return cast(_F, traced_async)

        @functools.wraps(func)
        def traced(*args: Any, **kwargs: Any) -> Any:
            with self._open():
                return func(*args, **kwargs)

        return cast(_F, traced)


def preprocessing(
    *, tracer: Tracer | None = None, attributes: dict[str, AttributeValue] | None = None
) -> span:
    """A ``preprocessing`` span: turning a request into model input."""
    return span("preprocessing", tracer=tracer, attributes=attributes)


def inference(
    *, tracer: Tracer | None = None, attributes: dict[str, AttributeValue] | None = None
) -> span:
    """An ``inference`` span: the model itself."""
    return span("inference", tracer=tracer, attributes=attributes)


def postprocessing(
    *, tracer: Tracer | None = None, attributes: dict[str, AttributeValue] | None = None
) -> span:
    """A ``postprocessing`` span: turning model output into a response."""
    return span("postprocessing", tracer=tracer, attributes=attributes)


def current_trace_ids() -> tuple[str, str] | None:
    """Trace id (32 hex) and span id (16 hex) of the current span, if one is active."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def trace_exemplar() -> dict[str, str] | None:
    """``{"trace_id": ...}`` for a Prometheus exemplar, when a span is active.

    Examples
    --------
    >>> trace_exemplar() is None  # no span here
    True
    """
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return {"trace_id": format(context.trace_id, "032x")}


def instrument_fastapi(
    app: ASGIApp,
    *,
    tracer_provider: trace.TracerProvider | None = None,
    excluded_urls: str = "healthz,readyz,metrics",
) -> None:
    """Trace every request to a FastAPI app; continue incoming ``traceparent`` headers.

    Parameters
    ----------
    app
        The FastAPI application.
    tracer_provider
        Provider for the server spans; the global one when omitted.
    excluded_urls
        Comma-separated URL patterns not traced (probes and scrapes by default).
    """
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise ConfigError(
            "FastAPI instrumentation is not installed; pip install 'mlvigil[fastapi]'"
        ) from error
    FastAPIInstrumentor.instrument_app(
        app,  # type: ignore[arg-type]
        tracer_provider=tracer_provider,
        excluded_urls=excluded_urls,
    )


def inject_trace_headers(headers: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Headers carrying the current trace to another service (W3C ``traceparent``).

    Parameters
    ----------
    headers
        Headers to extend; a new dict when omitted.

    Returns
    -------
    ``headers`` plus ``traceparent`` (and ``tracestate``, baggage) as the configured
    propagators (``$OTEL_PROPAGATORS``) write them; unchanged outside a span.
    """
    carrier = dict(headers or {})
    propagate.inject(carrier)
    return carrier


def instrument_httpx_client(
    client: httpx.Client | httpx.AsyncClient,
    *,
    tracer_provider: trace.TracerProvider | None = None,
) -> None:
    """Give every request of ``client`` a client span and a ``traceparent`` header."""
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise ConfigError(
            "httpx instrumentation is not installed; pip install 'mlvigil[fastapi]'"
        ) from error
    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=tracer_provider)
