"""Label matchers' regular expressions, matched in linear time (RE2).

A matcher value starting with ``~`` is a regular expression that must match the whole
label value, as in Alertmanager. Silences come from anyone with the admin scope and
are stored, so a pattern such as ``(.|.|.|.|.)*!`` must not be able to freeze the
process: patterns are compiled by Google's RE2 (``google-re2``), whose matching time is
linear in the value's length whatever the pattern, and which refuses what needs
backtracking (back-references, look-around). Patterns are also capped in length, and
silences in how many matchers they hold.

A stored pattern that an older version accepted but RE2 does not is harmless: it
matches nothing, and is logged once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

import re2  # type: ignore[import-untyped]

__all__ = [
    "MAX_MATCHERS",
    "MAX_PATTERN_LENGTH",
    "check_matchers",
    "check_pattern",
    "pattern_matches",
]

#: Longest regular expression a matcher may hold (characters after the ``~``).
MAX_PATTERN_LENGTH = 256
#: Most matchers one silence may hold.
MAX_MATCHERS = 32

_log = logging.getLogger("mlvigil.alerts")
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print each refused pattern on stderr
_OPTIONS.max_mem = 1 << 20  # a pattern whose program needs more is refused, not run


def check_pattern(pattern: str) -> str | None:
    r"""Why ``pattern`` cannot be a matcher's regular expression, or ``None`` if it can.

    Examples
    --------
    >>> check_pattern("credit-.*") is None
    True
    >>> check_pattern(r"(a)\1")
    'not a valid RE2 regular expression (invalid escape sequence: \\1)'
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        return (
            f"the regular expression is {len(pattern)} characters long; "
            f"at most {MAX_PATTERN_LENGTH} are allowed"
        )
    try:
        re2.compile(pattern, options=_OPTIONS)
    except re2.error as error:
        return f"not a valid RE2 regular expression ({_reason(error)})"
    return None


def check_matchers(matchers: Mapping[str, str]) -> list[str]:
    """What is wrong with a set of matchers, one line per problem (empty when nothing).

    Examples
    --------
    >>> check_matchers({"alertname": "drift", "model": "~credit-.*"})
    []
    >>> check_matchers({"model": "~credit-(?=x)"})  # doctest: +ELLIPSIS
    ["matcher model='~credit-(?=x)': not a valid RE2 regular expression (...)"]
    """
    problems = []
    if len(matchers) > MAX_MATCHERS:
        problems.append(f"{len(matchers)} matchers; a silence holds at most {MAX_MATCHERS}")
    for label, value in matchers.items():
        if value.startswith("~"):
            reason = check_pattern(value[1:])
            if reason is not None:
                shown = value if len(value) <= 80 else value[:77] + "..."
                problems.append(f"matcher {label}={shown!r}: {reason}")
    return problems


def pattern_matches(pattern: str, value: str) -> bool:
    """Whether ``pattern`` matches the whole of ``value``; an invalid pattern matches nothing.

    Examples
    --------
    >>> pattern_matches("credit-.*", "credit-risk"), pattern_matches("credit", "credit-risk")
    (True, False)
    >>> pattern_matches("(.|.|.|.|.)*!", "quality_failure" * 1000)
    False
    """
    compiled = _compiled(pattern)
    return compiled is not None and compiled.fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> Any:
    reason = check_pattern(pattern)
    if reason is not None:  # stored by an older version: refuse to run it, say so once
        _log.warning(
            "a label matcher's pattern is unusable and matches nothing; expire the "
            "silence or fix the configuration that holds it: %s",
            reason,
            extra={"pattern": pattern[:80]},
        )
        return None
    return re2.compile(pattern, options=_OPTIONS)


def _reason(error: Exception) -> str:
    message = error.args[0] if error.args else error
    return message.decode(errors="replace") if isinstance(message, bytes) else str(message)
