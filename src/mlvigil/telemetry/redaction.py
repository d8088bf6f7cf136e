"""Keep personal data out of logs: a structlog processor that redacts by key and by pattern.

Two independent layers:

- **by key** — the value of any field whose name is a known PII key (``email``,
  ``password``, ``card_number``...; matched case-insensitively and ignoring ``-``/``_``,
  at any depth) is replaced by a stable keyed hash (so two lines about the same customer
  can still be joined) or by ``[REDACTED]``;
- **by pattern** — inside every string anywhere in the event (the message, nested
  values, exception tracebacks), e-mail addresses, card numbers, US social security
  numbers and phone numbers become ``[EMAIL]``, ``[CARD]``, ``[SSN]``, ``[PHONE]``.

Card numbers are 13–19 digits, optionally grouped by single spaces or dashes, masked
whether or not they pass the Luhn check (a mistyped card number is still personal).
Numbers that are not strings (latencies, counts, epoch timestamps) are left alone
unless their key is a PII key.

The ``url`` pattern (not on by default; the monitoring service turns it on) keeps a
URL's scheme and host and masks the rest: webhook URLs carry their secret in the path
(Slack's ``/services/T…/B…/…``) or the query (``?token=``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from mlvigil.exceptions import ConfigError

DEFAULT_PII_KEYS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "token",
        "access_token",
        "refresh_token",
        "api_key",
        "authorization",
        "cookie",
        "set_cookie",
        "email",
        "email_address",
        "user_email",
        "phone",
        "phone_number",
        "mobile",
        "ssn",
        "social_security_number",
        "card_number",
        "credit_card",
        "cvv",
        "iban",
        "account_number",
        "first_name",
        "last_name",
        "full_name",
        "date_of_birth",
        "dob",
        "address",
        "street_address",
        "ip_address",
    }
)
"""Field names redacted by default (compared ignoring case, ``-`` and ``_``)."""

_URL = re.compile(
    r"\b(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^\s/?#@\"'<>]*@)?"
    r"(?P<host>[^\s/?#\"'<>]+)(?P<rest>[/?#][^\s\"'<>]*)?"
)


def _masked_url(match: re.Match[str]) -> str:
    kept = match["scheme"] + match["host"]
    hidden = match["user"] or (match["rest"] or "/") != "/"
    return kept + "/[REDACTED]" if hidden else kept


Replacement = str | Callable[[re.Match[str]], str]
_PATTERNS: dict[str, tuple[re.Pattern[str], Replacement]] = {
    "email": (
        re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
        "[EMAIL]",
    ),
    "card": (re.compile(r"(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w.])"), "[CARD]"),
    "ssn": (re.compile(r"(?<![\w.-])\d{3}-\d{2}-\d{4}(?![\w.])"), "[SSN]"),
    "phone": (
        re.compile(
            r"(?<![\w.+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ .-]\d{3,4}"
            r"(?![\w.])"
        ),
        "[PHONE]",
    ),
    "url": (_URL, _masked_url),
}
"""Pattern name → (regex, replacement), applied in this order."""

PatternName = Literal["email", "card", "ssn", "phone", "url"]
_DEFAULT_PATTERNS: tuple[PatternName, ...] = ("email", "card", "ssn", "phone")


def _compile(patterns: Iterable[str]) -> tuple[tuple[re.Pattern[str], Replacement], ...]:
    chosen = tuple(patterns)
    unknown = [name for name in chosen if name not in _PATTERNS]
    if unknown:
        raise ConfigError(f"unknown PII pattern(s) {unknown}; choose from {list(_PATTERNS)}")
    return tuple(_PATTERNS[name] for name in _PATTERNS if name in chosen)


def redact_text(text: str, patterns: Iterable[PatternName] = _DEFAULT_PATTERNS) -> str:
    """Mask e-mail addresses, card numbers, SSNs and phone numbers in ``text``.

    Examples
    --------
    >>> redact_text("mail ann@example.com, card 4111 1111 1111 1111, ssn 123-45-6789")
    'mail [EMAIL], card [CARD], ssn [SSN]'
    >>> redact_text("trace 4bf92f3577b34da6a3ce929d0e0e4736 at 2026-11-24T19:22:12Z")
    'trace 4bf92f3577b34da6a3ce929d0e0e4736 at 2026-11-24T19:22:12Z'
    >>> redact_text("POST https://hooks.slack.com/services/T0/B1/xyz?token=abc", ["url"])
    'POST https://hooks.slack.com/[REDACTED]'
    """
    return _apply(text, _compile(patterns))


def _apply(text: str, compiled: tuple[tuple[re.Pattern[str], Replacement], ...]) -> str:
    for regex, replacement in compiled:
        text = regex.sub(replacement, text)
    return text


def _normalise(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


class Redactor:
    """A structlog processor removing PII from every event before it is rendered.

    Parameters
    ----------
    keys
        Field names whose values are always redacted; :data:`DEFAULT_PII_KEYS` by
        default. Matching ignores case, ``-`` and ``_``.
    mode
        ``"hash"``: ``sha256:`` and 16 hex digits of HMAC-SHA256(salt, value), stable
        for equal values; ``"mask"``: ``[REDACTED]``.
    salt
        HMAC key for hash mode. Set a secret one in production, or a value's hash could
        be matched against guesses.
    patterns
        Which value patterns to mask anywhere in strings.

    Examples
    --------
    >>> redact = Redactor(mode="mask")
    >>> redact(None, "info", {"event": "signup from bob@example.com", "Password": "x"})
    {'event': 'signup from [EMAIL]', 'Password': '[REDACTED]'}
    """

    def __init__(
        self,
        *,
        keys: Iterable[str] = DEFAULT_PII_KEYS,
        mode: Literal["hash", "mask"] = "hash",
        salt: str | bytes = b"",
        patterns: Iterable[PatternName] = _DEFAULT_PATTERNS,
    ) -> None:
        if mode not in ("hash", "mask"):
            raise ConfigError(f"redaction mode must be 'hash' or 'mask'; got {mode!r}")
        self.mode = mode
        self._keys = frozenset(_normalise(key) for key in keys)
        self._salt = salt.encode() if isinstance(salt, str) else salt
        self._patterns = _compile(patterns)

    def __call__(self, logger: Any, method_name: str, event_dict: Any) -> Any:
        """Return the event with PII redacted (structlog processor protocol)."""
        return self._mapping(event_dict)

    def redact_value(self, value: object) -> str:
        """What a key-matched value is replaced with."""
        if self.mode == "mask":
            return "[REDACTED]"
        digest = hmac.new(self._salt, str(value).encode(), hashlib.sha256).hexdigest()
        return f"sha256:{digest[:16]}"

    def _mapping(self, mapping: Mapping[Any, Any]) -> dict[Any, Any]:
        return {
            key: (
                self.redact_value(value)
                if isinstance(key, str) and _normalise(key) in self._keys and value is not None
                else self._value(value)
            )
            for key, value in mapping.items()
        }

    def _value(self, value: object) -> Any:
        if isinstance(value, str):
            return _apply(value, self._patterns)
        if isinstance(value, Mapping):
            return self._mapping(value)
        if isinstance(value, list | tuple | set | frozenset):
            return type(value)(self._value(item) for item in value)
        if isinstance(value, BaseException):
            return _apply(f"{type(value).__name__}: {value}", self._patterns)
        return value
