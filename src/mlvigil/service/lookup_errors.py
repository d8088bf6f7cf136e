"""Errors for requests naming a model, receiver or silence the service does not have."""

from __future__ import annotations

from mlvigil.exceptions import InputError

__all__ = [
    "ModelElsewhereError",
    "UnknownModelError",
    "UnknownReceiverError",
    "UnknownSilenceError",
]


class UnknownReceiverError(InputError):
    """No receiver has the given name."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no receiver {name!r}; receivers: {', '.join(known) or 'none'}")


class UnknownSilenceError(InputError):
    """No silence has the given id."""

    def __init__(self, silence_id: str) -> None:
        super().__init__(f"no silence with id {silence_id!r}; `mlvigil silence list` shows them")


class UnknownModelError(InputError):
    """A request named a model the configuration does not declare."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown model {name!r}; configured models: {', '.join(known)}")


class ModelElsewhereError(InputError):
    """A request named a model another instance serves (see :mod:`~mlvigil.service.shards`)."""

    def __init__(self, name: str, instance: str) -> None:
        self.name = name
        self.instance = instance
        super().__init__(
            f"model {name!r} is served by the instance at {instance}; send its requests there"
        )
