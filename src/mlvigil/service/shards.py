"""Several services, each owning a share of the models: which instance serves which model.

Every instance reads the same ``mlvigil.yaml``; its ``shards`` section lists the URL of
every instance, in order, and ``this`` (or ``$MLVIGIL_SHARD``) says which one the
process is. A model belongs to the instance its ``shard`` names, else to the one the
SHA-256 of its name picks: stable across restarts, versions and machines, so every
instance, SDK and scrape configuration agrees without talking to each other.

An instance loads, stores, evaluates and exposes only its own models. A request for
another instance's model is answered ``421 Misdirected Request`` with that instance's
URL (``instance`` in the body, and ``Location``): the SDK's :class:`HttpSink
<mlvigil.telemetry.sinks.HttpSink>` re-sends the batch there and goes straight there
from then on. ``mlvigil shards`` prints the assignment, for scrape configurations.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

from mlvigil.exceptions import ConfigError

__all__ = ["SHARD_ENV", "Sharding", "ShardsModel", "own_models", "resolve_sharding", "shard_of"]

#: Which instance this process is, overriding ``shards.this``.
SHARD_ENV = "MLVIGIL_SHARD"


class ShardsModel(BaseModel):
    """The ``shards`` section of ``mlvigil.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instances: list[str] = Field(min_length=1)
    """Base URL of every instance, in order (``http://mlvigil-0:8000``)."""
    this: int | None = Field(default=None, ge=0)
    """This instance's position in ``instances``; ``$MLVIGIL_SHARD`` overrides it."""


def shard_of(model: str, count: int) -> int:
    """The instance a model belongs to when its configuration names none.

    Examples
    --------
    >>> shard_of("credit", 1)
    0
    >>> shard_of("credit", 4) == shard_of("credit", 4)
    True
    """
    digest = hashlib.sha256(model.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True)
class Sharding:
    """The instances and which of them serves each model."""

    instances: tuple[str, ...]
    this: int
    owners: Mapping[str, int] = field(default_factory=dict)

    def serves(self, model: str) -> bool:
        """Whether this instance serves ``model``."""
        return self.owners.get(model) == self.this

    def instance_of(self, model: str) -> str | None:
        """The URL of the instance serving ``model`` (``None``: no such model)."""
        index = self.owners.get(model)
        return None if index is None else self.instances[index]


def resolve_sharding(
    section: ShardsModel | None, pinned: Mapping[str, int | None], source: str
) -> Sharding | None:
    """Each model's instance, from the ``shards`` section and the models' ``shard``.

    Raises
    ------
    ConfigError
        When ``this`` is missing or out of range, an instance URL is not ``http(s)``,
        or a model names an instance that is not listed.
    """
    pinned_models = [name for name, index in pinned.items() if index is not None]
    if section is None:
        if pinned_models:
            raise ConfigError(
                f"{source}: models.{pinned_models[0]}.shard: set the shards section "
                "(instances and this) to run several instances"
            )
        return None
    instances = tuple(url.rstrip("/") for url in section.instances)
    bad = [url for url in instances if not url.startswith(("http://", "https://"))]
    if bad:
        raise ConfigError(f"{source}: shards.instances: {bad[0]!r} is not an http(s) URL")
    this = _this(section, source)
    if this >= len(instances):
        raise ConfigError(
            f"{source}: shards.this is {this}, but only {len(instances)} instances are "
            "listed (counted from 0)"
        )
    owners = {}
    for name, index in pinned.items():
        if index is not None and index >= len(instances):
            raise ConfigError(
                f"{source}: models.{name}.shard is {index}, but only {len(instances)} "
                "instances are listed (counted from 0)"
            )
        owners[name] = shard_of(name, len(instances)) if index is None else index
    return Sharding(instances, this, MappingProxyType(owners))


def _this(section: ShardsModel, source: str) -> int:
    given = os.environ.get(SHARD_ENV)
    if given is not None:
        if not given.strip().isdigit():
            raise ConfigError(f"{SHARD_ENV}={given!r} is not an instance number (0, 1, ...)")
        return int(given)
    if section.this is None:
        raise ConfigError(f"{source}: shards.this: say which instance this is (or set {SHARD_ENV})")
    return section.this


def own_models(names: Iterable[str], sharding: Sharding | None) -> list[str]:
    """The models of ``names`` this instance serves (all of them without sharding)."""
    return [n for n in names if sharding is None or sharding.serves(n)]
