"""Errors raised by profiles, as part of mlvigil's one exception tree.

Both derive from :class:`mlvigil.exceptions.InputError`::

    InputError
    ├── ProfileFormatError   bytes or a file that are not a valid profile
    └── ProfileMergeError    two profiles that cannot be combined
"""

from __future__ import annotations

from mlvigil.exceptions import InputError

__all__ = ["ProfileFormatError", "ProfileMergeError"]


class ProfileFormatError(InputError):
    """Serialized profile data is not a profile, is corrupt, or is of a newer format."""


class ProfileMergeError(InputError):
    """Two profiles cannot be merged (incompatible values, sketch settings or hashing)."""
