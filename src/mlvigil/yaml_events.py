"""Build Python objects straight from the YAML parser's events: ``read_yaml``'s fast path.

PyYAML's loader composes a graph of nodes and then constructs objects from it, both in
Python; for a file of 10,000 models that is nine tenths of the load. :func:`load`
builds the objects while libyaml's events stream by, with what PyYAML's ``SafeLoader``
gives: its resolver decides what a plain scalar is, its constructors build the value,
an alias gives the anchored object itself, and ``<<`` merges mappings. A key given twice
in one mapping is an error (YAML would keep the last silently).

Whatever it does not handle, it leaves to the full loader by returning
:data:`UNHANDLED`: explicit tags, a collection or ``<<`` used as a key, a recursive or
undefined alias, a repeated anchor, a scalar PyYAML cannot construct (``2026-02-30``),
a malformed merge, and keys given twice in more than one mapping (which is reported
first depends on the full loader's order). The caller then gets the full loader's
result or error, so the two paths cannot disagree on what a document means.

Merge keys follow PyYAML up to 6.0.2 and the YAML merge specification: own keys win
over merged ones, in ``<<: [*a, *b]`` the earlier mapping wins, and of two ``<<`` keys
the later wins. (PyYAML 6.0.3 and later let the later mapping of a list win for keys of
two characters or more, by accident: yaml/pyyaml#953.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

import yaml
from yaml.composer import ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.resolver import Resolver

from mlvigil.exceptions import ConfigError

#: What :func:`load` returns for a document the full loader must read.
UNHANDLED: Final = object()

#: The tag PyYAML's resolver gives a plain ``<<``.
MERGE_TAG: Final = "tag:yaml.org,2002:merge"

# libyaml's parser where PyYAML was built with it; its events are what the full
# loader composes from, so errors in the text are the same on both paths.
_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_resolve: Callable[[type[yaml.Node], str, tuple[bool, bool]], str] = Resolver().resolve
_CONSTRUCTOR = SafeConstructor()
_SCALAR_TAGS: Final = [
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp", "str")
]
_CONSTRUCTORS: Final = {tag: SafeConstructor.yaml_constructors[tag] for tag in _SCALAR_TAGS}

_MERGE: Final = object()  # a plain `<<`: only meaningful as a key
_MISSING: Final = object()
_NO_KEY: Final = object()  # a mapping waiting for its next key
_BUILDING: Final = object()  # an anchored collection not yet complete

#: Values of plain scalars by their text. Without a tag a plain scalar's implicit flags
#: are always (True, False), so the text alone decides the tag and the value; each value
#: is immutable (None, bool, int, float, str, date, datetime), so one object serves
#: every occurrence, and the resolver's regular expressions run once per distinct text
#: (a file of 10,000 models repeats a few hundred).
_PLAIN: dict[str, Any] = {}
_PLAIN_MAX: Final = 100_000


def duplicate_key(line: int, key: Any) -> ConfigError:
    """The error for ``key`` given twice in one mapping, the second time on ``line``.

    Parameters
    ----------
    line
        The 0-based line of the second occurrence, as the parser's marks count.
    key
        The key, as constructed.

    Returns
    -------
    ConfigError
        ``line N: key 'name' is given twice``, N counted from 1.
    """
    return ConfigError(f"line {line + 1}: key {key!r} is given twice")


def load(text: str) -> Any:
    """The value of the YAML document ``text``, or :data:`UNHANDLED`.

    Parameters
    ----------
    text
        A YAML stream of at most one document.

    Returns
    -------
    Any
        What PyYAML's safe loader gives (None for an empty stream), or
        :data:`UNHANDLED` when the document needs the full loader (see the module's
        docstring).

    Raises
    ------
    ConfigError
        When one mapping gives a key twice.
    yaml.YAMLError
        When ``text`` is not valid YAML, or holds more than one document.
    """
    loader = _Loader(text)
    try:
        events: Iterator[Any] = iter(loader.get_event, None)
        next(events)  # the stream's start
        event = next(events)
        if type(event) is StreamEndEvent:
            return None
        built = _document(events)
        if built is UNHANDLED:
            return UNHANDLED
        value, root_mark, duplicates = built
        event = next(events)
        if type(event) is not StreamEndEvent:
            # As PyYAML's composer says it, before any object is constructed.
            raise ComposerError(
                "expected a single document in the stream",
                root_mark,
                "but found another document",
                event.start_mark,
            )
    finally:
        loader.dispose()
    if len(duplicates) > 1:
        return UNHANDLED
    if duplicates:
        raise duplicate_key(*duplicates[0])
    return value


def _plain(text: str) -> Any:
    """The value of an untagged plain scalar (memoised), _MERGE, or UNHANDLED."""
    tag = _resolve(yaml.ScalarNode, text, (True, False))
    if tag == MERGE_TAG:
        return _MERGE
    construct = _CONSTRUCTORS.get(tag)
    if construct is None:  # `=` (the value tag), or a resolver someone added
        return UNHANDLED
    try:
        value = construct(_CONSTRUCTOR, yaml.ScalarNode(tag, text))
    except Exception:  # e.g. 2026-02-30 matches the pattern: the full loader raises
        return UNHANDLED
    if len(_PLAIN) < _PLAIN_MAX:
        _PLAIN[text] = value
    return value


def _merged(merges: list[dict[Any, Any]] | None, value: Any) -> list[dict[Any, Any]] | None:
    """``merges`` extended by what the ``<<`` value ``value`` merges; None if malformed.

    The list is in the order the mappings apply, each over the ones before.
    """
    merges = [] if merges is None else merges
    if type(value) is dict:
        merges.append(value)
    elif type(value) is list and all(type(item) is dict for item in value):
        merges.extend(reversed(value))  # earlier in the list wins
    else:
        return None
    return merges


def _document(events: Iterator[Any]) -> Any:
    """Build one document from ``events`` up to its end.

    Returns ``(value, root_mark, duplicates)``, ``duplicates`` listing the first key
    given twice in each mapping as ``(line, key)``; or UNHANDLED.
    """
    anchors: dict[str, Any] = {}
    marks: dict[str, Any] = {}  # where each anchored scalar starts: an alias key's line
    duplicates: list[tuple[int, Any]] = []
    stack: list[tuple[Any, ...]] = []
    result: Any = None
    root_mark: Any = None
    # The collection being filled (None at the top level) and its state; kept in locals,
    # pushed on `stack` while a nested collection is built. Attributes would cost a
    # measurable share of the load.
    data: Any = None
    is_map = False
    key: Any = _NO_KEY
    key_mark: Any = None
    anchor: str | None = None
    merges: list[dict[Any, Any]] | None = None
    duplicate: tuple[int, Any] | None = None
    memo = _PLAIN.get
    for event in events:
        kind = type(event)
        if kind is ScalarEvent:
            if event.tag is not None:
                return UNHANDLED
            if event.implicit[0]:
                value = memo(event.value, _MISSING)
                if value is _MISSING:
                    value = _plain(event.value)
                    if value is UNHANDLED:
                        return UNHANDLED
                if value is _MERGE:
                    if not is_map or key is not _NO_KEY or event.anchor is not None:
                        return UNHANDLED  # `<<` as a value, an item or anchored
                    key = _MERGE
                    continue
            else:
                value = event.value  # quoted or block: text
            mark = event.start_mark
            if event.anchor is not None:
                if event.anchor in anchors:
                    return UNHANDLED
                anchors[event.anchor] = value
                marks[event.anchor] = mark
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.tag is not None or (is_map and key is _NO_KEY):
                return UNHANDLED  # tagged, or a collection as a key
            if data is None:
                root_mark = event.start_mark
            stack.append((data, is_map, key, key_mark, anchor, merges, duplicate))
            anchor = event.anchor
            if anchor is not None:
                if anchor in anchors:
                    return UNHANDLED
                anchors[anchor] = _BUILDING
            is_map = kind is MappingStartEvent
            data = {} if is_map else []
            key, merges, duplicate = _NO_KEY, None, None
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value = data
            if merges is not None:
                # Own keys win over merged ones; the key order is PyYAML's (merged
                # pairs first, then own), a key keeping its first place.
                value = {}
                for source in merges:
                    value.update(source)
                value.update(data)
            if duplicate is not None:
                duplicates.append(duplicate)
            if anchor is not None:
                anchors[anchor] = value
            data, is_map, key, key_mark, anchor, merges, duplicate = stack.pop()
            mark = None
        elif kind is AliasEvent:
            value = anchors.get(event.anchor, _BUILDING)
            if value is _BUILDING:
                return UNHANDLED  # undefined, or an enclosing collection (recursive)
            mark = marks.get(event.anchor)  # None for a collection
        elif kind is DocumentEndEvent:
            return result, root_mark, duplicates
        else:
            return UNHANDLED
        # Put the value where it belongs.
        if is_map:
            if key is _NO_KEY:
                if mark is None:
                    return UNHANDLED  # an aliased collection as a key: unhashable
                key, key_mark = value, mark
                continue
            if key is _MERGE:
                merges = _merged(merges, value)
                if merges is None:
                    return UNHANDLED
            else:
                if duplicate is None and key in data:
                    duplicate = (key_mark.line, key)
                data[key] = value
            key = _NO_KEY
        elif data is not None:
            data.append(value)
        else:
            result = value
            if mark is not None:
                root_mark = mark
    return UNHANDLED
