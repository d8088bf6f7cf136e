"""The service's result gauges in SQL: every model's series in one query, as exposition text.

:func:`mlvigil.checks.export.result_families` turns :class:`~mlvigil.checks.result.CheckResult`
objects into gauges one result at a time; for 10,000 models of 20 features that is half
a million results, a million samples and several seconds of Python per scrape. Here
the same mapping is one DuckDB query over the ``results`` and ``windows`` tables:
each model's latest window (performance: its latest window whose labels are final),
then one ``SELECT`` per gauge of :data:`mlvigil.catalog.RESULT_METRICS`, then the
window gauges. DuckDB also renders each sample as its exposition line, with
prometheus-client's label escaping, label order and number format (its
``floatToGoString``), so the text is byte for byte what ``generate_latest`` would write
for the same series. The tests hold both mappings to the same output.

Where several results share one series' labels the last stored wins, as in
``result_families``; ``mlvigil_quality_check_passed`` is the minimum of its results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlvigil import catalog
from mlvigil.catalog import Metric
from mlvigil.checks.result import QUALITY_CHECKS

__all__ = ["GAUGES", "exposition_sql", "samples_sql"]

#: The label columns of a sample after ``model``, in the order of the metric's labels.
_EXTRA = ("a", "b", "c")

_QUALITY = ", ".join(f"'{c.value}'" for c in sorted(QUALITY_CHECKS))
_FAILED = "CASE WHEN status = 'failed' THEN 1.0 ELSE 0.0 END"
#: A window's result of ``results`` that no segment qualifies.
_WHOLE = "segment IS NULL"
_VALUED = f"{_WHOLE} AND value IS NOT NULL"


@dataclass(frozen=True)
class _Gauge:
    """One gauge: which current results feed it, its labels after ``model``, its value."""

    metric: Metric
    where: str
    labels: tuple[str, ...] = ()
    value: str = "value"
    #: ``last``: the last stored result wins; ``min``: the lowest value.
    reduce: str = "last"


#: The result gauges, as :func:`mlvigil.checks.export.result_families` builds them.
GAUGES: tuple[_Gauge, ...] = (
    _Gauge(
        catalog.DRIFT_SCORE,
        f"{_VALUED} AND \"check\" = 'drift' AND metric <> 'drift_share' AND \"column\" IS NOT NULL",
        ("{column}", "{metric}"),
    ),
    _Gauge(
        catalog.COLUMN_DRIFTED,
        f"{_VALUED} AND \"check\" = 'drift' AND metric <> 'drift_share' AND \"column\" IS NOT NULL",
        ("{column}",),
        _FAILED,
    ),
    _Gauge(catalog.DRIFT_SHARE, f"{_VALUED} AND \"check\" = 'drift' AND metric = 'drift_share'"),
    _Gauge(
        catalog.DATASET_DRIFT,
        f"{_VALUED} AND \"check\" = 'drift' AND metric = 'drift_share'",
        value=_FAILED,
    ),
    _Gauge(
        catalog.NULL_RATE,
        f"{_VALUED} AND \"check\" = 'completeness' AND metric = 'null_rate'",
        ("coalesce({column}, '')",),
    ),
    _Gauge(
        catalog.DUPLICATE_RATE,
        f"{_VALUED} AND \"check\" = 'uniqueness' AND metric = 'duplicate_rate'",
        ("coalesce({column}, '')",),
    ),
    _Gauge(
        catalog.DATA_FRESHNESS_HOURS,
        f"{_VALUED} AND \"check\" = 'freshness' AND metric = 'freshness_hours'",
    ),
    _Gauge(
        catalog.QUALITY_CHECK_PASSED,
        f"{_WHOLE} AND \"check\" IN ({_QUALITY}) AND status <> 'error'",
        ("{check}", "{metric}", "coalesce({column}, '')"),
        "CASE WHEN status = 'passed' THEN 1.0 ELSE 0.0 END",
        "min",
    ),
    _Gauge(
        catalog.CHECK_ERROR,
        f"{_WHOLE} AND status = 'error' AND severity <> 'info'",
        ("{check}", "{metric}", "coalesce({column}, '')"),
        "1.0",
        "min",
    ),
    _Gauge(
        catalog.PERFORMANCE,
        f"{_VALUED} AND \"check\" = 'performance' AND metric <> 'label_coverage'",
        ("{metric}",),
    ),
    _Gauge(
        catalog.LABEL_COVERAGE,
        f"{_VALUED} AND \"check\" = 'performance' AND metric = 'label_coverage'",
    ),
    _Gauge(
        catalog.SEGMENT_PERFORMANCE,
        "segment IS NOT NULL AND value IS NOT NULL AND \"check\" = 'performance'",
        ("{segment}", "{metric}"),
    ),
    _Gauge(catalog.ESTIMATED_PERFORMANCE, f"{_VALUED} AND \"check\" = 'estimation'", ("{metric}",)),
    _Gauge(
        catalog.MULTIVARIATE_DRIFT,
        f"{_VALUED} AND \"check\" = 'drift' AND metric <> 'drift_share' AND \"column\" IS NULL",
        ("{metric}",),
    ),
    _Gauge(
        catalog.SEGMENT_DATASET_DRIFT,
        "segment IS NOT NULL AND value IS NOT NULL AND \"check\" = 'drift' "
        "AND metric = 'drift_share'",
        ("{segment}",),
        _FAILED,
    ),
    _Gauge(
        catalog.WINDOW_LATENCY_SECONDS,
        f"{_VALUED} AND \"check\" = 'serving' AND quantile IS NOT NULL",
        ("{quantile}",),
        "value / 1000",
    ),
    _Gauge(catalog.BUSINESS_METRIC, f"{_VALUED} AND \"check\" = 'business'", ("{metric}",)),
    _Gauge(
        catalog.SEGMENT_BUSINESS_METRIC,
        "segment IS NOT NULL AND value IS NOT NULL AND \"check\" = 'business'",
        ("{segment}", "{metric}"),
    ),
    _Gauge(
        catalog.VERSION_DIFFERENCE,
        "segment IS NOT NULL AND value IS NOT NULL AND \"check\" = 'comparison'",
        ("{segment}", "{metric}"),
    ),
    _Gauge(
        catalog.CANARY_VERDICT,
        "segment IS NOT NULL AND value IS NOT NULL AND \"check\" = 'canary'",
        ("{segment}",),
    ),
)

#: The per-model gauges after the result gauges, and what they read from ``latest``.
WINDOW_GAUGES: tuple[tuple[Metric, str], ...] = (
    (catalog.WINDOW_ROWS, "CAST(rows AS DOUBLE)"),
    (catalog.LAST_WINDOW_END, "epoch_us(window_end) / 1e6"),
)

#: Each gauge's index in the query's ``g`` column: the order of the exposition.
ORDER: tuple[Metric, ...] = (
    *(g.metric for g in GAUGES),
    *(m for m, _ in WINDOW_GAUGES),
    catalog.LABEL_LAG_SECONDS,
)

#: The label columns of the results, as read (for the collector) or as the exposition
#: writes them (for the text): escaped once per result, not once per sample.
_RAW = {"check": '"check"', "metric": "metric", "column": '"column"', "segment": "segment"}
_ESCAPED = {"check": '"check"', "metric": "e_metric", "column": "e_column", "segment": "e_segment"}


def _escaped(sql: str) -> str:
    """A label value as the exposition writes it: backslash, newline and quote escaped.

    Most values have none of them: those are left as they are, unscanned by
    ``replace``.
    """
    escape = f"replace(replace(replace({sql}, '\\', '\\\\'), chr(10), '\\n'), '\"', '\\\"')"
    special = f"contains({sql}, '\\') OR contains({sql}, '\"') OR contains({sql}, chr(10))"
    return f"CASE WHEN {special} THEN {escape} ELSE {sql} END"


def _current(text: bool) -> str:
    """The models' current results (``?``: the models), ``text``: with escaped labels.

    Parameters, in order: the models (a list), then the models with a label lag and
    their lags (two lists of the same length).
    """
    model = f", {_escaped('model')} AS e_model" if text else ""
    escaped = (
        f", {_escaped('metric')} AS e_metric, {_escaped(chr(34) + 'column' + chr(34))} AS e_column"
        f", {_escaped('segment')} AS e_segment"
        if text
        else ""
    )
    picked = (
        'r.model, r."check", r.metric, r."column", r.value, r.status, r.severity, '
        "r.segment, r.rowid AS seq"
    )
    label = "e_model" if text else "model"
    return f"""
WITH chosen AS (SELECT unnest(?::VARCHAR[]) AS model),
latest AS MATERIALIZED (
    SELECT model{model}, max(window_start) AS start,
           max(window_start) FILTER (WHERE labels_final) AS final,
           arg_max(rows, window_start) AS rows,
           arg_max(window_end, window_start) AS window_end
    FROM windows WHERE model IN (SELECT model FROM chosen)
    GROUP BY model
),
picked AS (
    SELECT {picked}, l.{label} AS label
    FROM results r JOIN latest l ON r.model = l.model AND r.window_start = l.start
    WHERE r."check" <> 'performance'
    UNION ALL
    SELECT {picked}, l.{label} AS label
    FROM results r JOIN latest l ON r.model = l.model AND r.window_start = l.final
    WHERE r."check" = 'performance'
),
current AS MATERIALIZED (SELECT *{escaped} FROM picked),
lags AS (
    SELECT l.model, l.lag, {_escaped("l.model") if text else "l.model"} AS label
    FROM (SELECT unnest(?::VARCHAR[]) AS model, unnest(?::DOUBLE[]) AS lag) l
),
served AS (
    SELECT *, printf('%g', TRY_CAST(regexp_replace(regexp_replace(metric, '^latency_p', ''),
                                                   '_ms$', '') AS INTEGER) / 100.0) AS quantile
    FROM current WHERE "check" = 'serving'
)
"""


def _source(gauge: _Gauge) -> str:
    return "served" if gauge.metric is catalog.WINDOW_LATENCY_SECONDS else "current"


def _samples(text: bool) -> str:
    """Every sample as ``(g, model, a, b, c, value)``, ``g`` its gauge's index in ORDER.

    ``model`` is the model's label (escaped, with ``text``), ``a``, ``b``, ``c`` the
    other labels.
    """
    names = {**(_ESCAPED if text else _RAW), "quantile": "quantile"}
    selects = []
    for index, gauge in enumerate(GAUGES):
        given = [sql.format(**names) for sql in gauge.labels]
        labels = [*given, *["NULL"] * (len(_EXTRA) - len(given))]
        named = ", ".join(f"{sql} AS {name}" for sql, name in zip(labels, _EXTRA, strict=True))
        value = f"min({gauge.value})" if gauge.reduce == "min" else f"arg_max({gauge.value}, seq)"
        selects.append(
            f"SELECT {index} AS g, label AS model, {named}, {value} AS value "
            f"FROM {_source(gauge)} WHERE {gauge.where} GROUP BY ALL"
        )
    label = "e_model" if text else "model"
    for offset, (_, value) in enumerate(WINDOW_GAUGES):
        selects.append(
            f"SELECT {len(GAUGES) + offset}, {label}, NULL, NULL, NULL, {value} FROM latest"
        )
    selects.append(f"SELECT {len(ORDER) - 1}, label, NULL, NULL, NULL, lag FROM lags")
    return "\nUNION ALL ".join(selects)


def samples_sql() -> str:
    """The query of every sample: ``(g, model, a, b, c, value)``, by gauge and labels.

    ``g`` is the gauge's index in :data:`ORDER`; ``a``, ``b`` and ``c`` its labels
    after ``model``, in the order of the metric's labels (``NULL`` past them).
    Parameters: the models, the models with a label lag, their lags (three lists).
    """
    return f"{_current(False)}, samples AS ({_samples(False)})\nSELECT * FROM samples ORDER BY ALL"


def _go_float() -> str:
    """``value`` as prometheus-client's ``floatToGoString`` writes it.

    DuckDB casts a double to its shortest round-trip text, as Python's ``repr`` does;
    like Go, large numbers switch to an exponent (``1.764576e+09``). The 0s and 1s of
    the verdict gauges, half the samples, are written without a cast.
    """
    mantissa = "left(text, 1) || '.' || substr(text, 2, dot - 2) || substr(text, dot + 1)"
    exponent = "lpad(CAST(dot - 2 AS VARCHAR), 2, '0')"
    return (
        f"CASE WHEN {_ONE} THEN '1.0' WHEN {_ZERO} THEN '0.0' WHEN isnan(value) THEN 'NaN' "
        "WHEN isinf(value) AND value > 0 THEN '+Inf' WHEN isinf(value) THEN '-Inf' "
        f"WHEN value > 0 AND dot > 7 THEN rtrim({mantissa}, '0.') || 'e+' || {exponent} "
        "ELSE text END"
    )


_ONE, _ZERO = "value = 1", "(value = 0 AND NOT signbit(value))"
#: Each sample's value as text (unless 0 or 1) and where its decimal point is.
_TEXTS = f"""
texts AS (
    SELECT *, CASE WHEN {_ONE} OR {_ZERO} THEN NULL ELSE CAST(value AS VARCHAR) END AS text
    FROM samples
),
dots AS (SELECT *, strpos(text, '.') AS dot FROM texts)"""


def _line(metric: Metric) -> str:
    """The SQL of a sample's exposition line up to its value: ``name{labels} ``."""
    columns: Mapping[str, str] = dict(zip(metric.labels, ("model", *_EXTRA), strict=False))
    parts = []
    for position, name in enumerate(sorted(columns)):
        start = f"{metric.name}{{" if position == 0 else ","
        parts += [f"'{start}{name}=\"'", columns[name], "'\"'"]
    return ", ".join([*parts, "'} '"])


def exposition_sql() -> str:
    """The query of the exposition text of each gauge: ``(g, text)``, one row per gauge.

    ``g`` is the gauge's index in :data:`ORDER`, ``text`` its sample lines (in no
    particular order); a gauge without samples has no row. Same parameters as
    :func:`samples_sql`.
    """
    cases = " ".join(
        f"WHEN {index} THEN concat({_line(metric)}, {_go_float()}, chr(10))"
        for index, metric in enumerate(ORDER)
    )
    return (
        f"{_current(True)}, samples AS ({_samples(True)}), {_TEXTS}\n"
        f"SELECT g, string_agg(CASE g {cases} END, '') AS text FROM dots GROUP BY g"
    )
