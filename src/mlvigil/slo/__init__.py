"""Service-level objectives for models: serving SLIs, model-quality SLIs, error budgets.

- :mod:`.spec`: the ``slos:`` section of ``mlvigil.yaml`` and the :class:`SLO` it gives;
- :mod:`.windows`: the multiwindow, multi-burn-rate alert windows, scaled with the period;
- :mod:`.prometheus`: recording and alerting rules (``mlvigil slo export``);
- :mod:`.budget`: error ratios, burn rates and budget of a model SLI from its windows.
"""

from __future__ import annotations

from mlvigil.slo.prometheus import slo_rules
from mlvigil.slo.spec import SLI, SLO, SLIKind, SLOModel
from mlvigil.slo.windows import BurnWindow, burn_windows, error_ratio_windows

__all__ = [
    "SLI",
    "SLO",
    "BurnWindow",
    "SLIKind",
    "SLOModel",
    "burn_windows",
    "error_ratio_windows",
    "slo_rules",
]
