"""Who may do what: bearer tokens with scopes, and the host names the service answers to.

Every request names the scope it needs by its method and path (:func:`scope_needed`):

- ``read``: every ``GET`` — the API, the dashboard's views, reports, ``/metrics``,
  ``/openapi.json`` and ``/docs``;
- ``ingest``: ``POST`` of predictions or labels;
- ``admin``: everything else, i.e. what mutes or changes monitoring (silences, evaluating
  windows, test notifications). A new endpoint that is not a ``GET`` is ``admin`` until
  declared otherwise here.

The probes (``/healthz``, ``/readyz``) and the dashboard's page and assets (``/``,
``/ui/...``, which hold no data) need none. ``admin`` implies ``read``: whoever may mute
an alert may see it; ``ingest`` implies nothing else (a model server's token cannot read
results).

Secrets are compared in constant time: the SHA-256 of the presented secret against that
of every known token, all of them, with :func:`hmac.compare_digest` (equal lengths, no
early exit, so neither the length nor which token matched shows in the timing).

Without tokens (a service bound to loopback; :func:`check_exposure` refuses to start one
bound beyond it) reads and ingest are open for local work and every ``admin`` action is
refused with 403: nothing can mute or change monitoring without a credential.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from mlvigil.exceptions import ConfigError, InputError, MlvigilError
from mlvigil.service.policies import LOOPBACK_HOSTS, Scope, Security, Token

__all__ = [
    "SCOPES",
    "Access",
    "AccessError",
    "CredentialError",
    "ScopeError",
    "TrustedHosts",
    "UntrustedHostError",
    "check_exposure",
    "host_name",
    "is_loopback",
    "scope_needed",
    "write_token_file",
]

SCOPES: Final[tuple[Scope, ...]] = ("ingest", "read", "admin")
#: Liveness and readiness: open, and answered under any Host (a kubelet probes by IP).
PROBES: Final = frozenset({"/healthz", "/readyz"})
#: Pages without data, open so that the dashboard can load and ask for a token.
_OPEN_PAGES: Final = frozenset({"/", *PROBES})
_OPEN_PREFIX: Final = "/ui/"
_INGEST: Final = re.compile(r"/api/v1/models/[^/]+/(?:predictions|labels|profiles|performance)")
_READ_METHODS: Final = frozenset({"GET", "HEAD"})


class AccessError(MlvigilError):
    """A request without the credential or scope its action needs."""


class CredentialError(AccessError):
    """No token, or a token the service does not know (401)."""


class ScopeError(AccessError):
    """A token without the scope the action needs, or no tokens configured for it (403)."""


class UntrustedHostError(InputError):
    """The Host header names a host that is not in ``security.trusted_hosts``."""


def scope_needed(method: str, path: str) -> Scope | None:
    """The scope a request needs, or ``None`` for the open pages and probes.

    Examples
    --------
    >>> scope_needed("GET", "/api/v1/models"), scope_needed("GET", "/healthz")
    ('read', None)
    >>> scope_needed("GET", "/ui/app.js"), scope_needed("GET", "/ui/../api/v1/models")
    (None, 'read')
    >>> scope_needed("POST", "/api/v1/models/credit/labels")
    'ingest'
    >>> scope_needed("POST", "/api/v1/silences"), scope_needed("DELETE", "/api/v1/silences/x")
    ('admin', 'admin')
    """
    method = method.upper()
    if method in _READ_METHODS:
        # No dot segments: the assets' mount would refuse "/ui/../api", the gate does too.
        assets = path.startswith(_OPEN_PREFIX) and ".." not in path
        return None if path in _OPEN_PAGES or assets else "read"
    if method == "POST" and _INGEST.fullmatch(path):
        return "ingest"
    return "admin"


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _allows(token: Token, scope: Scope) -> bool:
    return scope in token.scopes or (scope == "read" and "admin" in token.scopes)


class Access:
    """Decides whether a request's ``Authorization`` header grants a scope.

    Parameters
    ----------
    security
        The tokens and whether reads are open.

    Examples
    --------
    >>> from mlvigil.service.policies import Security, Token
    >>> access = Access(Security((Token("sdk", "s" * 20, frozenset({"ingest"})),)))
    >>> access.check("Bearer " + "s" * 20, "ingest").name
    'sdk'
    >>> try:
    ...     access.check("Bearer " + "s" * 20, "admin")
    ... except ScopeError as refused:
    ...     print(refused)
    token 'sdk' has the scopes [ingest]; this needs a token with the admin scope
    """

    def __init__(self, security: Security) -> None:
        self._tokens = tuple((_digest(t.secret), t) for t in security.tokens)
        self.open_reads = security.open_reads

    @property
    def has_tokens(self) -> bool:
        """Whether any token is configured."""
        return bool(self._tokens)

    def check(self, authorization: str | None, scope: Scope) -> Token | None:
        """The token acting, or ``None`` when ``scope`` is open to requests without one.

        Raises
        ------
        CredentialError
            Without a token where one is needed, or with one the service does not know.
        ScopeError
            With a token lacking ``scope``; for ``admin`` when no token is configured.
        """
        if not self._tokens:
            if scope == "admin":
                raise ScopeError(
                    "no tokens are configured, so nothing may mute or change monitoring: "
                    "add a token with the admin scope under security.tokens in mlvigil.yaml "
                    "(mlvigil init writes a configuration with generated tokens)"
                )
            return None  # local work on loopback: a header is not checked against nothing
        token = self.identify(authorization)
        if token is not None and _allows(token, scope):
            return token
        if scope == "read" and self.open_reads:
            return token
        if token is None:
            raise CredentialError(
                f"this needs a token with the {scope} scope: "
                "send the header Authorization: Bearer <token>"
            )
        held = ", ".join(s for s in SCOPES if s in token.scopes)
        raise ScopeError(
            f"token {token.name!r} has the scopes [{held}]; "
            f"this needs a token with the {scope} scope"
        )

    def identify(self, authorization: str | None) -> Token | None:
        """The token an ``Authorization: Bearer`` header presents; ``None`` without one.

        Raises
        ------
        CredentialError
            When the header is not a bearer token, or its secret matches no token.
        """
        if authorization is None:
            return None
        kind, _, secret = authorization.strip().partition(" ")
        if kind.lower() != "bearer" or not secret.strip():
            raise CredentialError("the Authorization header must be 'Bearer <token>'")
        presented = _digest(secret.strip())
        found = None
        for digest, token in self._tokens:  # every token, whichever matches
            if hmac.compare_digest(presented, digest):
                found = token
        if found is None:
            raise CredentialError("unknown token: it matches none in security.tokens")
        return found

    def is_open(self, scope: Scope) -> bool:
        """Whether a request without a token may take ``scope``."""
        if not self._tokens:
            return scope != "admin"
        return scope == "read" and self.open_reads

    def refusals(self, scope: Scope) -> tuple[type[AccessError], ...]:
        """The errors a request needing ``scope`` may get (to document them)."""
        if not self._tokens:
            return () if self.is_open(scope) else (ScopeError,)
        if self.is_open(scope):
            return (CredentialError,)  # an unknown token is refused even where reads are open
        return (CredentialError, ScopeError)


def host_name(header: str) -> str:
    """The host of a ``Host`` header: lower case, without port, brackets or final dot.

    Examples
    --------
    >>> host_name("LocalHost:8000"), host_name("[::1]:8000"), host_name("example.com.")
    ('localhost', '::1', 'example.com')
    """
    value = header.strip().lower()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value[1:]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


class TrustedHosts:
    """The host names the service answers to (refuses DNS rebinding).

    A pattern is a host name or address, ``*.example.com`` (any subdomain), or ``*``
    (any host: only behind a proxy that checks the host itself).

    Examples
    --------
    >>> hosts = TrustedHosts(["localhost", "*.example.com"])
    >>> hosts.allows("localhost:8000"), hosts.allows("ml.example.com"), hosts.allows("evil.test")
    (True, True, False)
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(host_name(p) if p != "*" else p for p in patterns)
        self._any = "*" in self.patterns
        self._names = frozenset(p for p in self.patterns if not p.startswith("*"))
        self._suffixes = tuple(p[1:] for p in self.patterns if p.startswith("*."))

    def allows(self, header: str | None) -> bool:
        """Whether a request with this ``Host`` header may be answered."""
        if self._any:
            return True
        if not header:
            return False
        name = host_name(header)
        return name in self._names or name.endswith(self._suffixes)

    def check(self, header: str | None) -> None:
        """Raise :class:`UntrustedHostError` unless :meth:`allows`."""
        if not self.allows(header):
            raise UntrustedHostError(
                f"the Host header {header or '(none)'!r} is not one of security.trusted_hosts "
                f"({', '.join(self.patterns)}); add the name clients use to reach the service"
            )


def is_loopback(host: str) -> bool:
    """Whether a listening address only accepts connections from this machine.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, security: Security) -> str | None:
    """Refuse to listen beyond loopback without tokens; warn about the trusted hosts.

    Returns
    -------
    A warning when the service listens beyond loopback but trusts only the loopback
    host names (clients reaching it by another name get 400), else ``None``.

    Raises
    ------
    ConfigError
        When ``host`` is not a loopback address and no token is configured.
    """
    if is_loopback(host):
        return None
    if not security.tokens:
        raise ConfigError(
            f"the service would listen on {host}, beyond this machine, without tokens: anyone "
            "reaching the port could ingest, read and mute alerts. Add security.tokens to "
            "mlvigil.yaml (mlvigil init writes a configuration with generated ones), or "
            "listen on 127.0.0.1"
        )
    if set(security.trusted_hosts) <= set(LOOPBACK_HOSTS):
        return (
            f"listening on {host}, but security.trusted_hosts lists only loopback names: "
            "requests naming another host (as remote clients and Prometheus do) get 400; "
            "list the names clients use to reach the service"
        )
    return None


def write_token_file(path: Path) -> str:
    """Write a new secret (``secrets.token_urlsafe(32)``) readable by its owner only.

    The file is created with mode 0600 under a temporary name and renamed over ``path``,
    so the secret is never readable by others, not even for a moment.
    """
    secret = secrets.token_urlsafe(32)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(secret + "\n")
    os.replace(partial, path)
    return secret
