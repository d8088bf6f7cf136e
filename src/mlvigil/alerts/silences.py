"""Silences and inhibition: mute notifications of alerts matching some labels.

A silenced alert still changes state (and shows as silenced in the API); only its
notifications are held back, as in Alertmanager.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlvigil.alerts.patterns import check_matchers, check_pattern
from mlvigil.alerts.state import labels_match
from mlvigil.exceptions import ConfigError, InputError


@dataclass(frozen=True)
class Silence:
    """Mute alerts whose labels match every matcher, from ``starts_at`` to ``ends_at``.

    Matchers are label → value; a value starting with ``~`` is a regular expression
    (RE2 syntax, matching the whole value, at most
    :data:`~mlvigil.alerts.patterns.MAX_PATTERN_LENGTH` characters; at most
    :data:`~mlvigil.alerts.patterns.MAX_MATCHERS` matchers). A stored silence whose
    pattern RE2 refuses (saved by an older version) matches nothing.

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> now = datetime(2026, 1, 1, tzinfo=UTC)
    >>> silence = Silence.create({"alertname": "drift", "model": "~credit.*"},
    ...                          now, now + timedelta(hours=2), "ana", "retraining")
    >>> silence.mutes({"alertname": "drift", "model": "credit-risk"}, now)
    True
    """

    id: str
    matchers: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    expired_at: datetime | None = field(default=None)

    @classmethod
    def create(
        cls,
        matchers: Mapping[str, str],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> Silence:
        """A new silence, validated.

        Raises
        ------
        InputError
            Without matchers or with too many, with an end before the start, without
            author or comment, or with a regular expression RE2 refuses or too long.
        """
        if not matchers:
            raise InputError("a silence needs at least one matcher, e.g. alertname=...")
        if ends_at <= starts_at:
            raise InputError("a silence must end after it starts")
        if not created_by.strip() or not comment.strip():
            raise InputError("a silence needs an author and a comment saying why")
        problems = check_matchers(matchers)
        if problems:
            raise InputError("; ".join(problems))
        return cls(uuid.uuid4().hex, dict(matchers), starts_at, ends_at, created_by, comment)

    def active(self, now: datetime) -> bool:
        """Whether the silence is in force at ``now``."""
        if self.expired_at is not None and self.expired_at <= now:
            return False
        return self.starts_at <= now < self.ends_at

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        """Whether an alert with ``labels`` is muted at ``now``."""
        return self.active(now) and labels_match(self.matchers, labels)

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """Plain JSON view; with ``now``, also whether it is active."""
        data: dict[str, Any] = {
            "id": self.id,
            "matchers": dict(self.matchers),
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "created_by": self.created_by,
            "comment": self.comment,
            "expired_at": None if self.expired_at is None else self.expired_at.isoformat(),
        }
        if now is not None:
            data["active"] = self.active(now)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Silence:
        """The silence :meth:`to_dict` described."""
        expired = data.get("expired_at")
        return cls(
            data["id"],
            dict(data["matchers"]),
            datetime.fromisoformat(data["starts_at"]),
            datetime.fromisoformat(data["ends_at"]),
            data["created_by"],
            data["comment"],
            None if expired is None else datetime.fromisoformat(expired),
        )


def muted(labels: Mapping[str, str], silences: Iterable[Silence], now: datetime) -> bool:
    """Whether any silence mutes an alert with ``labels`` at ``now``."""
    return any(silence.mutes(labels, now) for silence in silences)


@dataclass(frozen=True)
class InhibitRule:
    """Mute ``target`` alerts while a ``source`` alert with the same ``equal`` labels fires.

    Say, a critical alert mutes the warnings of its model.

    Examples
    --------
    >>> rule = InhibitRule({"severity": "critical"}, {"severity": "warning"}, ("model",))
    >>> firing = [{"alertname": "no_data", "severity": "critical", "model": "credit"}]
    >>> rule.inhibits({"alertname": "drift", "severity": "warning", "model": "credit"}, firing)
    True
    >>> rule.inhibits({"alertname": "drift", "severity": "warning", "model": "fraud"}, firing)
    False
    """

    source: Mapping[str, str]
    target: Mapping[str, str]
    equal: tuple[str, ...] = ("model",)

    def __post_init__(self) -> None:
        for side, matchers in (("source", self.source), ("target", self.target)):
            for label, value in matchers.items():
                reason = check_pattern(value[1:]) if value.startswith("~") else None
                if reason is not None:
                    raise ConfigError(f"inhibit rule {side} {label}={value!r}: {reason}")

    def inhibits(self, labels: Mapping[str, str], firing: Iterable[Mapping[str, str]]) -> bool:
        """Whether an alert with ``labels`` is muted by one of the ``firing`` alerts."""
        if not labels_match(self.target, labels):
            return False
        return any(
            labels_match(self.source, other)
            and other is not labels
            and all(other.get(name) == labels.get(name) for name in self.equal)
            for other in firing
        )
