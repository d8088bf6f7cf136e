"""Multivariate drift of windows from one reference: fitted once, evaluated per window.

:class:`MultivariateDetector` encodes the reference once (:mod:`.encoding`), fits what
each method needs (principal components and learned limits for the reconstruction
error, the encoded reference for the domain classifier and MMD), and evaluates any
number of windows. Tabular columns are judged together (results with ``column=None``);
each embedding column (an Arrow list of numbers) gets results of its own. Problems that
stop a method (too few rows, no usable column) give error results saying what to
change, never an exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from mlvigil.checks._common import error_result
from mlvigil.checks.chunks import Chunk
from mlvigil.checks.result import CheckKind, CheckResult, Severity
from mlvigil.exceptions import ConfigError, InputError
from mlvigil.multivariate.domain import domain_classifier
from mlvigil.multivariate.encoding import EmbeddingEncoder, TabularEncoder
from mlvigil.multivariate.mmd import mmd_test
from mlvigil.multivariate.reconstruction import ReconstructionModel
from mlvigil.multivariate.results import (
    METRICS,
    domain_result,
    mmd_result,
    reconstruction_result,
)
from mlvigil.schema import ColumnType, is_vector_type

__all__ = ["EMBEDDING_METHODS", "METHODS", "MIN_ROWS", "MultivariateConfig", "MultivariateDetector"]

#: Methods for the tabular columns, and for embedding columns.
METHODS = ("reconstruction_error", "domain_classifier", "mmd")
EMBEDDING_METHODS = ("domain_classifier", "mmd")
#: Rows a reference and a window need at least, for every method.
MIN_ROWS = 20


@dataclass(frozen=True)
class MultivariateConfig:
    """Options of multivariate drift; every field has a sensible default.

    Parameters
    ----------
    methods
        Methods run on the tabular columns together: ``reconstruction_error``,
        ``domain_classifier``, ``mmd``.
    embedding_methods
        Methods run on each embedding column: ``mmd``, ``domain_classifier``.
    variance
        Share of the reference's variance the principal components keep.
    max_reference_rows
        Rows of each side the domain classifier trains on at most (seeded subsample;
        the reference gets no more rows than the window).
    folds
        Stratified cross-validation folds of the domain classifier. 3 by default: on
        5,000-row windows 5 folds cost 1.6 times as much and detected no more (9 and 8
        of 10 windows of a correlation change from 0.8 to 0.6, ``bench/multivariate.py``).
    threads
        OpenMP threads of the domain classifier. 1 by default: on a 2-core machine
        shared with other work, 2 threads were 3-30 times slower than 1, and barely
        faster when idle (:mod:`mlvigil.multivariate.domain`).
    mmd_rows
        Rows of each side MMD uses at most (seeded subsample).
    permutations
        Permutations of the MMD p-value; ``1 / (permutations + 1)`` must be below
        ``alpha`` for the test to be able to reject.
    alpha
        Significance level of MMD.
    severity
        Severity of every result.
    seed
        Seed of every random draw (subsamples, folds, permutations), a whole number
        >= 0; each window's draws mix it with the window's content, so windows draw
        independently and the same window always draws alike.

    Examples
    --------
    >>> MultivariateConfig(methods=("domain_classifier",)).folds
    3
    >>> MultivariateConfig(methods=("pca",))
    Traceback (most recent call last):
    ...
    mlvigil.exceptions.ConfigError: unknown multivariate method 'pca'; choose from ...
    """

    methods: tuple[str, ...] = ("reconstruction_error", "domain_classifier")
    embedding_methods: tuple[str, ...] = ("mmd", "domain_classifier")
    variance: float = 0.65
    max_reference_rows: int = 5_000
    folds: int = 3
    threads: int = 1
    mmd_rows: int = 1_000
    permutations: int = 200
    alpha: float = 0.05
    severity: Severity = Severity.ERROR
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "embedding_methods", tuple(self.embedding_methods))
        object.__setattr__(self, "severity", Severity(self.severity))
        for names, known in ((self.methods, METHODS), (self.embedding_methods, EMBEDDING_METHODS)):
            for name in names:
                if name not in known:
                    raise ConfigError(
                        f"unknown multivariate method {name!r}; choose from {', '.join(known)}"
                    )
        if not self.methods and not self.embedding_methods:
            raise ConfigError("give at least one method (methods or embedding_methods)")
        if not 0.0 < self.variance < 1.0:
            raise ConfigError(f"variance must be in (0, 1), got {self.variance}")
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"alpha must be in (0, 1), got {self.alpha}")
        for name in ("max_reference_rows", "mmd_rows"):
            if getattr(self, name) < MIN_ROWS:
                raise ConfigError(f"{name} must be at least {MIN_ROWS}, got {getattr(self, name)}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a whole number >= 0, got {self.seed!r}")
        if self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")
        if self.folds < 2:
            raise ConfigError(f"folds must be at least 2, got {self.folds}")
        if 1.0 / (self.permutations + 1) >= self.alpha:
            raise ConfigError(
                f"{self.permutations} permutations cannot give a p-value below alpha="
                f"{self.alpha:g}; use at least {int(np.ceil(1.0 / self.alpha))} permutations"
            )


@dataclass(frozen=True)
class _Embedding:
    """One embedding column: how to read it, its reference vectors, or why it cannot run."""

    name: str
    encoder: EmbeddingEncoder | None
    matrix: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    problem: str | None = None


def _few_rows(side: str, rows: int, what: str = "rows") -> str:
    return (
        f"the {side} has {rows} {what}; multivariate drift needs at least {MIN_ROWS} "
        f"(use {'a larger reference' if side == 'reference' else 'larger windows or chunks'})"
    )


class MultivariateDetector:
    """Multivariate drift of windows from a reference; make one with :meth:`fit`.

    Evaluating is read-only and deterministic: the same window always gives the same
    results (every random draw comes from the configured seed and the window's content).

    Examples
    --------
    >>> from mlvigil.checks.chunks import size_chunks
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=4000)
    >>> reference = pa.table({"a": x, "b": x + 0.5 * rng.normal(size=4000)})
    >>> detector = MultivariateDetector.fit(reference, columns=["a", "b"], schema={},
    ...     config=MultivariateConfig(), chunks=size_chunks(4000, 500))
    >>> y = rng.normal(size=500)
    >>> window = pa.table({"a": y, "b": -y + 0.5 * rng.normal(size=500)})
    >>> [(r.metric, r.status.value) for r in detector.evaluate(window)]
    [('reconstruction_error', 'failed'), ('domain_classifier_auc', 'failed')]
    """

    def __init__(
        self,
        config: MultivariateConfig,
        *,
        reference_rows: int,
        encoder: TabularEncoder | None,
        reference_matrix: np.ndarray,
        reconstruction: ReconstructionModel | None,
        embeddings: Sequence[_Embedding],
        problems: Mapping[str, str],
    ) -> None:
        # Use fit(), which checks the inputs and prepares every part.
        self._config = config
        self._reference_rows = reference_rows
        self._encoder = encoder
        self._reference = reference_matrix
        self._reconstruction = reconstruction
        self._embeddings = tuple(embeddings)
        self._problems = dict(problems)

    @classmethod
    def fit(
        cls,
        reference: pa.Table,
        *,
        columns: Sequence[str],
        schema: Mapping[str, ColumnType],
        config: MultivariateConfig,
        chunks: Sequence[Chunk] | None = None,
    ) -> MultivariateDetector:
        """Prepare the methods on the reference rows.

        Parameters
        ----------
        reference
            The reference rows.
        columns
            The columns to use. Those holding Arrow lists of numbers are embeddings,
            whatever ``schema`` says; the others are tabular.
        schema
            Types of the tabular columns; a column without one gets an inferred type.
        config
            Methods and options.
        chunks
            Chunks of the reference of a window's size, to learn the reconstruction
            error's limits from; without them its limit is the reference mean + 3
            standard errors at the window's rows (its messages say so).

        Raises
        ------
        InputError
            When a column is missing from the reference, or holds values that cannot
            take its declared type.
        """
        names = list(dict.fromkeys(columns))
        missing = [c for c in names if c not in reference.column_names]
        if missing:
            raise InputError(f"columns not found in the reference: {', '.join(map(repr, missing))}")
        vectors = [c for c in names if is_vector_type(reference.column(c).type)]
        tabular = [c for c in names if c not in vectors]
        rows = reference.num_rows
        problems: dict[str, str] = {}
        encoder = None
        matrix = np.empty((rows, 0))
        reconstruction = None
        if tabular or not vectors:
            encoder = TabularEncoder.fit(reference, tabular, schema)
            matrix = encoder.transform(reference)
            problem = _tabular_problem(rows, encoder)
            if problem is not None:
                problems = dict.fromkeys(config.methods, problem)
            elif "reconstruction_error" in config.methods:
                if len(encoder.columns) < 2:
                    problems["reconstruction_error"] = (
                        f"reconstruction error needs at least 2 usable columns, and only "
                        f"{encoder.columns[0]!r} is usable; add columns or use the domain "
                        "classifier"
                    )
                else:
                    reconstruction = ReconstructionModel.fit(
                        matrix, variance=config.variance, chunks=chunks
                    )
        embeddings = [_fit_embedding(reference, name) for name in vectors]
        return cls(
            config,
            reference_rows=rows,
            encoder=encoder,
            reference_matrix=matrix,
            reconstruction=reconstruction,
            embeddings=embeddings,
            problems=problems,
        )

    @property
    def config(self) -> MultivariateConfig:
        """The options it was fitted with."""
        return self._config

    @property
    def columns(self) -> tuple[str, ...]:
        """The tabular columns the methods read (usable ones only)."""
        return self._encoder.columns if self._encoder is not None else ()

    @property
    def dropped(self) -> tuple[tuple[str, str], ...]:
        """``(column, reason)`` of tabular columns left out (all null, constant)."""
        return self._encoder.dropped if self._encoder is not None else ()

    @property
    def embeddings(self) -> tuple[str, ...]:
        """The embedding columns."""
        return tuple(e.name for e in self._embeddings)

    @property
    def reference_rows(self) -> int:
        """Rows of the reference."""
        return self._reference_rows

    def evaluate(self, table: pa.Table) -> list[CheckResult]:
        """Judge one window: the tabular methods first, then each embedding column's.

        Raises
        ------
        InputError
            When a column is missing from ``table`` or holds values of another type.
        """
        results: list[CheckResult] = []
        if self._encoder is not None:
            results += self._tabular(table)
        for embedding in self._embeddings:
            results += self._embedding(embedding, table)
        return results

    def _error(self, method: str, column: str | None, message: str) -> CheckResult:
        return error_result(
            CheckKind.DRIFT, METRICS[method], column, message,
            severity=self._config.severity, method=method,
        )  # fmt: skip

    def _tabular(self, table: pa.Table) -> list[CheckResult]:
        assert self._encoder is not None
        config = self._config
        rows = table.num_rows
        matrix = self._encoder.transform(table) if self.columns else np.empty((rows, 0))
        results = []
        for method in config.methods:
            problem = self._problems.get(method)
            if problem is None and rows < MIN_ROWS:
                problem = _few_rows("window", rows)
            if problem is not None:
                results.append(self._error(method, None, problem))
            elif method == "reconstruction_error":
                assert self._reconstruction is not None
                results.append(
                    reconstruction_result(
                        self._reconstruction,
                        self._reconstruction.errors(matrix).tolist(),
                        columns=self.columns,
                        severity=config.severity,
                    )
                )
            else:
                results.append(self._compare(method, None, self.columns, self._reference, matrix))
        return results

    def _embedding(self, embedding: _Embedding, table: pa.Table) -> list[CheckResult]:
        name = embedding.name
        problem = embedding.problem
        matrix = np.empty((0, 0))
        if problem is None:
            assert embedding.encoder is not None
            if name not in table.column_names:
                raise InputError(f"embedding column {name!r} not found in the window")
            try:
                matrix, _ = embedding.encoder.transform(table.column(name))
            except InputError as error:  # another length: this column's results say so
                problem = str(error)
            if problem is None and len(matrix) < MIN_ROWS:
                problem = _few_rows("window", len(matrix), f"complete vectors of {name!r}")
        results = []
        for method in self._config.embedding_methods:
            if problem is not None:
                results.append(self._error(method, name, problem))
            else:
                results.append(self._compare(method, name, (name,), embedding.matrix, matrix))
        return results

    def _compare(
        self,
        method: str,
        column: str | None,
        columns: Sequence[str],
        reference: np.ndarray,
        current: np.ndarray,
    ) -> CheckResult:
        config = self._config
        seed = _window_seed(config.seed, current)
        if method == "mmd":
            found = mmd_test(
                reference,
                current,
                max_rows=config.mmd_rows,
                permutations=config.permutations,
                seed=seed,
            )
            return mmd_result(
                found, alpha=config.alpha, column=column, columns=columns,
                severity=config.severity,
            )  # fmt: skip
        groups = list(columns) if column is None else [column] * current.shape[1]
        verdict = domain_classifier(
            reference,
            current,
            groups=groups,
            folds=config.folds,
            max_rows=config.max_reference_rows,
            seed=seed,
            threads=config.threads,
        )
        return domain_result(verdict, column=column, columns=columns, severity=config.severity)


def _window_seed(seed: int, window: np.ndarray) -> int:
    """The seed of one window's draws: the configured seed and the window's content.

    A reference subsample drawn alike for every window would make their verdicts share
    its luck (one unusual subsample, many false alarms); drawn from the window's
    content, each window gets its own, and the same window always gets the same.
    """
    digest = hashlib.blake2b(np.ascontiguousarray(window).tobytes(), digest_size=8).digest()
    entropy = [seed, int.from_bytes(digest, "little")]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def _tabular_problem(rows: int, encoder: TabularEncoder) -> str | None:
    if rows < MIN_ROWS:
        return _few_rows("reference", rows)
    if not encoder.columns:
        if not encoder.dropped:
            return "no column to compare; name the columns to use"
        reasons = ", ".join(f"{name!r} ({why})" for name, why in encoder.dropped)
        return f"no usable column: {reasons}; name columns that vary in the reference"
    return None


def _fit_embedding(reference: pa.Table, name: str) -> _Embedding:
    values = reference.column(name)
    try:
        encoder = EmbeddingEncoder.fit(name, values)
    except InputError as error:
        return _Embedding(name, None, problem=str(error))
    matrix, _ = encoder.transform(values)
    if len(matrix) < MIN_ROWS:
        problem = _few_rows("reference", len(matrix), f"complete vectors of {name!r}")
        return _Embedding(name, encoder, problem=problem)
    return _Embedding(name, encoder, matrix)
