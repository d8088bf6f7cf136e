"""Reconstruction error: how badly the reference's principal components rebuild a window.

PCA (scikit-learn) is fitted on the encoded reference (see
:mod:`mlvigil.multivariate.encoding`), keeping the fewest components that hold a share
of the variance (65% by default), and never every component, so some residual is always
left to measure. A row's error is the distance between it and its reconstruction,
``‖x − inverse(transform(x))‖₂``; a window's value is the mean error of its rows. When
the relations between columns change (a correlation flips) the rows leave the plane the
components span and the error grows, even if no column's own distribution moved.

The value's standard error is the reference's row-level standard deviation of the error
÷ √rows (band: ± 3 standard errors). A window drifts above the upper limit learned from
reference chunks of the window's size (:class:`~mlvigil.checks.limits.LearnedLimits`,
the mean error of each chunk); without chunks the limit is the reference mean error
+ 3 standard errors at the window's rows. A window below the lower limit fits the
reference's structure better than its chunks did: reported, never a drift.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mlvigil.checks.chunks import Chunk
from mlvigil.checks.limits import SIGMAS, LearnedLimits
from mlvigil.checks.thresholds import learning_chunks

__all__ = ["ReconstructionModel"]


@dataclass(frozen=True)
class ReconstructionModel:
    """Principal components of the encoded reference and its errors.

    Attributes
    ----------
    center
        The mean the components are centred on.
    components
        The kept components, one per row (orthonormal).
    variance_kept
        Share of the reference's variance the kept components hold.
    mean_error, row_std
        Mean and standard deviation of the reference rows' errors.
    reference_rows
        Rows of the reference.
    limits
        Limits of a window's mean error, learned from reference chunks (or ``None``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=2000)
    >>> reference = np.column_stack([x, x + 0.3 * rng.normal(size=2000)])
    >>> model = ReconstructionModel.fit(reference, variance=0.65)
    >>> model.components.shape, round(model.variance_kept, 2)
    ((1, 2), 0.98)
    >>> flipped = np.column_stack([x, -x])[:500]
    >>> bool(model.errors(flipped).mean() > model.upper(500))
    True
    """

    center: np.ndarray
    components: np.ndarray
    variance_kept: float
    mean_error: float
    row_std: float
    reference_rows: int
    limits: LearnedLimits | None = None

    @classmethod
    def fit(
        cls, reference: np.ndarray, *, variance: float, chunks: Sequence[Chunk] | None = None
    ) -> ReconstructionModel:
        """Fit the components on ``reference`` (rows × at least 2 encoded columns).

        Parameters
        ----------
        reference
            The encoded reference.
        variance
            Share of the variance to keep, in (0, 1).
        chunks
            Chunks of the reference's rows of a window's size, to learn limits from
            (see :func:`~mlvigil.checks.thresholds.learning_chunks`).
        """
        from sklearn.decomposition import PCA  # here: most processes never fit one

        rows, width = reference.shape
        pca = PCA(svd_solver="covariance_eigh").fit(reference)
        shares = np.cumsum(pca.explained_variance_ratio_)
        # The fewest components reaching ``variance``, leaving at least one out.
        kept = min(int(np.searchsorted(shares, variance - 1e-12)) + 1, width - 1)
        model = cls(
            center=pca.mean_,
            components=pca.components_[:kept],
            variance_kept=float(shares[kept - 1]),
            mean_error=0.0,
            row_std=0.0,
            reference_rows=rows,
        )
        errors = model.errors(reference)
        limits = None
        if chunks:
            picked = learning_chunks(chunks)
            values = [float(errors[_rows(c)].mean()) for c in picked]
            size = int(np.median([c.rows for c in picked]))
            limits = LearnedLimits.of(values, chunk_rows=size, low=0.0)
        return cls(
            center=model.center,
            components=model.components,
            variance_kept=model.variance_kept,
            mean_error=float(errors.mean()),
            row_std=float(errors.std(ddof=1)) if rows > 1 else 0.0,
            reference_rows=rows,
            limits=limits,
        )

    def errors(self, matrix: np.ndarray) -> np.ndarray:
        """Each row's reconstruction error ``‖x − inverse(transform(x))‖₂``."""
        centred = matrix - self.center
        residual = centred - (centred @ self.components.T) @ self.components
        return np.asarray(np.linalg.norm(residual, axis=1), dtype=np.float64)

    def standard_error(self, rows: int) -> float:
        """Sampling error of a window's mean error at this many rows."""
        return self.row_std / math.sqrt(rows)

    def upper(self, rows: int) -> float:
        """The limit a window of ``rows`` rows drifts above (learned, else null-based)."""
        if self.limits is not None:
            return self.limits.upper
        return self.mean_error + SIGMAS * self.standard_error(rows)

    def lower(self, rows: int) -> float:
        """The limit below which a window fits better than the reference's chunks."""
        if self.limits is not None:
            return self.limits.lower
        return max(0.0, self.mean_error - SIGMAS * self.standard_error(rows))


def _rows(chunk: Chunk) -> np.ndarray | slice:
    if chunk.indices is not None:
        return np.asarray(chunk.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    assert chunk.offset is not None
    return slice(chunk.offset, chunk.offset + chunk.rows)
