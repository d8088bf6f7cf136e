"""Multivariate drift: changes in how columns relate, which column-by-column tests miss.

Univariate drift compares each column's distribution on its own; a change in the
relation between columns (a correlation that flips, a combination of values that
becomes common) can leave every column's distribution as it was. The methods here
judge the columns together:

- ``reconstruction_error`` (:mod:`.reconstruction`): how badly the reference's
  principal components rebuild a window's rows;
- ``domain_classifier`` (:mod:`.domain`): how well a gradient-boosted classifier tells
  a window's rows from the reference's (cross-validated ROC AUC; importances say which
  columns separate them);
- ``mmd`` (:mod:`.mmd`): a kernel two-sample test, for embedding columns (lists of
  numbers) and usable on the tabular columns too.

:func:`multivariate_drift` runs them on a table, whole or in chunks;
:class:`MultivariateDetector` is fitted once on a reference and evaluates windows (the
monitoring service's path). Every finding is a
:class:`~mlvigil.checks.result.CheckResult` of kind ``drift`` with
:class:`~mlvigil.checks.details.MultivariateDetails`.
"""

from mlvigil.multivariate.api import multivariate_drift
from mlvigil.multivariate.detector import MultivariateConfig, MultivariateDetector
from mlvigil.multivariate.report import MultivariateChunk, MultivariateReport

__all__ = [
    "MultivariateChunk",
    "MultivariateConfig",
    "MultivariateDetector",
    "MultivariateReport",
    "multivariate_drift",
]
