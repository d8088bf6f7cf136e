"""The overview's SQL: every model's health in one query, whatever the number of models.

:func:`model_health` reads, for all the models asked at once, what each model's row of
the overview shows and what its status is decided from: its windows (how many, the
latest), its current results (those of its latest window; performance: of its latest
window whose labels are final) summed up (drift share, quality failures, errors), the
window its performance was last measured on and the label coverage there. A model's
errors and performance metrics come as lists, turned into Python only for the models
of the page shown. :func:`active_alerts` reads the pending and firing alerts only: a
store of 10,000 models keeps hundreds of thousands of inactive alert states, and
parsing every one in Python (:meth:`MonitoringService.alerts`) takes seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from mlvigil.alerts.silences import Silence, muted
from mlvigil.alerts.state import AlertState
from mlvigil.checks.result import QUALITY_CHECKS
from mlvigil.service.store import Store

__all__ = ["active_alerts", "model_health"]

_QUALITY = ", ".join(f"'{c.value}'" for c in sorted(QUALITY_CHECKS))

#: The models asked, in the order given (``?``: a list of names).
_CHOSEN = """
chosen AS (
    SELECT unnest(names) AS model, generate_subscripts(names, 1) AS ord
    FROM (SELECT ?::VARCHAR[] AS names)
)"""

#: Each model's windows: how many, the latest, the latest whose labels are final.
_LATEST = """
latest AS (
    SELECT model, count(*) AS windows, max(window_start) AS start,
           arg_max(window_end, window_start) AS window_end,
           arg_max(rows, window_start) AS rows,
           arg_max(labelled, window_start) AS labelled,
           arg_max(labels_final, window_start) AS labels_final,
           max(window_start) FILTER (WHERE labels_final) AS final,
           arg_max(rows, window_start) FILTER (WHERE labels_final) AS final_rows,
           arg_max(labelled, window_start) FILTER (WHERE labels_final) AS final_labelled
    FROM windows WHERE model IN (SELECT model FROM chosen)
    GROUP BY model
)"""


def _current(name: str = "current", columns: str = "", where: str = "true") -> str:
    """The results :meth:`Store.latest_results` hands back (with ``where``), and ``seq``.

    ``seq`` orders the results as the store does within a window.
    """
    picked = (
        'r.model, r."check", r.metric, r."column", r.value, r.threshold, r.status, '
        f"r.severity, r.segment, r.rowid AS seq{columns}"
    )
    return f"""
{name} AS MATERIALIZED (
    SELECT {picked}
    FROM results r JOIN latest l ON r.model = l.model AND r.window_start = l.start
    WHERE r."check" <> 'performance' AND {where}
    UNION ALL
    SELECT {picked}
    FROM results r JOIN latest l ON r.model = l.model AND r.window_start = l.final
    WHERE r."check" = 'performance' AND {where}
)"""


#: The latest window with a measured performance metric, per model (any segment).
_MEASURED = """
measured AS (
    SELECT model, max(window_start) AS start FROM results
    WHERE model IN (SELECT model FROM chosen) AND "check" = 'performance'
      AND metric <> 'label_coverage' AND status IN ('passed', 'failed')
    GROUP BY model
)"""

_FAILURES = _current(
    "failures", ", r.message, r.window_start", "r.status = 'error' AND r.severity <> 'info'"
)

_HEALTH = f"""
WITH {_CHOSEN}, {_LATEST}, {_current()}, {_FAILURES}, {_MEASURED},
summed AS (
    SELECT model,
           count(*) FILTER (WHERE "check" IN ({_QUALITY})) AS quality_total,
           count(*) FILTER (WHERE "check" IN ({_QUALITY}) AND status <> 'passed')
               AS quality_failed
    FROM current GROUP BY model
),
shares AS (
    SELECT model, arg_min(value, key) AS share, arg_min(threshold, key) AS threshold,
           arg_min(status, key) AS status
    FROM (SELECT *, CAST(segment IS NOT NULL AS BIGINT) * 4611686018427387904 + seq AS key
          FROM current WHERE metric = 'drift_share')
    GROUP BY model
),
errors AS (
    SELECT model, count(*) AS errors,
           list({{'check': "check", 'metric': metric, 'column': "column", 'segment': segment,
                  'message': message, 'window_start': window_start}}
                ORDER BY "check" = 'performance', "check", metric, "column",
                         segment NULLS FIRST, seq) AS error_list
    FROM failures GROUP BY model
),
performance AS (
    SELECT r.model, count(*) FILTER (WHERE r.status <> 'passed') AS failed,
           list({{'metric': r.metric, 'value': r.value, 'threshold': r.threshold,
                  'status': r.status, 'window_start': r.window_start}} ORDER BY r.metric)
               AS metrics
    FROM results r JOIN measured m ON r.model = m.model AND r.window_start = m.start
    WHERE r."check" = 'performance' AND r.segment IS NULL AND r.metric <> 'label_coverage'
    GROUP BY r.model
)
SELECT c.model, l.windows, l.start, l.window_end, l.rows, l.labelled, l.labels_final,
       d.share AS drift_share, d.threshold AS drift_threshold, d.status AS drift_status,
       s.quality_failed, s.quality_total, e.errors, e.error_list,
       m.start AS measured, p.failed AS performance_failed, p.metrics AS performance,
       CASE WHEN w.window_start IS NOT NULL THEN w.labelled ELSE l.final_labelled END
           AS covered_labelled,
       CASE WHEN w.window_start IS NOT NULL THEN w.rows ELSE l.final_rows END AS covered_rows
FROM chosen c
LEFT JOIN latest l USING (model)
LEFT JOIN summed s USING (model)
LEFT JOIN shares d USING (model)
LEFT JOIN errors e USING (model)
LEFT JOIN measured m USING (model)
LEFT JOIN performance p USING (model)
LEFT JOIN windows w ON w.model = c.model AND w.window_start = m.start
ORDER BY c.ord
"""


def model_health(store: Store, models: Sequence[str]) -> pa.Table:
    """One row per model of ``models``, in that order: its windows and results summed up.

    Columns: ``model``; ``windows`` (null without any) and the latest window's
    ``start``, ``window_end``, ``rows``, ``labelled``, ``labels_final``;
    ``drift_share``, ``drift_threshold``, ``drift_status`` (null without a drift
    share); ``quality_failed`` and ``quality_total``; ``errors``, how many results
    could not be computed (informational ones left out), and ``error_list``, those
    results (``check``, ``metric``, ``column``, ``segment``, ``message``,
    ``window_start``) as :meth:`Store.latest_results` orders them; ``measured``, the
    start of the latest window with a measured performance metric, ``performance``,
    its metrics by name (``metric``, ``value``, ``threshold``, ``status``,
    ``window_start``), and ``performance_failed``, how many failed;
    ``covered_labelled`` and ``covered_rows``: the labels and rows of that window,
    else of the latest one whose labels are final.
    """
    return store.read_table(_HEALTH, [list(models)])


_ACTIVE = """
SELECT state FROM alert_state
WHERE json_extract_string(state, '$.state') IN (?, ?)
"""


def active_alerts(store: Store, silences: Sequence[Silence], now: datetime) -> list[dict[str, Any]]:
    """Alerts pending or firing now, each saying whether a silence mutes it.

    What :meth:`MonitoringService.alerts` answers, with the other states left out in
    SQL (DuckDB reads the JSON; Python parses the few active ones).
    """
    rows = store.read(_ACTIVE, [AlertState.PENDING.value, AlertState.FIRING.value]).fetchall()
    alerts = [orjson.loads(state) for (state,) in rows]
    return [{**alert, "silenced": muted(alert["labels"], silences, now)} for alert in alerts]
