"""A window's performance results from its :class:`PerformanceState`, as from rows.

The state is judged with the model's performance options (baselines, learned limits,
``min_labels``) into the same :class:`~mlvigil.checks.result.CheckResult` rows as
:func:`~mlvigil.checks.performance.performance_results` gives for labelled rows; a
state summarised from raw labels is first named in the reference's classes.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mlvigil.checks.classes import ClassSet
from mlvigil.checks.performance import PerformanceConfig, judged_results
from mlvigil.checks.performance_state import PerformanceState, label_order
from mlvigil.checks.result import CheckResult

__all__ = ["in_classes", "state_results"]


def in_classes(state: PerformanceState, classes: ClassSet) -> PerformanceState:
    """The same state with its labels as ``classes`` names them (``1`` as ``'1'``).

    The service keeps a classifier's classes as the reference's text; a job that
    summarised raw labels (integers, say) is judged in those names, as its rows
    would be after mapping. Labels that name one class merge.
    """
    if state.task == "regression":
        return state
    names = [classes.canonical(label) for label in state.classes]
    if names == list(state.classes):
        return state
    order = sorted(set(names), key=label_order)
    where = np.array([order.index(name) for name in names], dtype=np.int64)
    confusion = np.zeros((len(order), len(order)), np.int64)
    for i, j in np.ndindex(*state.confusion.shape):
        confusion[where[i], where[j]] += state.confusion[i, j]
    positive = None if state.positive is None else classes.canonical(state.positive)
    return replace(
        state,
        classes=tuple(order),
        confusion=confusion,
        positive=positive,
        score_classes=tuple(classes.canonical(c) for c in state.score_classes),
    )


def state_results(
    config: PerformanceConfig, state: PerformanceState, *, classes: ClassSet | None = None
) -> list[CheckResult]:
    """A window's performance results from its state, as ``performance_results`` gives.

    Label coverage, then each configured metric judged against its baseline or
    learned limits; too few labels, or scores that cannot mean what they are
    declared to mean, give error results as from rows.

    Examples
    --------
    >>> from mlvigil.checks.performance_state import PerformanceState
    >>> state = PerformanceState.of_arrays(y_true=[1, 0, 1, 1, None, None, None, None],
    ...                                    y_pred=[1, 0, 0, 1, 1, 1, 0, 0])
    >>> config = PerformanceConfig(metrics=("accuracy",), baseline={"accuracy": 0.9},
    ...                            min_labels=1)
    >>> [(r.metric, r.value, r.status.value) for r in state_results(config, state)]
    [('label_coverage', 0.5, 'passed'), ('accuracy', 0.75, 'failed')]
    """
    return judged_results(
        config, state.labelled, state.rows, lambda: state.measurement(config, classes)
    )
