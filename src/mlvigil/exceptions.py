"""The exception tree of mlvigil.

Every error mlvigil raises on purpose derives from :class:`MlvigilError`. Each class is
listed with the module that defines it (under ``mlvigil.``) and what it means; the tree
is checked against the code by ``tests/test_exceptions.py``::

    MlvigilError                   exceptions         an error mlvigil raises deliberately
    ├── InputError                 exceptions         data handed to mlvigil cannot be used
    │   ├── ColumnMismatchError    exceptions         reference and current columns differ
    │   ├── UnreadableInputError   exceptions         a path or object not readable as a table
    │   ├── ConformError           io.conform         a value cannot take its column's type
    │   ├── DegenerateInputError   stats.samples      input a method cannot use (empty, constant)
    │   ├── ProfileFormatError     profile.errors     bytes that are not a valid profile
    │   ├── ProfileMergeError      profile.errors     profiles that cannot be merged
    │   ├── BadBatchError          service.batch_errors  a batch with bad rows; none of it stored
    │   ├── IdempotencyConflictError  service.batch_keys  an idempotency key reused for another body
    │   ├── BodyTooLargeError      service.errors     a request body over the configured limit
    │   ├── BodyTimeoutError       service.errors     a request body not sent in limits.body_timeout
    │   ├── UnsupportedMediaError  service.errors     a body type the endpoint does not read
    │   ├── UntrustedHostError     service.auth       a Host header not in security.trusted_hosts
    │   ├── UnknownModelError      service.lookup_errors  a model the configuration does not declare
    │   ├── ModelElsewhereError    service.lookup_errors  a model another instance serves (421)
    │   ├── UnknownReceiverError   service.lookup_errors  no receiver of that name
    │   ├── UnknownSilenceError    service.lookup_errors  no silence with that id
    │   └── TemplateError          alerts.templates   a template names a value the alerts lack
    ├── AccessError                service.auth       a request without the credential it needs
    │   ├── CredentialError        service.auth       no token, or one the service does not know
    │   └── ScopeError             service.auth       a token without the scope the action needs
    ├── ServiceBusyError           service.errors     bodies in flight at their budget; retry later
    ├── ConfigError                exceptions         options or configuration are invalid
    │   └── UnknownMethodError     exceptions         a drift method name that is not registered
    └── ReceiverError              exceptions         a receiver did not take what mlvigil sent
        ├── DeliveryError          alerts.notifiers   a notifier's receiver refused a notification
        ├── TransientSinkError     telemetry.records  a prediction batch not delivered now; retried
        └── RejectedBatchError     telemetry.records  a prediction batch refused; dropped, counted

:class:`InputError` and :class:`ConfigError` are also :class:`ValueError`, so code
that catches ``ValueError`` keeps working. Command-line tools map
:class:`MlvigilError` to exit code 2 with a one-line reason.
"""

from __future__ import annotations

__all__ = [
    "ColumnMismatchError",
    "ConfigError",
    "InputError",
    "MlvigilError",
    "ReceiverError",
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


class ReceiverError(MlvigilError):
    """A receiver outside mlvigil did not take what mlvigil sent it.

    A notifier's webhook or mail server (:class:`~mlvigil.alerts.notifiers.DeliveryError`)
    or the prediction logger's sink (:class:`~mlvigil.telemetry.records.TransientSinkError`,
    :class:`~mlvigil.telemetry.records.RejectedBatchError`); the subclass says whether
    trying again may help.
    """
