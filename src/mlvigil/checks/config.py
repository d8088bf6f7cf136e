"""Quality checks configured in YAML: validation at the edge, frozen dataclasses inside.

The pydantic models (:mod:`mlvigil.checks.quality.yaml_schema`) forbid unknown
keys, so a typo fails loudly instead of silently switching a check off. All
validation problems are reported in one :class:`~mlvigil.exceptions.ConfigError`,
one line per problem, each naming the file and the key path::

    quality.yaml: completeness.colums: unknown key; did you mean 'columns'?

A valid file becomes a :class:`~mlvigil.checks.quality.options.QualityConfig`.
The sections, all optional::

    completeness:
      default_max_null_rate: 0.05          # every column not listed below
      columns: {user_id: 0.0, amount: 0.05}
    uniqueness:
      keys: [[user_id], [order_id, line]]  # a flat list [a, b] is ONE composite key
      max_duplicate_rate: 0.0
    schema:
      required: [user_id, amount]
      types: {amount: numerical, country: categorical}
      allowed: {country: [US, DE, FR]}
      max_unexpected_rate: 0.0
      ranges: {amount: {min: 0, max: 10000, max_rate: 0.0}}
      allow_extra_columns: true
    outliers:
      columns:
        amount: {method: iqr, k: 1.5, max_rate: 0.01}
        latency: {method: zscore, n_std: 3}
    freshness: {column: event_time, max_age: 24h}   # or 30m, 2d, 1h30m, seconds
    volume: {min_rows: 1000, max_rows: 1000000, history: [], max_deviation: 0.5}
    drift:
      reference: data/reference.parquet   # relative to this file's folder
      columns: null                       # default: the columns both tables have
      method: null
      threshold: null
      drift_share: 0.5
      correction: null                    # bonferroni or bh
    severity: {freshness: critical}       # per check: info, warning, error, critical
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mlvigil.checks.drift import DriftConfig
from mlvigil.checks.quality.options import (
    CompletenessConfig,
    DriftCheckConfig,
    FreshnessConfig,
    OutlierRule,
    OutliersConfig,
    QualityConfig,
    RangeRule,
    SchemaConfig,
    UniquenessConfig,
    VolumeConfig,
)
from mlvigil.checks.quality.yaml_schema import QualityConfigModel
from mlvigil.exceptions import ConfigError
from mlvigil.yaml_config import field_names, read_yaml, validation_message

__all__ = ["QualityConfigModel", "load_quality_config", "parse_quality_config"]

# ---------------------------------------------------------------- error messages


# ---------------------------------------------------------------- conversion


def _to_config(model: QualityConfigModel, base_dir: Path | None, source: str) -> QualityConfig:
    drift = None
    if model.drift is not None:
        d = model.drift
        reference = Path(d.reference).expanduser()
        if base_dir is not None and not reference.is_absolute():
            reference = base_dir / reference
        if not reference.exists():
            raise ConfigError(f"{source}: drift.reference: no such file: {reference}")
        drift = DriftCheckConfig(
            reference=reference,
            config=DriftConfig(
                method=d.method,
                threshold=d.threshold,
                drift_share=d.drift_share,
                correction=d.correction,
            ),
            columns=d.columns,
        )
    severity = model.severity.model_dump(exclude_none=True, by_alias=True) if model.severity else {}
    c, u, s, o = model.completeness, model.uniqueness, model.schema_, model.outliers
    return QualityConfig(
        completeness=None if c is None else CompletenessConfig(c.columns, c.default_max_null_rate),
        uniqueness=None if u is None else UniquenessConfig(u.keys, u.max_duplicate_rate),
        schema=None
        if s is None
        else SchemaConfig(
            required=s.required,
            types=s.types,
            allowed=s.allowed,
            ranges={c: RangeRule(r.min, r.max, r.max_rate) for c, r in s.ranges.items()},
            allow_extra_columns=s.allow_extra_columns,
            max_unexpected_rate=s.max_unexpected_rate,
        ),
        outliers=None
        if o is None
        else OutliersConfig(
            {
                column: OutlierRule(
                    rule.method,
                    n_std=3.0 if rule.n_std is None else rule.n_std,
                    k=1.5 if rule.k is None else rule.k,
                    max_rate=rule.max_rate,
                )
                for column, rule in o.columns.items()
            }
        ),
        freshness=None
        if model.freshness is None
        else FreshnessConfig(model.freshness.column, model.freshness.max_age),
        volume=None
        if model.volume is None
        else VolumeConfig(
            model.volume.min_rows,
            model.volume.max_rows,
            model.volume.history,
            model.volume.max_deviation,
        ),
        drift=drift,
        severity=severity,
    )


def parse_quality_config(
    data: Any, *, source: str = "config", base_dir: str | Path | None = None
) -> QualityConfig:
    """Validate a configuration given as plain data (parsed YAML or JSON).

    Parameters
    ----------
    data
        A mapping of sections, as in the module documentation.
    source
        Names the configuration in error messages (e.g. its file name).
    base_dir
        Folder that relative paths (``drift.reference``) are resolved against;
        default: the working directory.

    Raises
    ------
    ConfigError
        Listing every problem, one per line, with its key path.

    Examples
    --------
    >>> config = parse_quality_config({"completeness": {"columns": {"age": 0.1}}})
    >>> config.completeness.columns["age"]
    0.1
    >>> try:
    ...     parse_quality_config({"completeness": {"colums": {}}}, source="quality.yaml")
    ... except ConfigError as error:
    ...     print(error)
    quality.yaml: completeness.colums: unknown key; did you mean 'columns'?
    """
    if not isinstance(data, Mapping):
        sections = ", ".join(field_names(QualityConfigModel))
        raise ConfigError(
            f"{source}: expected a mapping of check sections ({sections}), "
            f"got {type(data).__name__}"
        )
    try:
        model = QualityConfigModel.model_validate(data)
    except ValidationError as error:
        raise ConfigError(validation_message(error, QualityConfigModel, source)) from None
    return _to_config(model, Path(base_dir) if base_dir is not None else None, source)


def load_quality_config(path: str | Path) -> QualityConfig:
    """Read a YAML quality configuration; relative paths in it are relative to its folder.

    Raises
    ------
    ConfigError
        When the file is missing, is not valid YAML, or does not validate; the
        message names the file, the key path and what is allowed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder, "quality.yaml")
    ...     _ = path.write_text("volume: {min_rows: 1}")
    ...     load_quality_config(path).volume.min_rows
    1
    """
    path = Path(path)
    data = read_yaml(path, "quality configuration")
    if data is None:
        raise ConfigError(f"{path}: the file is empty; configure at least one check")
    return parse_quality_config(data, source=str(path), base_dir=path.parent)
