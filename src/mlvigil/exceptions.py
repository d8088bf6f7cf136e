"""The exception tree of mlvigil.

Every error mlvigil raises on purpose derives from :class:`MlvigilError`::

    MlvigilError
    ├── InputError            bad data handed to mlvigil (a user can fix it)
    │   ├── ColumnMismatchError   reference and current disagree on columns
    │   ├── UnreadableInputError  a path or object mlvigil cannot read as a table
    │   ├── ProfileFormatError    bytes that are not a valid mlvigil profile (mlvigil.profile)
    │   └── ProfileMergeError     profiles that cannot be merged (mlvigil.profile)
    └── ConfigError           bad options or configuration
        └── UnknownMethodError    a drift method name that does not exist

Command-line tools map :class:`MlvigilError` to exit code 2 with a one-line reason.
"""

from __future__ import annotations

__all__ = [
    "ColumnMismatchError",
    "ConfigError",
    "InputError",
    "MlvigilError",
    "UnknownMethodError",
    "UnreadableInputError",
]


class MlvigilError(Exception):
    """Base class of every error mlvigil raises deliberately."""


class InputError(MlvigilError, ValueError):
    """Data handed to mlvigil cannot be used as given."""


class ColumnMismatchError(InputError):
    """Reference and current data do not have the same columns.

    Parameters
    ----------
    only_in_reference, only_in_current
        Column names present on one side only.
    """

    def __init__(self, only_in_reference: list[str], only_in_current: list[str]) -> None:
        self.only_in_reference = only_in_reference
        self.only_in_current = only_in_current
        parts = []
        if only_in_reference:
            parts.append(f"missing from current: {', '.join(only_in_reference)}")
        if only_in_current:
            parts.append(f"missing from reference: {', '.join(only_in_current)}")
        super().__init__(
            "reference and current have different columns ("
            + "; ".join(parts)
            + "); pass columns=[...] to compare only the shared ones"
        )


class UnreadableInputError(InputError):
    """A path or object cannot be read as a table."""


class ConfigError(MlvigilError, ValueError):
    """Options or configuration are invalid."""


class UnknownMethodError(ConfigError):
    """A drift method name is not registered.

    Parameters
    ----------
    name
        The name that was asked for.
    known
        The registered names.
    """

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown drift method {name!r}; choose one of: {', '.join(known)}")
