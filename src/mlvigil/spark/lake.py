"""Reading predictions from a lake: the prediction logger's layout, or any Parquet table.

The prediction logger (:class:`~mlvigil.telemetry.sinks.ParquetSink`) writes
``ROOT/model=<model>/date=YYYY-MM-DD/hour=HH/*.parquet`` and the labels under
``ROOT/labels/model=<model>/...``. Given ``ROOT`` and a model, only that model's
directory is read (Spark prunes the other models' files without listing them);
the partition columns are dropped, since the timestamp column holds the same
instant. Any other Parquet directory (or a file, or a Hive-partitioned table) is
read whole; a ``model`` column, if it has one, selects the model's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mlvigil.exceptions import UnreadableInputError
from mlvigil.spark.driver import pyspark_module, quoted

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["LOGGER_ONLY", "Predictions", "read_predictions"]

#: Columns of the logger's files that the service does not profile either.
LOGGER_ONLY = ("model_version", "latency_ms", "error")
_PARTITIONS = ("model", "date", "hour")


@dataclass(frozen=True)
class Predictions:
    """What :func:`read_predictions` found.

    Attributes
    ----------
    frame
        The model's predictions.
    labels
        The logger's labels of the model (``id``, ``label``, ``timestamp``), or
        ``None`` when the input is not the logger's layout or has no labels.
    layout
        ``logger`` or ``parquet``.
    """

    frame: DataFrame
    labels: DataFrame | None
    layout: str


def _exists(spark: SparkSession, path: str) -> bool:
    """Whether ``path`` exists, on whatever file system Hadoop reaches (s3a, hdfs...)."""
    context: Any = spark.sparkContext
    hadoop_path = context._jvm.org.apache.hadoop.fs.Path(path)
    return bool(hadoop_path.getFileSystem(context._jsc.hadoopConfiguration()).exists(hadoop_path))


def _read(spark: SparkSession, path: str) -> DataFrame:
    try:
        return spark.read.parquet(path)
    except Exception as error:  # AnalysisException, Py4JJavaError: the message is the news
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise UnreadableInputError(f"cannot read {path} as Parquet: {reason}") from None


def read_predictions(spark: SparkSession, root: str, model: str) -> Predictions:
    """The predictions of ``model`` under ``root``, and its labels when the logger wrote them.

    Raises
    ------
    UnreadableInputError
        When ``root`` cannot be read as Parquet.
    """
    functions = pyspark_module("pyspark.sql.functions")
    base = root.rstrip("/")
    folder = f"{base}/model={quote(model, safe='')}"
    if _exists(spark, folder):
        frame = _read(spark, folder)
        frame = frame.drop(*[c for c in (*_PARTITIONS, *LOGGER_ONLY) if c in frame.columns])
        labels_folder = f"{base}/labels/model={quote(model, safe='')}"
        labels = None
        if _exists(spark, labels_folder):
            labels = _read(spark, labels_folder)
            labels = labels.select(*(functions.col(c) for c in ("id", "label", "timestamp")))
        return Predictions(frame, labels, "logger")
    frame = _read(spark, base)
    if "model" in frame.columns:
        frame = frame.where(functions.col(quoted("model")) == model).drop("model")
    return Predictions(frame, None, "parquet")


def with_labels(predictions: Predictions, *, id_column: str = "id") -> DataFrame:
    """The predictions with the logger's ``label`` column joined on ``id`` (latest label).

    A prediction labelled twice keeps its latest label; one without a label has a
    null one (it counts in the label coverage, not in the metrics).
    """
    frame, labels = predictions.frame, predictions.labels
    if labels is None:
        return frame
    functions = pyspark_module("pyspark.sql.functions")
    window = pyspark_module("pyspark.sql.window").Window
    latest = window.partitionBy("id").orderBy(functions.col("timestamp").desc())
    newest = (
        labels.withColumn("_rank", functions.row_number().over(latest))
        .where(functions.col("_rank") == 1)
        .select(functions.col("id").alias(id_column), "label")
    )
    return frame.drop("label").join(newest, on=id_column, how="left")
