"""Structured logs: one JSON line per event, from structlog and stdlib ``logging`` alike.

:func:`configure_logging` installs one processor chain for both: context variables
(the request id), level, logger name, an ISO 8601 UTC timestamp, the exception
traceback, the current trace and span ids, PII redaction, then the renderer. Redaction
runs after tracebacks are formatted (they can hold PII) and before anything is written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any, Literal, TextIO

import orjson
import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

from mlvigil.telemetry.redaction import Redactor

Renderer = Literal["json", "console", "auto"]
_HANDLER_NAME = "mlvigil"
# Servers that install their own handlers; their records are routed through ours.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access")
# HTTP clients that log every request's full URL at INFO (webhook secrets are in URLs):
# only their warnings and errors are written, through the same chain and redactor.
CLIENT_LOGGERS = ("httpx", "httpcore", "urllib3")
_DEFAULT_REDACTOR = Redactor()


def add_trace_context(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Add ``trace_id`` (32 hex) and ``span_id`` (16 hex) of the current span, if any.

    A structlog processor: a log line can then be joined with its trace and with the
    exemplar on the latency histogram.
    """
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def _drop_color_message(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """Uvicorn passes an ANSI-coloured copy of its message as an extra; drop it."""
    event_dict.pop("color_message", None)
    return event_dict


def _dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def configure_logging(
    *,
    level: str | int = "INFO",
    renderer: Renderer = "json",
    redactor: Redactor | None = _DEFAULT_REDACTOR,
    stream: TextIO | None = None,
    capture_loggers: Iterable[str] = SERVER_LOGGERS,
    quiet_loggers: Iterable[str] = CLIENT_LOGGERS,
) -> None:
    """Send structlog and stdlib logging through one chain to ``stream``.

    Calling it again replaces the previous configuration (no duplicate lines); handlers
    that other code put on the root logger are left alone.

    Parameters
    ----------
    level
        Lowest level written, for both structlog and stdlib records.
    renderer
        ``"json"`` (one object per line), ``"console"`` (coloured, for people), or
        ``"auto"``: console when ``stream`` is a terminal, JSON otherwise.
    redactor
        PII redaction (:class:`~mlvigil.telemetry.redaction.Redactor`); ``None`` turns
        it off.
    stream
        Where lines go; standard output by default.
    capture_loggers
        Loggers whose own handlers are removed so their records come out in the same
        format (uvicorn and gunicorn by default).
    quiet_loggers
        Loggers that write only warnings and above whatever ``level`` says (the HTTP
        clients ``httpx``, ``httpcore`` and ``urllib3`` by default, which log each
        request's URL, secrets in webhook paths included).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> configure_logging(stream=out)
    >>> get_logger("billing").info("charged", email="ann@example.com", cents=1250)
    >>> line = out.getvalue()
    >>> '"event":"charged"' in line, '"cents":1250' in line, "ann@" in line
    (True, True, False)
    >>> reset_logging()
    """
    target = sys.stdout if stream is None else stream
    if renderer == "auto":
        renderer = "console" if target.isatty() else "json"
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    final: list[Processor] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,
        add_trace_context,
    ]
    if redactor is not None:
        final.append(redactor)
    if renderer == "console":
        final.append(structlog.dev.ConsoleRenderer(colors=target.isatty()))
    else:
        final.append(structlog.processors.JSONRenderer(serializer=_dumps))

    handler = logging.StreamHandler(target)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    )
    root = logging.getLogger()
    _remove_own_handler(root)
    root.addHandler(handler)
    root.setLevel(level)
    numeric = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    floor = max(logging.WARNING, numeric if isinstance(numeric, int) else logging.WARNING)
    for name in quiet_loggers:
        logging.getLogger(name).setLevel(floor)
    for name in capture_loggers:
        captured = logging.getLogger(name)
        if captured.handlers:  # a logger switched off (no handlers) stays off
            captured.handlers.clear()
            captured.propagate = True

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def reset_logging() -> None:
    """Undo :func:`configure_logging`: remove its handler and structlog's configuration."""
    _remove_own_handler(logging.getLogger())
    structlog.reset_defaults()


def _remove_own_handler(root: logging.Logger) -> None:
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
            existing.close()


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; its events go through :func:`configure_logging`'s chain.

    Parameters
    ----------
    name
        Logger name (shown as ``logger``); the caller's module is a good choice.
    """
    return structlog.stdlib.get_logger(name)
