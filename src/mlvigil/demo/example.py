"""``mlvigil init``: a working ``mlvigil.yaml`` with its reference data, ready to edit."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mlvigil.demo.credit import FEATURES, applicants, decisions, default_probability
from mlvigil.exceptions import ConfigError
from mlvigil.service.auth import write_token_file

MODEL = "credit-risk"

#: The tokens a new configuration gets, each written to ``<name>.token`` beside it:
#: name, scopes, and who uses it.
TOKENS = (
    ("sdk", "ingest", "the model servers' prediction logger"),
    ("on-call", "read, admin", "people: the dashboard, the CLI, silences, evaluating"),
)

TEMPLATE = """\
# mlvigil service configuration: `mlvigil serve --config {config_name}`.
# Every key is documented in the README ("Configuration reference").
store: {store}               # DuckDB file; env MLVIGIL_STORE overrides
host: 127.0.0.1
port: 8000
evaluation_interval: {evaluation_interval}   # how often the scheduler looks for closed windows
lateness: {lateness}              # wait this long after a window closes for late records

models:
  {model}:
    schema:
      id: id
      timestamp: timestamp
      features:
        age: numerical
        income: numerical
        credit_score: numerical
        loan_amount: numerical
        employment_years: numerical
        loan_purpose: categorical
        region: categorical
      prediction: prediction      # 1 = predicted default
      prediction_type: categorical
      score: score                # the probability of default (the positive class)
      target: label               # the true outcome, sent later to /labels
      segments: [region]
    reference:                  # training data; or {{first_windows: 3}}
      path: reference.parquet
      chunk_rows: 1000          # rows of a typical window: limits are learned from chunks
    window: {window}
    checks:
      drift:
        drift_share: 0.5          # the dataset drifts when half the columns do
        correction: bh            # Benjamini-Hochberg across columns: fewer false alarms
      quality:
        completeness:
          default_max_null_rate: 0.02
        schema:
          ranges:
            age: {{min: 18, max: 100}}
            credit_score: {{min: 300, max: 850}}
          allowed:
            loan_purpose: [car, debt_consolidation, education, home, medical, business]
            region: [north, south, east, west]
      performance:
        task: classification
        positive_label: 1
        metrics: [accuracy, precision, recall, f1, roc_auc, log_loss]
        baseline: {{accuracy: {accuracy:.3f}, roc_auc: {roc_auc:.3f}}}
        max_degradation: 0.05
        min_labels: 30
        label_delay: {label_delay}          # labels of a window are final after this
      versions:                 # the records' model_version: versions side by side
        baseline: "1"           # the stable version (default: the one with most rows)
        canary:                 # a verdict per window for every other version
          guards:               # fails when shown to degrade beyond max_degradation
            - {{metric: accuracy, max_degradation: 0.03, min_rows: 50}}
            - {{metric: latency_p99_ms, max_degradation: 10, min_rows: 50}}

alerting:
  default_rules:                # built in: dataset_drift, quality_failure,
    dataset_drift: {{for: 2}}     # performance_degradation, stale_data, no_data
    performance_degradation: {{for: 2, keep_firing_for: 15m}}   # no flapping at the line
    canary_failed: {{keep_firing_for: 15m}}   # nor while a verdict waits for labels
  rules:                        # your own, on any result: here one column's drift
    - name: income_drift
      check: drift
      column: income
      condition: failed         # or "> 0.2", "outside [a, b]"...
      for: 2                    # windows in a row (or a duration: 30m)
      severity: warning
      annotations:
        summary: "{{model}}: income drifted ({{metric}} {{value}})"
{receivers}
slos:                           # objectives and error budgets; see the README, "SLOs"
  - name: {model}-drift-free
    model: {model}
    objective: 95               # percent of the period without dataset drift
    period: 1d
    description: Applicants look like the ones the model was trained on.
    sli: {{drift: {{}}}}
  - name: {model}-accurate
    model: {model}
    objective: 90
    period: 7d
    sli: {{performance: {{metric: accuracy}}}}   # realized once labels are final
  - name: {model}-availability  # from the SDK's metrics: `mlvigil slo export` for Prometheus
    model: {model}
    objective: 99.9
    sli: {{availability: {{}}}}

security:                       # who may do what; see the README, "Security"
  tokens:                       # generated secrets, in files readable by their owner only
{tokens}
  open_reads: {open_reads}             # true: GETs (dashboard, /metrics) need no token
  trusted_hosts: [localhost, 127.0.0.1, "::1"]   # add the names clients reach it by
"""

#: Where alerts go, in a new configuration: an example to uncomment.
RECEIVERS_EXAMPLE = """\
  # receivers:                # webhook, slack, pagerduty, email, alertmanager; actions:
  #                           # http_action, command (README, "Automated responses")
  #   risk-team: {slack: {env: SLACK_WEBHOOK_URL}}
  #   pager: {pagerduty: {env: PAGERDUTY_ROUTING_KEY}}
  # route:                    # as Alertmanager's routing tree
  #   receiver: risk-team
  #   group_by: [alertname, model]
  #   routes:
  #     - {matchers: {severity: "~error|critical"}, receiver: pager, continue: true}
  #     - {receiver: risk-team}
"""

#: The demo's receivers: webhooks on its local on-call stand-in, a retraining trigger
#: on its Airflow stand-in, and the rollback script (:mod:`mlvigil.demo.rollback`).
DEMO_RECEIVERS = """\
  receivers:                  # webhook, slack, pagerduty, email, alertmanager; actions:
    risk-team: {{webhook: "{oncall}/risk-team"}}
    pager: {{webhook: "{oncall}/pager"}}
    retrain:                  # http_action: a templated request, here Airflow's REST API
      http_action:
        url: "{oncall}/airflow/api/v1/dags/retrain_{{labels.model}}/dagRuns"
        body:
          dag_run_id: "{{key}}"         # the idempotency key: the same on every retry
          conf: {{model: "{{labels.model}}", alerts: "{{alerts}}"}}
        already_done: [409]   # Airflow's answer to a run id it has: a retried trigger
    rollback:                 # command: a program, the alerts as JSON on its stdin
      command:
        argv: ["{python}", -m, mlvigil.demo.rollback, deployment.json]
        timeout: 30s
  route:                      # as Alertmanager's routing tree
    receiver: risk-team
    group_by: [alertname, model]
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 1h
    routes:
      - matchers: {{alertname: canary_failed}}
        receiver: rollback
        group_wait: 0s          # act on the evaluation that fires
        continue: true
      - {{matchers: {{alertname: performance_degradation}}, receiver: retrain, continue: true}}
      - {{matchers: {{severity: "~error|critical"}}, receiver: pager, continue: true}}
      - {{receiver: risk-team}}     # and everything to the team
"""


def reference_table(
    columns: dict[str, Any], predicted: list[int], score: list[float], labels: Any
) -> pa.Table:
    """Reference data: features, the model's prediction and score, the true label."""
    data = {name: columns[name] for name in FEATURES}
    return pa.table(
        {
            **data,
            "prediction": [str(p) for p in predicted],
            "score": score,
            "label": [str(int(v)) for v in labels],
        }
    )


def oracle_reference(rows: int = 5_000, seed: int = 11) -> tuple[pa.Table, float, float]:
    """Reference data scored by the true risk (no scikit-learn needed), with its metrics."""
    from mlvigil.checks.performance import classification_metrics

    rng = np.random.default_rng(seed)
    columns = applicants(rows, rng)
    probability = default_probability(columns)
    labels = rng.random(rows) < probability
    predicted, score = decisions(probability)
    metrics = classification_metrics(labels.astype(int), predicted, y_score=probability)
    table = reference_table(columns, predicted, score, labels)
    return table, metrics["accuracy"], metrics["roc_auc"]


def write_example(
    directory: Path,
    *,
    reference: pa.Table | None = None,
    baseline: tuple[float, float] | None = None,
    window: str = "1h",
    label_delay: str = "1d",
    lateness: str = "1m",
    evaluation_interval: str = "30s",
    oncall_url: str | None = None,
    open_reads: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write ``directory/mlvigil.yaml``, ``directory/reference.parquet`` and its tokens.

    Alerts go to webhooks under ``oncall_url`` when given; otherwise the receivers are
    an example to uncomment. Each of :data:`TOKENS` gets a new secret in
    ``directory/<name>.token`` (mode 0600), which the configuration names as its
    ``token_file``.

    Returns
    -------
    The configuration file's path.

    Raises
    ------
    ConfigError
        When the files exist and ``overwrite`` is false.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "mlvigil.yaml"
    if config.exists() and not overwrite:
        raise ConfigError(f"{config} already exists; choose another directory or remove it")
    if reference is None or baseline is None:
        reference, accuracy, roc_auc = oracle_reference()
    else:
        accuracy, roc_auc = baseline
    pq.write_table(reference, directory / "reference.parquet")
    tokens = []
    for name, scopes, used_by in TOKENS:
        write_token_file(directory / f"{name}.token")
        tokens.append(
            f"    - name: {name:<22}# {used_by}\n"
            f"      scopes: [{scopes}]\n"
            f"      token_file: {name}.token"
        )
    config.write_text(
        TEMPLATE.format(
            config_name=config.name,
            store="mlvigil.duckdb",
            model=MODEL,
            window=window,
            label_delay=label_delay,
            lateness=lateness,
            evaluation_interval=evaluation_interval,
            accuracy=accuracy,
            roc_auc=roc_auc,
            receivers=DEMO_RECEIVERS.format(oncall=oncall_url, python=sys.executable)
            if oncall_url
            else RECEIVERS_EXAMPLE,
            tokens="\n".join(tokens),
            open_reads="true" if open_reads else "false",
        )
    )
    return config
