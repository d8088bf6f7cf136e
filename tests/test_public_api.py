"""The curated public API: what ``__all__`` lists is exactly what the packages offer.

``import mlvigil`` imports its names on first use (a lazy map from name to home
module), so these tests check the map against ``__all__`` and each name against the
object it resolves to. The snapshot at the end makes adding or removing a public name a
deliberate edit of this file.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import types
from typing import Any

import pytest

import mlvigil
import mlvigil.telemetry

#: Packages with a curated ``__all__``.
CURATED = [
    "mlvigil",
    "mlvigil.telemetry",
    "mlvigil.report",
    "mlvigil.checks",
    "mlvigil.checks.quality",
    "mlvigil.stats",
    "mlvigil.profile",
    "mlvigil.io",
    "mlvigil.estimation",
    "mlvigil.multivariate",
    "mlvigil.slo",
]

#: Packages whose names are imported on first use, with their lazy maps.
LAZY = {"mlvigil": mlvigil, "mlvigil.telemetry": mlvigil.telemetry}

#: Names a lazy package defines itself instead of mapping them.
EAGER = {"mlvigil": {"__version__"}, "mlvigil.telemetry": set()}

TOP_LEVEL = [
    "CheckResult",
    "CheckStatus",
    "ChunkDrift",
    "ChunkedDriftReport",
    "ColumnDrift",
    "ColumnMismatchError",
    "ColumnStatus",
    "ColumnType",
    "ConfigError",
    "Correction",
    "DatasetProfile",
    "DriftConfig",
    "DriftReport",
    "EstimationConfig",
    "EstimationReport",
    "InputError",
    "MlvigilError",
    "MultivariateConfig",
    "MultivariateDetector",
    "MultivariateReport",
    "PerformanceEstimator",
    "PreparedReference",
    "ProfileConfig",
    "QualityConfig",
    "QualityReport",
    "ReceiverError",
    "Severity",
    "StatTestResult",
    "UnknownMethodError",
    "UnreadableInputError",
    "__version__",
    "detect_drift",
    "detect_drift_chunks",
    "estimate_performance",
    "export_to_prometheus",
    "load_quality_config",
    "multivariate_drift",
    "prepare_reference",
    "profile_drift",
    "profile_table",
    "run_quality_checks",
]

TELEMETRY = [
    "Buckets",
    "CorrelationIdMiddleware",
    "GpuCollector",
    "HostCollector",
    "HostMetrics",
    "HttpSink",
    "LabelGuard",
    "LabelRecord",
    "ModelMonitor",
    "ParquetSink",
    "PipelineMetrics",
    "PipelineMonitor",
    "Prediction",
    "PredictionLogger",
    "PredictionRecord",
    "PredictionScope",
    "REQUEST_ID_HEADER",
    "Redactor",
    "RejectedBatchError",
    "RetryPolicy",
    "ServingMetrics",
    "Sink",
    "StageScope",
    "TransientSinkError",
    "add_trace_context",
    "bind_request_id",
    "configure_logging",
    "configure_metrics",
    "configure_tracing",
    "create_prediction_logger",
    "current_request_id",
    "current_trace_ids",
    "get_logger",
    "get_tracer",
    "inference",
    "inject_trace_headers",
    "instrument_fastapi",
    "instrument_httpx_client",
    "metrics_endpoint",
    "multiprocess_enabled",
    "new_prediction_id",
    "postprocessing",
    "preprocessing",
    "redact_text",
    "register_host_metrics",
    "render_metrics",
    "request_context",
    "span",
    "trace_exemplar",
]


def defining_module(value: Any) -> str | None:
    """The module a class or function was defined in; None for other objects."""
    if inspect.isclass(value) or inspect.isroutine(value):
        return str(value.__module__)
    return None


def in_package(module: str, package: str = "mlvigil") -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("module_name", CURATED)
def test_all_lists_each_name_once_and_each_resolves_to_mlvigil_code(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = list(module.__all__)
    assert len(names) == len(set(names)), "duplicates in __all__"
    for name in names:
        value = getattr(module, name)
        assert not isinstance(value, types.ModuleType), f"{name} is a module"
        home = defining_module(value)
        assert home is None or in_package(home), f"{module_name}.{name} comes from {home}"


@pytest.mark.parametrize("module_name", CURATED)
def test_no_public_name_of_the_package_is_left_out_of_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in module.__all__:
        getattr(module, name)  # resolve lazy names into the namespace too
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)  # submodules are reached by import
        and type(value).__module__ != "__future__"  # `from __future__ import annotations`
    }
    assert sorted(public - set(module.__all__)) == []


@pytest.mark.parametrize("module_name", sorted(LAZY))
def test_the_lazy_map_and_all_name_the_same_public_names(module_name: str) -> None:
    module = LAZY[module_name]
    mapped = set(module._HOMES)
    assert sorted(mapped - set(module.__all__)) == [], "mapped but not in __all__"
    assert sorted(set(module.__all__) - mapped - EAGER[module_name]) == [], "not mapped"
    assert list(module.__all__) == sorted(module.__all__)


@pytest.mark.parametrize("module_name", sorted(LAZY))
def test_each_lazy_name_lives_in_the_module_the_map_names(module_name: str) -> None:
    module = LAZY[module_name]
    for name, home in module._HOMES.items():
        value = getattr(importlib.import_module(home), name)
        assert getattr(module, name) is value, name
        defined = defining_module(value)
        assert defined is None or in_package(defined, home), f"{name}: {home} vs {defined}"


@pytest.mark.parametrize("module_name", sorted(LAZY))
def test_dir_of_a_lazy_package_lists_its_public_names_before_first_use(module_name: str) -> None:
    probe = f"import {module_name} as m; print(','.join(dir(m)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().split(",") == sorted(LAZY[module_name].__all__)


def test_importing_mlvigil_and_its_sdk_imports_no_numerical_library() -> None:
    probe = (
        "import sys, mlvigil, mlvigil.telemetry\n"
        "mlvigil.MlvigilError, mlvigil.ReceiverError, mlvigil.__version__\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'pyarrow', 'pandas') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = mlvigil.nope  # type: ignore[attr-defined]


def test_the_top_level_api_is_the_reviewed_list() -> None:
    assert list(mlvigil.__all__) == TOP_LEVEL


def test_the_telemetry_sdk_api_is_the_reviewed_list() -> None:
    assert list(mlvigil.telemetry.__all__) == TELEMETRY


def test_exceptions_form_one_tree() -> None:
    for name in (
        "InputError",
        "ColumnMismatchError",
        "UnreadableInputError",
        "ConfigError",
        "UnknownMethodError",
        "ReceiverError",
    ):
        assert issubclass(getattr(mlvigil, name), mlvigil.MlvigilError)
