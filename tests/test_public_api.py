"""The curated public API: `__all__` lists exactly the public names, all importable."""

from __future__ import annotations

import importlib

import pytest

import mlvigil


@pytest.mark.parametrize(
    "module_name",
    [
        "mlvigil",
        "mlvigil.stats",
        "mlvigil.checks",
        "mlvigil.checks.quality",
        "mlvigil.io",
        "mlvigil.profile",
        "mlvigil.telemetry",
        "mlvigil.report",
    ],
)
def test_all_names_resolve(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_top_level_all_is_sorted_and_matches_dir() -> None:
    assert list(mlvigil.__all__) == sorted(mlvigil.__all__)
    assert sorted(dir(mlvigil)) == sorted(mlvigil.__all__)


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = mlvigil.nope  # type: ignore[attr-defined]


def test_exceptions_form_one_tree() -> None:
    for name in (
        "InputError",
        "ColumnMismatchError",
        "UnreadableInputError",
        "ConfigError",
        "UnknownMethodError",
    ):
        assert issubclass(getattr(mlvigil, name), mlvigil.MlvigilError)
