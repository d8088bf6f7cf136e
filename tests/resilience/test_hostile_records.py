"""Nothing a client sends stops monitoring: bad values get a 4xx naming row and field.

A real `mlvigil serve` takes JSON, Arrow and Parquet bodies with NaN and infinities in
every numeric field (features, score, latency, a regression's predictions and labels),
text that is not UTF-8, a column sent twice, a value nested 300 deep and strings over
the length cap. Before, NaN latencies made every evaluation of their window a 500,
infinities were stored, and the other three were 500s; strings of any length were kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from ingest_service import (
    ARROW,
    PARQUET,
    body_of,
    counter,
    credit_records,
    evaluate,
    frame,
    last_hour,
    post,
    post_json,
    results,
    stored,
    write_config,
)
from serving import Served, launch, stop

LIMIT = 64


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory: Path = tmp_path_factory.mktemp("hostile")
    config = write_config(
        directory, regression=True, limits=f"limits: {{max_string_length: {LIMIT}}}"
    )
    server = launch(directory, config=config)
    yield server
    stop(server)


def with_value(table: pa.Table, column: str, row: int, value: object) -> pa.Table:
    """``table`` with ``column``'s value at ``row`` replaced (the column keeps its type)."""
    values = table.column(column).to_pylist()
    values[row] = value
    index = table.column_names.index(column)
    return table.set_column(index, column, pa.array(values, table.schema.field(column).type))


def demand_table(rows: int, prefix: str) -> pa.Table:
    batch = credit_records(rows, last_hour(), prefix=prefix)
    table = frame(batch).drop_columns(["score"])
    predictions = [float(i) for i in range(rows)]
    return table.set_column(
        table.column_names.index("prediction"), "prediction", pa.array(predictions)
    )


def problem(response) -> tuple[int | None, str | None, str]:
    first = response.json()["problems"][0]
    return first["row"], first["field"], first["message"]


@pytest.mark.parametrize("media", [ARROW, PARQUET])
def test_nan_is_a_missing_value_in_every_numeric_field(served, media):
    start = last_hour()
    table = frame(credit_records(40, start, prefix=f"nan-{media[-7:]}-"))
    table = with_value(table, "income", 0, math.nan)
    table = with_value(table, "age", 1, math.nan)
    table = with_value(table, "score", 2, math.nan)
    nan_latency = pa.array([math.nan] * table.num_rows)  # every latency of the window
    table = table.set_column(table.column_names.index("latency_ms"), "latency_ms", nan_latency)
    answer = post(served.url, "credit", "predictions", content=body_of(table, media), media=media)
    assert answer.status_code == 201, answer.text

    # The window evaluates (a NaN latency used to make it a 500) and counts NaN as null.
    assert evaluate(served.url, "credit", start).status_code == 200
    nulls = {
        r["column"]: r["value"]
        for r in results(served.url, "credit", check="completeness")
        if r["metric"] == "null_rate"
    }
    assert nulls["income"] > 0
    assert nulls["age"] > 0
    assert nulls["score"] > 0
    assert not results(served.url, "credit", check="serving")  # no latency at all


@pytest.mark.parametrize("media", [ARROW, PARQUET])
def test_nan_in_a_required_number_is_a_missing_value_refused_naming_row_and_field(served, media):
    demand = with_value(demand_table(10, f"nan-{media[-7:]}-"), "prediction", 3, math.nan)
    answer = post(served.url, "demand", "predictions", content=body_of(demand, media), media=media)
    assert answer.status_code == 422, answer.text
    assert problem(answer) == (3, "prediction", "required field is null (or NaN)")
    labels = pa.table({"id": demand.column("id"), "label": [math.nan] + [1.0] * 9})
    answer = post(served.url, "demand", "labels", content=body_of(labels, media), media=media)
    assert answer.status_code == 422, answer.text
    assert problem(answer) == (0, "label", "required field is null (or NaN)")


@pytest.mark.parametrize("media", [ARROW, PARQUET])
@pytest.mark.parametrize(
    ("model", "kind", "column"),
    [
        ("credit", "predictions", "income"),
        ("credit", "predictions", "age"),
        ("credit", "predictions", "score"),
        ("credit", "predictions", "latency_ms"),
        ("demand", "predictions", "prediction"),
        ("demand", "labels", "label"),
    ],
)
def test_infinity_is_refused_naming_row_and_field_and_nothing_is_stored(
    served, media, model, kind, column
):
    tag = f"inf-{model}-{kind}-{column}-{media[-7:]}-"
    table = (
        demand_table(8, tag)
        if model == "demand"
        else frame(credit_records(8, last_hour(), prefix=tag))
    )
    if kind == "labels":
        table = pa.table({"id": table.column("id"), "label": [1.0] * 8})
    table = with_value(table, column, 3, math.inf)
    table = with_value(table, column, 5, -math.inf)
    before = stored(served.url, model)
    answer = post(served.url, model, kind, content=body_of(table, media), media=media)
    assert answer.status_code == 422, answer.text
    row, field, message = problem(answer)
    assert (row, field) == (3, column)
    assert "inf is not a finite number" in message
    assert answer.json()["problem_count"] == 2
    assert "nothing was stored" in answer.json()["detail"]
    assert stored(served.url, model) == before


def test_json_has_no_nan_or_infinity_and_the_422_says_to_send_null(served):
    start = last_hour().isoformat()
    for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e999"):
        body = (
            b'{"records": [{"id": "j1", "timestamp": "' + start.encode() + b'", "prediction": 1, '
            b'"features": {"income": ' + literal + b"}}]}"
        )
        answer = post(served.url, "credit", "predictions", content=body, media="application/json")
        assert answer.status_code == 422, answer.text
        assert "send null for a missing value" in answer.json()["detail"]


@pytest.mark.parametrize("media", [ARROW, PARQUET])
@pytest.mark.parametrize(
    ("kind", "column"), [("predictions", "region"), ("predictions", "id"), ("labels", "id")]
)
def test_text_that_is_not_utf8_is_a_422_naming_row_and_field(served, media, kind, column):
    table = frame(credit_records(8, last_hour(), prefix=f"utf8-{kind}-{column}-{media[-7:]}-"))
    if kind == "labels":
        table = pa.table({"id": table.column("id"), "label": [1] * 8})
    texts = [value.encode() for value in table.column(column).to_pylist()]
    texts[6] = b"caf\xe9 \xff"  # Latin-1, not UTF-8
    broken = pa.array(texts, pa.binary()).view(pa.string())
    table = table.set_column(table.column_names.index(column), column, broken)
    answer = post(served.url, "credit", kind, content=body_of(table, media), media=media)
    assert answer.status_code == 422, answer.text
    row, field, message = problem(answer)
    assert (row, field) == (6, column)
    assert "UTF-8" in message


def test_a_column_sent_twice_is_a_422_naming_it(served):
    table = frame(credit_records(8, last_hour(), prefix="twice-"))
    twice = pa.Table.from_arrays(
        [*table.columns, table.column("income")], [*table.column_names, "income"]
    )
    answer = post(served.url, "credit", "predictions", content=body_of(twice, ARROW), media=ARROW)
    assert answer.status_code == 422, answer.text
    row, field, message = problem(answer)
    assert (row, field) == (None, "income")
    assert "appears 2 times" in message


def test_a_value_nested_300_deep_is_a_422_not_a_500(served):
    nested = b"[" * 300 + b"1" + b"]" * 300
    body = (
        b'{"records": [{"id": "deep", "timestamp": "' + last_hour().isoformat().encode() + b'", '
        b'"prediction": 1, "features": {"income": ' + nested + b"}}]}"
    )
    answer = post(served.url, "credit", "predictions", content=body, media="application/json")
    assert answer.status_code == 422, answer.text
    assert problem(answer)[:2] == (0, "income")
    assert "a list of 1 items" in problem(answer)[2]


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("predictions", "id"),
        ("predictions", "region"),
        ("predictions", "model_version"),
        ("labels", "label"),
    ],
)
def test_strings_over_the_length_limit_are_refused_naming_row_field_and_limit(served, kind, field):
    batch = credit_records(5, last_hour(), prefix=f"long-{kind}-{field}-")
    if kind == "labels":
        batch = [{"id": r["id"], "label": r["prediction"]} for r in batch]
    long = "x" * (LIMIT + 1)
    record = batch[2]
    if field in record:
        record[field] = long
    else:
        record["features"][field] = long
    answer = post_json(served.url, "credit", kind, {"records": batch})
    assert answer.status_code == 422, answer.text
    row, name, message = problem(answer)
    assert (row, name) == (2, field)
    assert f"{LIMIT + 1} characters is over the limit of {LIMIT}" in message
    assert "limits.max_string_length" in message


def test_refused_rows_are_counted_by_model_and_reason(served):
    def count(reason: str) -> float:
        return counter(served.url, "mlvigil_rows_rejected_total", model="credit", reason=reason)

    before = {reason: count(reason) for reason in ("not_finite", "too_long", "batch")}
    table = frame(credit_records(10, last_hour(), prefix="counted-"))
    table = with_value(table, "income", 4, math.inf)
    table = with_value(table, "region", 7, "y" * (LIMIT + 1))
    answer = post(served.url, "credit", "predictions", content=body_of(table, ARROW), media=ARROW)
    assert answer.status_code == 422
    assert count("not_finite") - before["not_finite"] == 1
    assert count("too_long") - before["too_long"] == 1
    assert count("batch") - before["batch"] == 8  # the good rows, refused with their batch
