"""One real SparkSession (``local[2]``) shared by the Spark tests.

Without PySpark or Java the tests skip with the reason, except under ``CI=true``,
where a missing one means the set-up is broken: they fail (as ``system_binary``
does for Debian packages).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from spark_support import require_spark


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # PySpark 4.x warns about pandas 3 on every Arrow call; nothing here uses pandas.
    here = os.path.dirname(__file__)
    ignore = pytest.mark.filterwarnings(
        "ignore:PySpark does not yet fully support pandas:FutureWarning"
    )
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(ignore)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A ``local[2]`` SparkSession, started once for every Spark test (start-up is slow)."""
    require_spark()
    # Python workers must run this interpreter, where mlvigil is installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("mlvigil-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Small batches: each task sees several, as it would on real partitions.
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "500")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
