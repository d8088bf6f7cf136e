"""YAML configuration files: strict loading and validation messages that point at the key.

Shared by every configuration mlvigil reads (quality checks, the service's
``mlvigil.yaml``): a key given twice is an error (YAML would keep the last silently),
and each pydantic validation problem becomes one line naming the file and key path,
with a "did you mean" for a misspelt key::

    mlvigil.yaml: models.credit.windw: unknown key; did you mean 'window'?
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ValidationError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, SequenceNode
from yaml.resolver import BaseResolver

from mlvigil import yaml_events
from mlvigil.exceptions import ConfigError


def read_yaml(path: str | Path, what: str) -> Any:
    """Parse the YAML file ``path`` (``what`` names it in errors); None when empty.

    The objects are PyYAML's safe loader's (merge keys as its 6.0.2 merged them), built
    from the parser's events by :mod:`mlvigil.yaml_events`; a document that module does
    not handle (explicit tags and the like) goes through PyYAML's own loader.

    Parameters
    ----------
    path
        The file, UTF-8.
    what
        What the file is, for the messages ("service configuration").

    Returns
    -------
    Any
        The document's value; None for an empty file.

    Raises
    ------
    ConfigError
        When the file cannot be read, is not valid YAML, or repeats a key.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read {what} {source}: {error.strerror}") from None
    try:
        data = yaml_events.load(text)  # objects straight from the parser's events
        if data is yaml_events.UNHANDLED:  # explicit tags and the like: the full loader
            data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{source}: {where}invalid YAML: {problem}") from None
    return data


def validation_message(error: ValidationError, root: type[BaseModel], source: str) -> str:
    """One line per problem in ``error``, each prefixed by ``source`` and the key path."""
    return "\n".join(f"{source}: {_describe(e, root)}" for e in error.errors())


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(options[0]) if len(options) == 1 else annotation
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def field_names(model: type[BaseModel]) -> list[str]:
    """The keys a model accepts (aliases where set)."""
    return [f.alias or name for name, f in model.model_fields.items()]


def _keys_at(loc: tuple[int | str, ...], root: type[BaseModel]) -> list[str]:
    """The keys allowed in the mapping at ``loc``."""
    annotation: Any = root
    for part in loc:
        annotation = _unwrap(annotation)
        if _is_model(annotation):
            fields = {f.alias or n: f for n, f in annotation.model_fields.items()}
            if part not in fields:
                return []
            annotation = fields[str(part)].annotation
        elif typing.get_origin(annotation) in (dict, list):
            annotation = typing.get_args(annotation)[-1]
        else:
            return []
    annotation = _unwrap(annotation)
    return field_names(annotation) if _is_model(annotation) else []


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def _describe(error: Mapping[str, Any], root: type[BaseModel]) -> str:
    loc = tuple(p for p in error["loc"] if p != "[key]")
    path = _path(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _keys_at(loc[:-1], root)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
        return f"{path}: unknown key; {hint}"
    if kind == "missing":
        return f"{path}: required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if "[key]" in error["loc"]:
        return f"{path}: names must be text; put {error['input']!r} in quotes"
    value = error.get("input")
    if isinstance(value, str | int | float | bool) and kind != "value_error":
        message += f", got {value!r}"
    return f"{path}: {message}"


# libyaml's parser where PyYAML was built with it, for the documents yaml_events leaves
# to the full loader; its constructors (the duplicate check) stay in Python.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


#: Tags the safe resolver gave, by (node kind, text, implicit flags): its regular
#: expressions run once per distinct scalar instead of once per scalar (a file of
#: 10,000 models repeats the same few hundred values; resolving was 40% of loading).
_RESOLVED: dict[tuple[Any, Any, Any], str] = {}
_RESOLVED_MAX = 100_000


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe loader that rejects a key given twice (YAML keeps the last silently)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        key = (kind, value, implicit)
        tag = _RESOLVED.get(key)
        if tag is None:
            tag = str(super().resolve(kind, value, implicit))
            if len(_RESOLVED) < _RESOLVED_MAX:
                _RESOLVED[key] = tag
        return tag


def _mapping_without_duplicates(
    loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == yaml_events.MERGE_TAG:
            continue  # `<<` may be given more than once, as PyYAML allows
        if key_node.tag == _VALUE_TAG:
            key_node.tag = BaseResolver.DEFAULT_SCALAR_TAG  # a `=` key is text, as in PyYAML
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml_events.duplicate_key(key_node.start_mark.line, key)
        seen.add(key)
    # `<<` merged as objects, with yaml_events' rules, not by PyYAML's flatten_mapping:
    # that rewrites the nodes (a mapping merged before it is checked would show merged
    # keys as its own) and since 6.0.3 lets `<<: [*a, *b]` take b's keys (pyyaml#953).
    merges = [v for k, v in node.value if k.tag == yaml_events.MERGE_TAG]
    sources = [source for value in merges for source in _sources(node, value)]
    mapping: dict[Any, Any] = {}
    for source in sources:
        mapping.update(_merge_source(loader, source, deep))
    own = {
        loader.construct_object(k, deep=deep): loader.construct_object(v, deep=deep)
        for k, v in node.value
        if k.tag != yaml_events.MERGE_TAG
    }
    if not sources:
        return own
    mapping.update(own)
    return mapping


def _sources(node: MappingNode, value: Any) -> list[MappingNode]:
    """The mappings the `<<` value ``value`` of ``node`` merges, each over the ones before."""
    if isinstance(value, MappingNode):
        return [value]
    if not isinstance(value, SequenceNode):
        raise ConstructorError(
            "while constructing a mapping",
            node.start_mark,
            f"expected a mapping or list of mappings for merging, but found {value.id}",
            value.start_mark,
        )
    for item in value.value:
        if not isinstance(item, MappingNode):
            raise ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"expected a mapping for merging, but found {item.id}",
                item.start_mark,
            )
    return list(reversed(value.value))  # earlier in the list wins


def _merge_source(loader: _UniqueKeyLoader, node: MappingNode, deep: bool) -> dict[Any, Any]:
    if node.tag == BaseResolver.DEFAULT_MAPPING_TAG:
        merged: dict[Any, Any] = loader.construct_object(node, deep=deep)  # once per node
        return merged
    return _mapping_without_duplicates(loader, node, deep)  # e.g. `!!set`: its pairs merge


_VALUE_TAG = "tag:yaml.org,2002:value"

_UniqueKeyLoader.add_constructor(BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)
