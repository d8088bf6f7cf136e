"""What of a receiver's answer mlvigil may repeat: a short excerpt with its secrets masked.

A receiver that refuses a notification often says why in its body, and some echo the
request (``Cannot POST /hooks/T0/B1/s3cr3t``, ``invalid token s3cr3t``). That text
goes into the outbox's ``last_error``, the service's logs and the 502 answer of
``POST /api/v1/alerts/test``, so it is cut to :data:`EXCERPT_LENGTH` characters after
masking the receiver's secrets (its URL's path, path segments and query values, a
routing key) and any URL's path and query.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from mlvigil.telemetry.redaction import redact_text

__all__ = ["EXCERPT_LENGTH", "MASK", "excerpt", "secret_parts"]

#: Most characters of a receiver's answer kept in an error message.
EXCERPT_LENGTH = 200
#: What a secret is replaced with.
MASK = "[REDACTED]"
_READ = 4_096  # characters of an answer looked at (a secret cut at this edge is dropped)
_SHORTEST = 6  # path segments and query values shorter than this are ordinary words


def secret_parts(url: str) -> list[str]:
    """The parts of a receiver's URL that may be secret: path, segments, query values.

    Examples
    --------
    >>> secret_parts("https://hooks.example.com/services/T0/B1XYZ/s3cr3tpath?token=abc123")
    ['/services/T0/B1XYZ/s3cr3tpath?token=abc123', '/services/T0/B1XYZ/s3cr3tpath', \
'token=abc123', 'services', 's3cr3tpath', 'abc123']
    """
    parts = urlsplit(url)
    found = [parts.path + "?" + parts.query if parts.query else "", parts.path, parts.query]
    found += [s for s in parts.path.split("/") if len(s) >= _SHORTEST]
    found += [v for _, v in parse_qsl(parts.query) if len(v) >= _SHORTEST]
    if parts.password:
        found.append(parts.password)
    return [p for i, p in enumerate(found) if len(p) > 1 and p not in found[:i]]


def excerpt(text: str, secrets: Iterable[str]) -> str:
    """``text`` cut short, with each of ``secrets`` and every URL's path and query masked.

    Examples
    --------
    >>> excerpt('{"error": "bad token abc123def at https://x.test/p/abc?q=1"}', ["abc123def"])
    '{"error": "bad token [REDACTED] at https://x.test/[REDACTED]"}'
    """
    shown = text[:_READ]
    # Longest first, so a whole path is masked before a segment of it.
    for secret in sorted({v for s in secrets for v in _spellings(s)}, key=len, reverse=True):
        shown = shown.replace(secret, MASK)
    shown = " ".join(redact_text(shown, ["url"]).split())
    return shown if len(shown) <= EXCERPT_LENGTH else shown[: EXCERPT_LENGTH - 3] + "..."


def _spellings(secret: str) -> set[str]:
    """A secret as a receiver may echo it: as sent, percent-decoded, percent-encoded."""
    return {s for s in (secret, unquote(secret), quote(secret, safe="")) if s}
