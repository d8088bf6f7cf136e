"""One exception tree: every exception class mlvigil defines is an MlvigilError, documented.

The tree is the literal block of ``mlvigil.exceptions``' docstring; each line names a
class, the module defining it (under ``mlvigil.``) and what it means. These tests import
every module of the package, find every exception class defined in it, and compare the
two both ways, parent by parent: a new exception class that is not in the tree (or not
an :class:`MlvigilError`) fails here, and so does a tree entry whose class is gone.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from dataclasses import dataclass

import pytest

import mlvigil
import mlvigil.exceptions
from mlvigil.exceptions import MlvigilError

#: Modules that do something when imported: ``python -m mlvigil`` runs the CLI.
RUN_ON_IMPORT = frozenset({"mlvigil.__main__"})

#: What the optional extras install (pyproject ``[project.optional-dependencies]``); a
#: module needing one that is absent is skipped, any other import failure is an error.
OPTIONAL_IMPORTS = (
    "pandas",
    "polars",
    "sklearn",
    "pyspark",
    "opentelemetry.exporter.otlp.proto.grpc",
    "opentelemetry.instrumentation",
)

TREE_LINE = re.compile(
    r"^    (?P<branch>(?:[│ ]   )*(?:[├└]── )?)(?P<name>[A-Z]\w*)"
    r"\s+(?P<module>[a-z_][\w.]*)\s+(?P<meaning>\S.*)$"
)


@dataclass(frozen=True)
class Entry:
    """One class of the documented tree."""

    name: str
    module: str
    parent: str | None
    """Qualified name of the class it is drawn under; None for the root."""
    meaning: str

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}"


def _optional(missing: str | None) -> bool:
    return any(
        missing is not None and (missing == name or missing.startswith(name + "."))
        for name in OPTIONAL_IMPORTS
    )


def import_every_module() -> dict[str, str]:
    """Import every module of mlvigil; the ones skipped for a missing extra -> what."""
    skipped: dict[str, str] = {}

    def on_package_error(name: str) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ModuleNotFoundError) and _optional(error.name):
            skipped[name] = str(error.name)
            return
        raise AssertionError(f"cannot import {name}") from error

    for info in pkgutil.walk_packages(mlvigil.__path__, "mlvigil.", onerror=on_package_error):
        if info.name in RUN_ON_IMPORT or info.name in skipped:
            continue
        try:
            importlib.import_module(info.name)
        except ModuleNotFoundError as error:
            if not _optional(error.name):
                raise
            skipped[info.name] = str(error.name)
    return skipped


def defined_exception_classes() -> dict[str, type[BaseException]]:
    """Every subclass of BaseException defined in mlvigil, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    pending: list[type[BaseException]] = [BaseException]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if subclass.__module__.split(".")[0] == "mlvigil":
                found[f"{subclass.__module__}.{subclass.__qualname__}"] = subclass
    return found


def documented_tree(docstring: str) -> list[Entry]:
    """The entries of the first literal block (``::``) of ``docstring``."""
    lines = docstring.splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith("::")) + 1
    entries: list[Entry] = []
    ancestors: list[str] = []  # qualified names, by depth
    for line in lines[start:]:
        if not line.strip():
            if entries:
                break
            continue
        match = TREE_LINE.match(line)
        assert match is not None, f"not a tree line: {line!r}"
        depth = len(match["branch"]) // 4
        assert depth <= len(ancestors), f"{match['name']} is drawn under no class"
        del ancestors[depth:]
        entry = Entry(
            match["name"],
            f"mlvigil.{match['module']}",
            ancestors[-1] if ancestors else None,
            match["meaning"],
        )
        entries.append(entry)
        ancestors.append(entry.qualified)
    return entries


def package_parent(cls: type[BaseException]) -> str | None:
    """The first base class that mlvigil defines, as the tree draws it."""
    for base in cls.__bases__:
        if base.__module__.split(".")[0] == "mlvigil":
            return f"{base.__module__}.{base.__qualname__}"
    return None


@pytest.fixture(scope="module")
def skipped_modules() -> dict[str, str]:
    return import_every_module()


@pytest.fixture(scope="module")
def classes(skipped_modules: dict[str, str]) -> dict[str, type[BaseException]]:
    return defined_exception_classes()


@pytest.fixture(scope="module")
def tree() -> list[Entry]:
    assert mlvigil.exceptions.__doc__ is not None
    return documented_tree(mlvigil.exceptions.__doc__)


def test_every_exception_class_of_the_package_derives_from_mlvigil_error(classes):
    assert "mlvigil.exceptions.MlvigilError" in classes
    outside = sorted(name for name, cls in classes.items() if not issubclass(cls, MlvigilError))
    assert outside == [], f"not an MlvigilError: {outside}"


def test_every_exception_class_of_the_package_is_in_the_documented_tree(classes, tree):
    documented = {entry.qualified for entry in tree}
    missing = sorted(set(classes) - documented)
    assert missing == [], f"add to the tree in mlvigil/exceptions.py: {missing}"


def test_every_class_the_tree_names_exists_where_it_says(tree, skipped_modules):
    gone = []
    for entry in tree:
        if entry.module in skipped_modules:
            continue  # its optional dependency is not installed here
        defined = getattr(importlib.import_module(entry.module), entry.name, None)
        if not (
            isinstance(defined, type)
            and issubclass(defined, BaseException)
            and defined.__module__ == entry.module
        ):
            gone.append(entry.qualified)
    assert gone == [], f"named by the tree but not defined there: {gone}"


def test_the_tree_draws_each_class_under_its_base_class(classes, tree):
    wrong = [
        f"{entry.qualified} is drawn under {entry.parent} but derives from "
        f"{package_parent(classes[entry.qualified])}"
        for entry in tree
        if entry.qualified in classes and package_parent(classes[entry.qualified]) != entry.parent
    ]
    assert wrong == []


def test_the_tree_has_one_root_and_names_each_class_once(tree):
    assert [entry.qualified for entry in tree if entry.parent is None] == [
        "mlvigil.exceptions.MlvigilError"
    ]
    names = [entry.qualified for entry in tree]
    assert len(names) == len(set(names))
    assert all(entry.meaning for entry in tree)


def test_errors_about_bad_input_or_options_are_also_value_errors(classes, tree):
    under = {"mlvigil.exceptions.InputError", "mlvigil.exceptions.ConfigError"}
    for entry in tree:
        cls = classes.get(entry.qualified)
        if cls is not None and any(issubclass(cls, classes[name]) for name in under):
            assert issubclass(cls, ValueError), entry.qualified


def test_the_tree_reader_takes_parents_from_depth_and_modules_from_the_column():
    # The reader itself, on a made-up tree: depth, parent and module columns.
    doc = """Example::

    MlvigilError               exceptions      root
    ├── InputError             exceptions      bad data
    │   └── ConformError       io.conform      a value of the wrong type
    └── ReceiverError          exceptions      a receiver said no
    """
    entries = documented_tree(doc)
    assert [(e.name, e.module, e.parent) for e in entries] == [
        ("MlvigilError", "mlvigil.exceptions", None),
        ("InputError", "mlvigil.exceptions", "mlvigil.exceptions.MlvigilError"),
        ("ConformError", "mlvigil.io.conform", "mlvigil.exceptions.InputError"),
        ("ReceiverError", "mlvigil.exceptions", "mlvigil.exceptions.MlvigilError"),
    ]
