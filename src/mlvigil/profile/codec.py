"""The binary container of a serialized profile.

Layout (little-endian)::

    8 bytes   magic b"MLVGPROF"
    2 bytes   format version (1)
    2 bytes   reserved (0)
    4 bytes   header length H
    4 bytes   CRC-32 of everything after this field
    H bytes   header: JSON (orjson) with counts, labels, settings and, per sketch,
              the [offset, length] of its bytes in the blob area
    ...       blob area: the sketches' own serializations, moments packed as binary

Everything is stored exactly (floats as binary or shortest round-trip JSON), so
``deserialize(serialize(p)) == p``. Wrong, truncated or corrupt input raises
:class:`~mlvigil.profile.errors.ProfileFormatError` with the reason.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from mlvigil.profile.column import ColumnProfile, TimeExtent, TimeKind, ValueKind
from mlvigil.profile.config import ProfileConfig
from mlvigil.profile.errors import ProfileFormatError
from mlvigil.profile.hll import HyperLogLog
from mlvigil.profile.moments import Moments
from mlvigil.profile.sketches import FrequentItems, QuantileSketch

__all__ = ["FORMAT_VERSION", "MAGIC", "DecodedProfile", "decode", "encode"]

MAGIC = b"MLVGPROF"
FORMAT_VERSION = 1
_PREAMBLE = struct.Struct("<8sHHII")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DecodedProfile:
    """The parts of a profile read back from bytes."""

    row_count: int
    columns: dict[str, ColumnProfile]
    config: ProfileConfig
    timestamp: str | None
    hash_scheme: str


class _Blobs:
    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data: bytes | None) -> list[int] | None:
        if data is None:
            return None
        self.parts.append(data)
        self.size += len(data)
        return [self.size - len(data), len(data)]


def _column_header(name: str, column: ColumnProfile, blobs: _Blobs) -> dict[str, Any]:
    pairs = column.category_counts
    time = column.time
    return {
        "name": name,
        "kind": column.kind.value,
        "count": column.count,
        "nulls": column.nulls,
        "nan": column.nan,
        "inf": column.inf,
        "integral": column.integral,
        "dictionary": column.dictionary,
        "counts": None if pairs is None else [[v for v, _ in pairs], [c for _, c in pairs]],
        "capped": column.categories_capped,
        "time": None
        if time is None
        else [time.kind.value, time.timezone, time.minimum, time.maximum],
        "moments": blobs.add(column.moments.to_bytes() if column.moments else None),
        "quantiles": blobs.add(column.quantiles.to_bytes() if column.quantiles else None),
        "distinct": blobs.add(column.distinct_sketch.to_bytes()),
        "frequent": blobs.add(column.frequent_items.to_bytes() if column.frequent_items else None),
    }


def encode(
    row_count: int,
    columns: Mapping[str, ColumnProfile],
    config: ProfileConfig,
    timestamp: str | None,
    hash_scheme: str,
) -> bytes:
    """Serialize a profile's parts."""
    blobs = _Blobs()
    header = {
        "rows": row_count,
        "timestamp": timestamp,
        "hash_scheme": hash_scheme,
        "config": {
            "quantile_k": config.quantile_k,
            "distinct_precision": config.distinct_precision,
            "frequent_items_lg_k": config.frequent_items_lg_k,
            "max_categories": config.max_categories,
        },
        "columns": [_column_header(name, column, blobs) for name, column in columns.items()],
    }
    body = orjson.dumps(header) + b"".join(blobs.parts)
    header_size = len(body) - blobs.size
    return _PREAMBLE.pack(MAGIC, FORMAT_VERSION, 0, header_size, zlib.crc32(body)) + body


def _blob(area: bytes, where: Any, read: Callable[[bytes], T]) -> T | None:
    if where is None:
        return None
    offset, length = (int(v) for v in where)
    if offset < 0 or length < 0 or offset + length > len(area):
        raise ProfileFormatError("corrupt profile: a sketch lies outside the data")
    return read(area[offset : offset + length])


def _column(entry: dict[str, Any], area: bytes) -> ColumnProfile:
    counts = entry["counts"]
    time = entry["time"]
    distinct = _blob(area, entry["distinct"], HyperLogLog.from_bytes)
    if distinct is None:
        raise ProfileFormatError("corrupt profile: a column has no distinct counter")
    return ColumnProfile(
        kind=ValueKind(entry["kind"]),
        count=int(entry["count"]),
        nulls=int(entry["nulls"]),
        distinct_sketch=distinct,
        nan=int(entry["nan"]),
        inf=int(entry["inf"]),
        integral=bool(entry["integral"]),
        dictionary=bool(entry["dictionary"]),
        moments=_blob(area, entry["moments"], Moments.from_bytes),
        quantiles=_blob(area, entry["quantiles"], QuantileSketch.from_bytes),
        category_counts=None
        if counts is None
        else tuple(zip(counts[0], (int(c) for c in counts[1]), strict=True)),
        categories_capped=bool(entry["capped"]),
        frequent_items=_blob(area, entry["frequent"], FrequentItems.from_bytes),
        time=None if time is None else TimeExtent(TimeKind(time[0]), time[1], time[2], time[3]),
    )


def _checked_body(data: bytes) -> tuple[bytes, bytes]:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ProfileFormatError(f"a profile is bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) < _PREAMBLE.size or not data.startswith(MAGIC):
        raise ProfileFormatError("not an mlvigil profile (missing the MLVGPROF header)")
    _, version, _, header_size, checksum = _PREAMBLE.unpack_from(data)
    if version > FORMAT_VERSION:
        raise ProfileFormatError(
            f"profile format version {version} is newer than this mlvigil reads "
            f"({FORMAT_VERSION}); upgrade mlvigil"
        )
    body = data[_PREAMBLE.size :]
    if header_size > len(body) or zlib.crc32(body) != checksum:
        raise ProfileFormatError("corrupt profile: checksum mismatch (truncated or altered)")
    return body[:header_size], body[header_size:]


def decode(data: bytes) -> DecodedProfile:
    """Read a serialized profile.

    Raises
    ------
    ProfileFormatError
        For anything that is not an intact profile this version can read.
    """
    header_bytes, area = _checked_body(data)
    try:
        header = orjson.loads(header_bytes)
        config = ProfileConfig(**header["config"])
        columns = {str(entry["name"]): _column(entry, area) for entry in header["columns"]}
        return DecodedProfile(
            row_count=int(header["rows"]),
            columns=columns,
            config=config,
            timestamp=header["timestamp"],
            hash_scheme=str(header["hash_scheme"]),
        )
    except ProfileFormatError:
        raise
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as error:
        raise ProfileFormatError(f"corrupt profile header: {error!r}") from None
