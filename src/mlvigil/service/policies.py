"""The service's guard rails in ``mlvigil.yaml``: limits, accepted times, tokens, retention.

Each section is a pydantic model (what the file may say) and a frozen dataclass (what
the service uses, after defaults and secrets are resolved)::

    limits:
      max_string_length: 1024         # ids, categories, text, labels, silence fields
      max_bodies_in_flight_bytes: 268435456
      results_page_size: 10000        # rows per page of /results (default and maximum)
      header_timeout: 10s             # a client must send its headers within this
      body_timeout: 30s               # ... and its body within this
      shutdown_timeout: 20s           # on SIGTERM, requests in flight get this long
      store_memory_bytes: 536870912   # DuckDB's memory limit (it evicts or spills beyond)
    accept:
      max_age: 30d                    # rows older than this (or the model's retention)
      max_future: 5m                  # rows further ahead than this are rejected
    security:
      tokens:
        - name: sdk
          scopes: [ingest]
          token_env: MLVIGIL_TOKEN_SDK    # or token_file: path, or token: literal
        - name: on-call
          scopes: [read, admin]
          token_file: secrets/on-call.token
      open_reads: false               # reads without a token
      trusted_hosts: [localhost, 127.0.0.1, "::1"]
    retention:                        # how long each table keeps its rows
      windows: 400d                   # windows and their results
      profiles: 90d                   # window profiles (the largest table)
      alert_events: 90d
      notifications: 7d               # delivered or abandoned notifications
      ingest_batches: 7d              # idempotency keys
      silences: 30d                   # after a silence ended
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from mlvigil.checks.quality.freshness import parse_duration
from mlvigil.exceptions import ConfigError

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Scope = Literal["ingest", "read", "admin"]
#: Hosts a service bound to loopback trusts by default (DNS rebinding is refused).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitsModel(_Strict):
    """Bounds on what one client can make the service hold or wait for."""

    max_string_length: int = Field(default=1024, ge=16)
    max_bodies_in_flight_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    results_page_size: int = Field(default=10_000, ge=1, le=1_000_000)
    header_timeout: Duration = timedelta(seconds=10)
    body_timeout: Duration = timedelta(seconds=30)
    shutdown_timeout: Duration = timedelta(seconds=20)
    store_memory_bytes: int = Field(default=512 * 1024 * 1024, ge=64 * 1024 * 1024)


class AcceptModel(_Strict):
    """The range of row timestamps the service accepts, around now."""

    max_age: Duration = timedelta(days=30)
    max_future: Duration = timedelta(minutes=5)


class TokenModel(_Strict):
    """One credential: a name (for logs), its scopes and where its secret is."""

    name: str = Field(min_length=1)
    scopes: list[Scope] = Field(min_length=1)
    token: str | None = Field(default=None, min_length=16)
    token_env: str | None = None
    token_file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TokenModel:
        given = [s for s in (self.token, self.token_env, self.token_file) if s is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of token, token_env or token_file")
        return self


class SecurityModel(_Strict):
    """Who may do what, and under which host names the service answers."""

    tokens: list[TokenModel] = Field(default_factory=list)
    open_reads: bool = False
    trusted_hosts: list[str] | None = None


class RetentionModel(_Strict):
    """How long each of the service's own tables keeps its rows."""

    windows: Duration = timedelta(days=400)
    profiles: Duration = timedelta(days=90)
    alert_events: Duration = timedelta(days=90)
    notifications: Duration = timedelta(days=7)
    ingest_batches: Duration = timedelta(days=7)
    silences: Duration = timedelta(days=30)


@dataclass(frozen=True)
class Limits:
    """Resolved :class:`LimitsModel` (see its keys)."""

    max_string_length: int = 1024
    max_bodies_in_flight_bytes: int = 256 * 1024 * 1024
    results_page_size: int = 10_000
    header_timeout: timedelta = timedelta(seconds=10)
    body_timeout: timedelta = timedelta(seconds=30)
    shutdown_timeout: timedelta = timedelta(seconds=20)
    store_memory_bytes: int = 512 * 1024 * 1024
    """DuckDB's memory limit (its buffer pool otherwise grows to 80% of RAM)."""


@dataclass(frozen=True)
class Accept:
    """Resolved :class:`AcceptModel`."""

    max_age: timedelta = timedelta(days=30)
    max_future: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Token:
    """A credential with its secret read: compare secrets in constant time."""

    name: str
    secret: str = field(repr=False)  # never in a log line or a traceback's locals
    scopes: frozenset[Scope]


@dataclass(frozen=True)
class Security:
    """Resolved :class:`SecurityModel`: tokens with their secrets, the trusted hosts."""

    tokens: tuple[Token, ...] = ()
    open_reads: bool = False
    trusted_hosts: tuple[str, ...] = LOOPBACK_HOSTS


@dataclass(frozen=True)
class Retention:
    """Resolved :class:`RetentionModel`."""

    windows: timedelta = timedelta(days=400)
    profiles: timedelta = timedelta(days=90)
    alert_events: timedelta = timedelta(days=90)
    notifications: timedelta = timedelta(days=7)
    ingest_batches: timedelta = timedelta(days=7)
    silences: timedelta = timedelta(days=30)


def resolve_limits(model: LimitsModel) -> Limits:
    """The limits the service applies."""
    return Limits(**model.model_dump())


def resolve_accept(model: AcceptModel) -> Accept:
    """The accepted time range."""
    return Accept(**model.model_dump())


def resolve_retention(model: RetentionModel) -> Retention:
    """How long each table keeps its rows."""
    return Retention(**model.model_dump())


def resolve_security(model: SecurityModel, *, base: Path, where: str) -> Security:
    """Tokens with their secrets read from the environment or files.

    Raises
    ------
    ConfigError
        When a token's variable is unset or empty, its file unreadable, or a secret is
        shorter than 16 characters or used twice.
    """
    tokens = []
    for i, item in enumerate(model.tokens):
        key = f"{where}.tokens[{i}] ({item.name})"
        tokens.append(Token(item.name, _secret(item, base, key), frozenset(item.scopes)))
    secrets = [t.secret for t in tokens]
    if len(set(secrets)) != len(secrets):
        raise ConfigError(f"{where}.tokens: two tokens share a secret; give each its own")
    names = [t.name for t in tokens]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}.tokens: two tokens share a name; names identify them in logs")
    hosts = LOOPBACK_HOSTS if model.trusted_hosts is None else tuple(model.trusted_hosts)
    return Security(tuple(tokens), model.open_reads, hosts)


def _secret(item: TokenModel, base: Path, key: str) -> str:
    if item.token is not None:
        return item.token
    if item.token_env is not None:
        value = os.environ.get(item.token_env, "").strip()
        if not value:
            raise ConfigError(f"{key}: environment variable {item.token_env} is unset or empty")
    else:
        assert item.token_file is not None  # one source, checked by the model
        path = base / item.token_file
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(f"{key}: cannot read token_file {path}: {error.strerror}") from None
    if len(value) < 16:
        raise ConfigError(f"{key}: the secret is shorter than 16 characters; generate a longer one")
    return value
