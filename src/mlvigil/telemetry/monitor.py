"""``ModelMonitor``: instrument a model's predictions in one line.

The prediction path is hot: a model server pays it on every request. Everything that
can be resolved once is resolved once (labelled metric children are cached per model,
class and feature), nothing is sent synchronously (records go to the prediction
logger's queue), and the per-feature work is a null check, not a histogram
observation per feature, which is what the usual tutorial pattern costs.
"""

from __future__ import annotations

import functools
import inspect
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, ParamSpec, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from prometheus_client import CollectorRegistry

from mlvigil.exceptions import ConfigError
from mlvigil.telemetry.cardinality import LabelGuard
from mlvigil.telemetry.metrics import Buckets, ServingMetrics
from mlvigil.telemetry.records import PredictionRecord, new_prediction_id

if TYPE_CHECKING:
    from prometheus_client.metrics import Counter, Histogram

    from mlvigil.telemetry.host import HostMetrics
    from mlvigil.telemetry.prediction_log import PredictionLogger

_P = ParamSpec("_P")
_R = TypeVar("_R")

_PREDICTION_KEYS = ("prediction", "class", "label")
_SCORE_KEYS = ("score", "confidence", "probability")
# Exact types, checked with one set lookup: cheaper than isinstance on the hot path.
_NUMBER_TYPES = frozenset({int, float})
_FLOAT_TYPES = frozenset({float})


class Prediction(NamedTuple):
    """What a model returned, as the monitor records it.

    Parameters
    ----------
    value
        The prediction (class label, number, ...).
    score
        Its confidence or probability, if any.
    predicted_class
        The class the score belongs to; ``str(value)`` when omitted.
    """

    value: Any
    score: float | None = None
    predicted_class: str | None = None


def default_output(result: Any) -> Prediction:
    """Read a prediction from a predict function's return value.

    A :class:`Prediction` is taken as is. A mapping (or a pydantic model) gives its
    first key among ``prediction``, ``class``, ``label`` as the value and among
    ``score``, ``confidence``, ``probability`` as the score. Anything else is the
    prediction itself, without a score.

    Examples
    --------
    >>> default_output({"class": "fraud", "confidence": 0.93})
    Prediction(value='fraud', score=0.93, predicted_class=None)
    >>> default_output(3.5)
    Prediction(value=3.5, score=None, predicted_class=None)
    """
    if type(result) is not dict:  # the common case first: plain dicts skip the checks
        if isinstance(result, Prediction):
            return result
        dump = getattr(result, "model_dump", None)
        if callable(dump):
            result = dump()
        if not isinstance(result, Mapping):
            return Prediction(result)
    value = score = None
    for key in _PREDICTION_KEYS:
        if key in result:
            value = result[key]
            break
    for key in _SCORE_KEYS:
        if key in result:
            score = result[key]
            break
    return Prediction(value, None if score is None else float(score))


class _ModelSeries:
    """The labelled metric children of one model version, resolved once."""

    __slots__ = ("confidence", "error", "feature_values", "latency", "missing", "success", "value")

    def __init__(self, metrics: ServingMetrics, model: str, version: str) -> None:
        self.success = metrics.requests.labels(model, version, "success")
        self.error = metrics.requests.labels(model, version, "error")
        self.latency = metrics.latency.labels(model, version)
        self.value = metrics.prediction_value.labels(model)
        self.confidence: dict[str, Histogram] = {}
        self.missing: dict[str, Counter] = {}
        self.feature_values: dict[str, Histogram] = {}


class ModelMonitor:
    """Metrics, spans and prediction logging for one model version.

    Parameters
    ----------
    model, version
        Label values identifying the model.
    registry
        Prometheus registry for the metrics; the global one when omitted.
    buckets
        Histogram bucket layouts.
    prediction_logger
        Where prediction records go (see :mod:`mlvigil.telemetry.prediction_log`);
        none are shipped when omitted.
    feature_histograms
        Features whose values also go into ``ml_feature_value`` histograms. Each costs a
        histogram observation per prediction; the prediction logger already ships every
        value for drift analysis, so choose only features you want to chart live.
    expected_features
        Features every request should carry; an absent one counts as missing.
    trace
        Open a ``predict`` span around each tracked prediction and attach its trace id
        to the latency histogram as an exemplar.
    tracer
        Tracer for those spans (implies ``trace``); the global tracer otherwise.
    max_label_values
        Cap on distinct values of data-driven labels (predicted class, feature name).

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry
    >>> monitor = ModelMonitor("churn", version="3", registry=CollectorRegistry())
    >>> @monitor.track
    ... def predict(features):
    ...     return {"prediction": "stay", "score": 0.81}
    >>> predict({"tenure": 14, "plan": None})
    {'prediction': 'stay', 'score': 0.81}
    >>> monitor.registry.get_sample_value(
    ...     "ml_feature_missing_total", {"model": "churn", "feature": "plan"})
    1.0
    """

    def __init__(
        self,
        model: str,
        *,
        version: str = "",
        registry: CollectorRegistry | None = None,
        buckets: Buckets | None = None,
        prediction_logger: PredictionLogger | None = None,
        feature_histograms: Iterable[str] = (),
        expected_features: Iterable[str] = (),
        trace: bool = False,
        tracer: Tracer | None = None,
        max_label_values: int = 100,
    ) -> None:
        if not model:
            raise ConfigError("model must be a non-empty name")
        from prometheus_client import REGISTRY

        self.model = model
        self.version = version
        self.registry: CollectorRegistry = REGISTRY if registry is None else registry
        self._buckets = Buckets() if buckets is None else buckets
        self._metrics = ServingMetrics.on(self.registry, self._buckets)
        self._series = _ModelSeries(self._metrics, model, version)
        self._guard = LabelGuard(max_label_values, registry=self.registry)
        self._logger = prediction_logger
        self._histogram_features = tuple(dict.fromkeys(feature_histograms))
        self._expected = tuple(dict.fromkeys(expected_features))
        self._tracer: Tracer | None = tracer
        if trace and tracer is None:
            self._tracer = otel_trace.get_tracer("mlvigil")
        for feature in self._histogram_features:
            histogram = ServingMetrics.feature_histogram(self.registry, feature, self._buckets)
            self._series.feature_values[feature] = histogram.labels(model, feature)

    # -- the hot path -------------------------------------------------------------

    def record(
        self,
        features: Mapping[str, Any] | None,
        prediction: Any,
        *,
        score: float | None = None,
        predicted_class: str | None = None,
        latency_s: float | None = None,
        id: str | None = None,
        timestamp: float | None = None,
        trace_id: str | None = None,
    ) -> str:
        """Record one successful prediction and queue it for the prediction logger.

        Parameters
        ----------
        features
            The model's input, by feature name.
        prediction, score, predicted_class
            What the model returned (see :class:`Prediction`).
        latency_s
            Time taken to serve it, in seconds.
        id
            The prediction id, for joining labels later; generated when omitted.
        timestamp
            When it happened (Unix seconds); now when omitted.
        trace_id
            32-hex trace id to attach as the latency exemplar.

        Returns
        -------
        The prediction id.
        """
        series = self._series
        series.success.inc()
        if latency_s is not None:
            if trace_id is None:
                series.latency.observe(latency_s)
            else:
                series.latency.observe(latency_s, {"trace_id": trace_id})
        if score is not None:
            label = str(prediction) if predicted_class is None else predicted_class
            histogram = series.confidence.get(label) or self._confidence_series(label)
            histogram.observe(score)
        if type(prediction) in _NUMBER_TYPES:
            series.value.observe(prediction)
        if features is not None:
            self._record_features(features)
        if id is None:
            id = new_prediction_id()
        if self._logger is not None:
            self._logger.log(
                PredictionRecord(
                    id,
                    time.time() if timestamp is None else timestamp,
                    self.model,
                    self.version,
                    features if features is not None else {},
                    prediction,
                    score,
                    None if latency_s is None else latency_s * 1000.0,
                )
            )
        return id

    def record_error(self, latency_s: float | None = None) -> None:
        """Count one failed prediction (and its latency, when known)."""
        self._series.error.inc()
        if latency_s is not None:
            self._series.latency.observe(latency_s)

    def _record_features(self, features: Mapping[str, Any]) -> None:
        series = self._series
        for name, value in features.items():
            if value is None or (type(value) in _FLOAT_TYPES and value != value):
                (series.missing.get(name) or self._missing_series(name)).inc()
        for name in self._expected:
            if name not in features:
                (series.missing.get(name) or self._missing_series(name)).inc()
        for name in self._histogram_features:
            value = features.get(name)
            if type(value) in _NUMBER_TYPES and value == value:  # NaN != NaN
                series.feature_values[name].observe(value)  # type: ignore[arg-type]

    def _confidence_series(self, predicted_class: str) -> Histogram:
        admitted = self._guard.admit("ml_prediction_confidence", "predicted_class", predicted_class)
        child = self._metrics.confidence.labels(self.model, admitted)
        if admitted == predicted_class:
            self._series.confidence[predicted_class] = child
        return child

    def _missing_series(self, feature: str) -> Counter:
        admitted = self._guard.admit("ml_feature_missing", "feature", feature)
        child = self._metrics.feature_missing.labels(self.model, admitted)
        if admitted == feature:
            self._series.missing[feature] = child
        return child

    # -- ergonomic entry points ---------------------------------------------------

    def predict(
        self, features: Mapping[str, Any] | None = None, *, id: str | None = None
    ) -> PredictionScope:
        """Time and record the prediction made inside a ``with`` (or ``async with``) block.

        Call :meth:`PredictionScope.set` with the model's output inside the block. An
        exception escaping the block counts as an error and is re-raised.

        Examples
        --------
        >>> from prometheus_client import CollectorRegistry
        >>> monitor = ModelMonitor("churn", registry=CollectorRegistry())
        >>> with monitor.predict({"tenure": 14}) as scope:
        ...     scope.set("stay", score=0.81)
        >>> monitor.registry.get_sample_value("ml_prediction_latency_seconds_count",
        ...     {"model": "churn", "version": ""})
        1.0
        """
        return PredictionScope(self, features, id)

    @overload
    def track(self, func: Callable[_P, _R]) -> Callable[_P, _R]: ...

    @overload
    def track(
        self,
        *,
        features_arg: str | None = None,
        output: Callable[[Any], Prediction] = default_output,
    ) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]: ...

    def track(
        self,
        func: Callable[..., Any] | None = None,
        *,
        features_arg: str | None = None,
        output: Callable[[Any], Prediction] = default_output,
    ) -> Any:
        """Decorate a predict function (sync or async) so every call is recorded.

        Parameters
        ----------
        func
            The function, when used as a bare ``@monitor.track``.
        features_arg
            Name of the argument holding the features: ``features`` if the function
            has one, else its first parameter.
        output
            Turns the return value into a :class:`Prediction`; see
            :func:`default_output`.
        """

        def decorate(fn: Callable[_P, _R]) -> Callable[_P, _R]:
            index, name = _locate_argument(fn, features_arg)

            if inspect.iscoroutinefunction(fn):

                @functools.wraps(fn)
                async def track_async(*args: Any, **kwargs: Any) -> Any:
                    with self.predict(_argument(args, kwargs, index, name)) as scope:
                        result = await fn(*args, **kwargs)
                        scope._output = output(result)
                    return result

                return track_async  # type: ignore[return-value]

            @functools.wraps(fn)
            def track_sync(*args: _P.args, **kwargs: _P.kwargs) -> _R:
                with self.predict(_argument(args, kwargs, index, name)) as scope:
                    result = fn(*args, **kwargs)
                    scope._output = output(result)
                return result

            return track_sync

        return decorate if func is None else decorate(func)

    # -- everything else ----------------------------------------------------------

    def log_label(self, id: str, label: Any, *, timestamp: float | None = None) -> bool:
        """Ship the true label of prediction ``id`` once it is known.

        Returns
        -------
        False when the logger's queue was full and the label was dropped (counted).

        Raises
        ------
        ConfigError
            When the monitor has no prediction logger.
        """
        if self._logger is None:
            raise ConfigError(
                f"monitor for {self.model!r} has no prediction_logger; pass one to "
                "ModelMonitor(...) to ship labels"
            )
        return self._logger.log_label(id, label, model=self.model, timestamp=timestamp)

    def set_model_memory(self, nbytes: float) -> None:
        """Report the memory the loaded model holds, in bytes."""
        self._metrics.model_memory.labels(self.model, self.version).set(nbytes)

    def collect_host_metrics(
        self,
        *,
        gpu: bool = True,
        path: str | os.PathLike[str] | None = None,
        nvml: Any = None,
    ) -> HostMetrics:
        """Also export the host's and its GPUs' metrics from this monitor's registry.

        The ``mlvigil_host_*`` and ``mlvigil_gpu_*`` series are read when ``/metrics``
        is scraped, never on the prediction path. Calling it again (or from another
        monitor, or :func:`~mlvigil.telemetry.metrics.configure_metrics`, on the same
        registry) registers nothing twice.

        Parameters
        ----------
        gpu
            Also export GPU metrics through NVML. Without a GPU, a driver or
            ``pip install 'mlvigil[gpu]'``, only ``mlvigil_gpu_available 0`` and its
            reason are exported.
        path
            A path on the filesystem whose usage to export; the working directory when
            omitted.
        nvml
            An NVML module to use instead of ``pynvml`` (tests pass a fake).

        Returns
        -------
        The host (and GPU) collectors on :attr:`registry`.

        Examples
        --------
        >>> from prometheus_client import CollectorRegistry
        >>> monitor = ModelMonitor("churn", registry=CollectorRegistry())
        >>> metrics = monitor.collect_host_metrics(gpu=False)
        >>> monitor.registry.get_sample_value("mlvigil_host_logical_cpus") > 0
        True
        >>> monitor.collect_host_metrics(gpu=False) is metrics
        True
        """
        # Imported here: psutil (and NVML) load only for servers that ask for them.
        from mlvigil.telemetry.host import register_host_metrics

        return register_host_metrics(self.registry, gpu=gpu, path=path, nvml=nvml)

    def _start_span(self, prediction_id: str) -> tuple[Span, object] | None:
        if self._tracer is None:
            return None
        span = self._tracer.start_span(
            "predict",
            attributes={
                "ml.model.name": self.model,
                "ml.model.version": self.version,
                "ml.prediction.id": prediction_id,
            },
        )
        token = otel_context.attach(otel_trace.set_span_in_context(span))
        return span, token


class PredictionScope:
    """One prediction in progress; returned by :meth:`ModelMonitor.predict`."""

    __slots__ = ("_monitor", "_output", "_span", "_start", "features", "id")

    def __init__(
        self, monitor: ModelMonitor, features: Mapping[str, Any] | None, id: str | None
    ) -> None:
        self._monitor = monitor
        self.features = features
        self.id = new_prediction_id() if id is None else id
        self._output: Prediction | None = None
        self._span: tuple[Span, object] | None = None
        self._start = 0.0

    def set(
        self, value: Any, score: float | None = None, predicted_class: str | None = None
    ) -> None:
        """Give the model's output; recorded when the block exits without error."""
        self._output = Prediction(value, score, predicted_class)

    def __enter__(self) -> PredictionScope:
        self._span = self._monitor._start_span(self.id)
        self._start = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        latency = time.perf_counter() - self._start
        span_and_token = self._span
        trace_id = None
        if span_and_token is not None:
            span = span_and_token[0]
            trace_id = format(span.get_span_context().trace_id, "032x")
        if exc is not None:
            self._monitor.record_error(latency)
        elif self._output is not None:
            out = self._output
            self._monitor.record(
                self.features,
                out.value,
                score=out.score,
                predicted_class=out.predicted_class,
                latency_s=latency,
                id=self.id,
                trace_id=trace_id,
            )
        else:
            # No output was given: still a served request, with nothing to log.
            self._monitor._series.success.inc()
            self._monitor._series.latency.observe(latency)
        if span_and_token is not None:
            _end_span(span_and_token, exc, self._output)

    async def __aenter__(self) -> PredictionScope:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)


def _end_span(
    span_and_token: tuple[Span, object], exc: BaseException | None, output: Prediction | None
) -> None:
    span, token = span_and_token
    if exc is not None:
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
    elif output is not None:
        if isinstance(output.value, str | bool | int | float):
            span.set_attribute("ml.prediction.value", output.value)
        if output.score is not None:
            span.set_attribute("ml.prediction.score", float(output.score))
    otel_context.detach(token)  # type: ignore[arg-type]
    span.end()


def _locate_argument(fn: Callable[..., Any], name: str | None) -> tuple[int | None, str]:
    """Position and name of the features argument of ``fn``."""
    params: Sequence[inspect.Parameter] = list(inspect.signature(fn).parameters.values())
    if name is None:
        name = "features" if any(p.name == "features" for p in params) else None
        if name is None:
            if not params:
                raise ConfigError(f"{fn.__qualname__} takes no arguments, so no features")
            name = params[0].name
    for index, param in enumerate(params):
        if param.name == name:
            positional = param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
            return (index if positional else None), name
    raise ConfigError(
        f"{fn.__qualname__} has no argument {name!r}; "
        f"features_arg must be one of {[p.name for p in params]}"
    )


def _argument(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int | None, name: str
) -> Mapping[str, Any] | None:
    if name in kwargs:
        value = kwargs[name]
    elif index is not None and index < len(args):
        value = args[index]
    else:
        return None
    if type(value) is dict or isinstance(value, Mapping):
        return value
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else None
