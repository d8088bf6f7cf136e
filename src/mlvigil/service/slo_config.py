"""The ``slos:`` section of ``mlvigil.yaml``, checked against the models it names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mlvigil.exceptions import ConfigError
from mlvigil.slo.spec import SLO, SLIKind, SLOModel

if TYPE_CHECKING:  # the configuration imports this module to check its SLOs
    from mlvigil.service.config import ModelConfig

__all__ = ["resolve_slos"]


def _problem(slo: SLO, model: ModelConfig) -> str | None:
    """Why the model cannot give this SLO's SLI, if it cannot."""
    kind = slo.sli.kind
    if kind is SLIKind.PERFORMANCE:
        if model.performance is None and model.estimation is None:
            return "a performance SLI needs checks.performance or checks.estimation"
    elif kind is SLIKind.LABEL_COVERAGE and model.performance is None:
        return "a label_coverage SLI needs checks.performance (labels joined to windows)"
    elif kind is SLIKind.QUALITY and model.quality is None:
        return "a quality SLI needs checks.quality"
    elif kind is SLIKind.FRESHNESS and (model.quality is None or model.quality.freshness is None):
        return "a freshness SLI needs checks.quality.freshness"
    elif kind is SLIKind.DRIFT and model.drift is None:
        return "a drift SLI needs checks.drift"
    return None


def resolve_slos(
    entries: Sequence[SLOModel], models: Mapping[str, ModelConfig], source: str
) -> tuple[SLO, ...]:
    """The SLOs declared, each checked against its model.

    Raises
    ------
    ConfigError
        Listing every problem (an unknown model, a repeated name, an SLI the model's
        checks do not produce) with its key path.
    """
    problems, slos = [], []
    names = [entry.name for entry in entries]
    for index, entry in enumerate(entries):
        where = f"{source}: slos[{index}] ({entry.name})"
        if names.count(entry.name) > 1:
            problems.append(f"{where}: the name is used by another SLO; names must be unique")
        slo = entry.resolve()
        model = models.get(slo.model)
        if model is None:
            problems.append(f"{where}: unknown model {slo.model!r}; models: {', '.join(models)}")
            continue
        problem = _problem(slo, model)
        if problem is not None:
            problems.append(f"{where}: {problem} for model {slo.model!r}")
        slos.append(slo)
    if problems:
        raise ConfigError("\n".join(dict.fromkeys(problems)))
    return tuple(slos)
