"""The layers stay one-way: no import cycle between packages or modules, no giant module.

Every module under ``src/mlvigil`` is parsed (not imported) with :mod:`ast`, and its
imports of mlvigil are sorted by where they sit: at module level (run on import),
inside a function (run on call, usually to defer a heavy dependency) or under
``if TYPE_CHECKING:`` (never run). From them:

- the package graph (``mlvigil.alerts`` -> ``mlvigil.checks`` ...; a top-level module
  such as ``mlvigil.exceptions`` is a node of its own) counts every import: a package
  that names another in any way depends on it;
- the module graph at import time counts module-level imports;
- the module graph with deferred imports adds the function-level ones (a function-level
  import hides a cycle from the interpreter, not from the design).

None may have a cycle, except the allowed ones listed below with their reason.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import mlvigil

SOURCE = Path(mlvigil.__file__).parent

#: Package cycles that are known and being removed. Each entry is one strongly connected
#: set of packages; a cycle that grows beyond it, or another one, fails.
ALLOWED_PACKAGE_CYCLES: list[frozenset[str]] = []

#: Modules over this many lines should be split (DESIGN.md: one algorithm per module).
MAX_LINES = 600

#: Modules known to be over the limit, to be split; delete each when done.
ALLOWED_LONG_MODULES: set[str] = set()

MODULE_LEVEL = "module"
FUNCTION_LEVEL = "function"
TYPE_CHECKING_ONLY = "typing"


@dataclass(frozen=True)
class Import:
    """One import of an mlvigil module by another."""

    source: str
    target: str
    kind: str
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The mlvigil modules an import statement names, most specific first.

    The packages above a module are not counted: ``from mlvigil.checks.result import
    CheckResult`` runs ``mlvigil/checks/__init__.py`` too, but a module of a package
    importing its package's ``__init__`` is how packages work, not a cycle to report.
    """
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: from its package, one step up per extra dot
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def imports_of(module: str, path: Path, known: Mapping[str, Path]) -> list[Import]:
    """Every import of an mlvigil module in ``path``, with where it sits."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def record(node: ast.Import | ast.ImportFrom, kind: str) -> None:
        candidates = _targets(node, module, is_package)
        if isinstance(node, ast.ImportFrom):
            # `from a.b import c`: module a.b.c when it exists, else (a name of) a.b.
            names = [c for c in candidates[:-1] if c in known] or candidates[-1:]
        else:
            names = candidates
        found.extend(
            Import(module, name, kind, node.lineno)
            for name in names
            if name.split(".")[0] == "mlvigil" and name != module
        )

    def visit(nodes: Iterable[ast.AST], kind: str) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                record(node, kind)
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.body, TYPE_CHECKING_ONLY)
                visit(node.orelse, kind)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                inner = FUNCTION_LEVEL if kind == MODULE_LEVEL else kind
                visit(ast.iter_child_nodes(node), inner)
            else:
                visit(ast.iter_child_nodes(node), kind)

    visit(tree.body, MODULE_LEVEL)
    return found


def package_of(module: str) -> str:
    """``mlvigil.alerts.rules`` -> ``mlvigil.alerts``; top-level modules are their own."""
    return ".".join(module.split(".")[:2])


def cycles(graph: Mapping[str, Iterable[str]]) -> list[frozenset[str]]:
    """The strongly connected sets of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    nodes = set(graph) | {target for targets in graph.values() for target in targets}

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(nodes):
        if node not in index:
            connect(node)
    return found


def describe(cycle: frozenset[str], edges: Iterable[Import], of: dict[str, str]) -> str:
    """The imports that close ``cycle``, one per line, for the failure message."""
    lines = sorted(
        f"  {edge.source}:{edge.line} imports {edge.target} ({edge.kind})"
        for edge in edges
        if of.get(edge.source, edge.source) in cycle
        and of.get(edge.target, edge.target) in cycle
        and of.get(edge.source, edge.source) != of.get(edge.target, edge.target)
    )
    return f"cycle {sorted(cycle)}:\n" + "\n".join(lines)


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    known = all_modules()
    return [edge for name, path in known.items() for edge in imports_of(name, path, known)]


def module_graph(edges: Iterable[Import], kinds: set[str]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        if edge.kind in kinds:
            graph[edge.source].add(edge.target)
    return graph


def package_graph(edges: Iterable[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        source, target = package_of(edge.source), package_of(edge.target)
        if "mlvigil" not in (source, target) and source != target:
            graph[source].add(target)
    return graph


def test_no_import_cycle_between_packages(imports):
    # The root package is left out: it names everything lazily (by string) for its API.
    found = cycles(package_graph(imports))
    packages = {edge.source: package_of(edge.source) for edge in imports}
    packages |= {edge.target: package_of(edge.target) for edge in imports}
    unexpected = [cycle for cycle in found if cycle not in ALLOWED_PACKAGE_CYCLES]
    assert unexpected == [], "\n".join(describe(c, imports, packages) for c in unexpected)


def test_each_allowed_package_cycle_still_exists(imports):
    found = cycles(package_graph(imports))
    stale = [sorted(cycle) for cycle in ALLOWED_PACKAGE_CYCLES if cycle not in found]
    assert stale == [], f"gone, remove from ALLOWED_PACKAGE_CYCLES: {stale}"


def test_no_import_cycle_between_modules_at_import_time(imports):
    found = cycles(module_graph(imports, {MODULE_LEVEL}))
    assert found == [], "\n".join(describe(c, imports, {}) for c in found)


def test_no_import_cycle_between_modules_through_deferred_imports(imports):
    allowed = set().union(*ALLOWED_PACKAGE_CYCLES)
    found = [
        cycle
        for cycle in cycles(module_graph(imports, {MODULE_LEVEL, FUNCTION_LEVEL}))
        if not {package_of(module) for module in cycle} <= allowed
    ]
    assert found == [], "\n".join(describe(c, imports, {}) for c in found)


def test_the_import_reader_sees_where_each_import_sits(tmp_path):
    source = tmp_path / "mlvigil" / "alerts" / "example.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from mlvigil.checks import result\n"
        "from . import rules\n"
        "if TYPE_CHECKING:\n"
        "    from mlvigil.service.config import ServiceConfig\n"
        "def export():\n"
        "    import mlvigil.service.app\n"
    )
    known = {
        "mlvigil.checks.result": source,
        "mlvigil.alerts.rules": source,
        "mlvigil.service.config": source,
    }
    found = imports_of("mlvigil.alerts.example", source, known)
    assert [(edge.target, edge.kind) for edge in found] == [
        ("mlvigil.checks.result", MODULE_LEVEL),
        ("mlvigil.alerts.rules", MODULE_LEVEL),
        ("mlvigil.service.config", TYPE_CHECKING_ONLY),
        ("mlvigil.service.app", FUNCTION_LEVEL),
    ]


def test_cycles_are_found_and_acyclic_graphs_pass():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]


def module_lengths() -> dict[str, int]:
    return {
        path.relative_to(SOURCE.parent).as_posix(): len(path.read_text("utf-8").splitlines())
        for path in SOURCE.rglob("*.py")
    }


def test_no_module_is_over_the_line_limit():
    lengths = module_lengths()
    too_long = {
        name: count
        for name, count in sorted(lengths.items())
        if count > MAX_LINES and name not in ALLOWED_LONG_MODULES
    }
    assert too_long == {}, f"split these modules (limit {MAX_LINES} lines): {too_long}"


def test_each_allowed_long_module_is_still_long():
    lengths = module_lengths()
    done = sorted(name for name in ALLOWED_LONG_MODULES if lengths.get(name, 0) <= MAX_LINES)
    assert done == [], f"split (or gone), remove from ALLOWED_LONG_MODULES: {done}"
