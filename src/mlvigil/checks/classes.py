"""The classes of a classifier, fixed by its reference, and values mapped onto them.

Stored categories are canonical text (:mod:`mlvigil.io.conform`), so ``1``, ``1.0``
and ``"1"`` already agree. What text alone cannot settle is a label posted as
``true`` for a model whose classes are ``0``/``1``, or ``"1.0"`` sent as a string:
:class:`ClassSet` maps a value onto the class with the same number (``true`` = 1,
``false`` = 0) when the value is not a class itself. A value that matches no class
stays as it is, and :meth:`ClassSet.unknown` names it, so a window whose labels hold
classes the reference never had is reported as such instead of being scored as wrong.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pyarrow as pa
import pyarrow.compute as pc

from mlvigil.io.conform import as_category_text, category_text

__all__ = ["ClassSet"]


def _number(text: str) -> float | None:
    """The number a class text stands for, if any (``true`` is 1, ``false`` is 0)."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return 1.0 if lowered == "true" else 0.0
    try:
        number = float(lowered)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class ClassSet:
    """The known classes, as canonical text, in sorted order.

    Examples
    --------
    >>> classes = ClassSet.of(["0", "1"])
    >>> classes.canonical(True), classes.canonical("1.0"), classes.canonical("yes")
    ('1', '1', 'yes')
    >>> classes.unknown(["1", "yes", None])
    ['yes']
    """

    classes: tuple[str, ...]
    _by_number: Mapping[float, str] = field(init=False, repr=False, compare=False)

    @classmethod
    def of(cls, values: Iterable[str | None]) -> ClassSet:
        """The classes among ``values`` (nulls left out).

        Spellings of one number are one class: a boolean target beside integer
        predictions gives the classes ``0`` and ``1``, not four.

        Examples
        --------
        >>> ClassSet.of(["true", "false", "1", "0", None]).classes
        ('0', '1')
        """
        names = {v for v in values if v is not None}
        by_number: dict[float, str] = {}
        for name in sorted(names, key=lambda n: (n.lower() in ("true", "false"), n)):
            number = _number(name)
            if number is not None:
                by_number.setdefault(number, name)  # numbers win over true/false
        kept = {name for name in names if _number(name) is None} | set(by_number.values())
        return cls(tuple(sorted(kept)))

    @classmethod
    def of_columns(cls, *columns: pa.ChunkedArray | pa.Array) -> ClassSet | None:
        """The classes found in some columns (e.g. a reference's target and prediction).

        ``None`` when the columns hold no value at all.
        """
        found: set[str] = set()
        for column in columns:
            found.update(v for v in pc.unique(as_category_text(column)).to_pylist() if v)
        return cls.of(found) if found else None

    def __post_init__(self) -> None:
        numbers: dict[float, str] = {}
        for name in self.classes:
            number = _number(name)
            if number is not None:
                numbers.setdefault(number, name)
        object.__setattr__(self, "_by_number", MappingProxyType(numbers))

    def __contains__(self, value: object) -> bool:
        return value in self.classes

    def __len__(self) -> int:
        return len(self.classes)

    def canonical(self, value: object) -> str | None:
        """The class ``value`` stands for, or its canonical text when it matches none."""
        text = category_text(value)
        if text is None or text in self.classes:
            return text
        number = _number(text)
        return self._by_number.get(number, text) if number is not None else text

    def map_column(self, values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
        """Every value of a column as :meth:`canonical` gives it (text)."""
        encoded = pc.dictionary_encode(as_category_text(values)).combine_chunks()
        names = [self.canonical(v) for v in encoded.dictionary.to_pylist()]
        return pa.chunked_array([pa.array(names, pa.string()).take(encoded.indices)])

    def unknown(self, values: Iterable[str | None]) -> list[str]:
        """The distinct values that are no class, sorted."""
        return sorted({v for v in values if v is not None and v not in self.classes})
